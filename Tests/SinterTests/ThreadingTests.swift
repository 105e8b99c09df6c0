import Foundation
import Sinter
import SinterModels
import XCTest

/// The plan's per-kernel threading decision (Threading.swift): it is printed in the plan, it is
/// what the C does (a kernel that does not split has no parallel pragma), the threshold moves it,
/// and a whole training step of the conv autoencoder gives the same bits on one and two threads.
final class ThreadingTests: XCTestCase {
    /// The conv autoencoder's Adam training step at batch 8: kernels from a few hundred element
    /// operations (the iteration counter) to millions of multiply-adds (the convolutions).
    private func autoencoderStep() throws -> Graph {
        let graph = try Zoo.entry(named: "autoencoder").trace(8, true)
        return try optimizeGraph(graph).0
    }

    func testThePlanPrintsTheDecisionAndTheCodeFollowsIt() throws {
        let graph = try autoencoderStep()
        let plan = try ExecutionPlan(graph, options: CodegenOptions())
        let split = plan.kernels.filter(\.threading.splits), single = plan.kernels.filter { !$0.threading.splits }
        XCTAssertFalse(split.isEmpty, plan.text)
        XCTAssertFalse(single.isEmpty, plan.text)
        for planned in plan.kernels {
            XCTAssertEqual(planned.threading.splits, planned.threading.work >= CodegenOptions.defaultSplitWork, planned.threading.reason)
        }
        // Every kernel's threads line follows its strategy line in the dump.
        let lines = plan.text.split(separator: "\n").map(String.init)
        let threadLines = lines.filter { $0.hasPrefix("  threads: ") }
        XCTAssertEqual(threadLines.count, plan.kernels.count, plan.text)
        for (i, line) in lines.enumerated() where line.hasPrefix("  strategy: ") {
            XCTAssertTrue(i + 1 < lines.count && lines[i + 1].hasPrefix("  threads: "), "no threads line after \(line)")
        }
        XCTAssertTrue(threadLines.contains { $0.contains("threads: split: ") && $0.contains("multiply-adds / 4) >= \(CodegenOptions.defaultSplitWork)") },
                      threadLines.joined(separator: "\n"))
        XCTAssertTrue(threadLines.contains { $0.contains("threads: one thread: ") && $0.contains("< \(CodegenOptions.defaultSplitWork)") },
                      threadLines.joined(separator: "\n"))

        // The C: parallel pragmas only in the functions of kernels that split.
        let source = try emitC(plan).source
        let splitting = try kernelsWithPragmas(source)
        XCTAssertFalse(splitting.isEmpty)
        XCTAssertTrue(splitting.isSubset(of: Set(split.map(\.name))), "pragmas in one-thread kernels: \(splitting.subtracting(split.map(\.name)))")

        // Thresholds at both ends: every kernel splits, none does (and no pragma is left).
        let all = try ExecutionPlan(graph, options: CodegenOptions(splitWork: 0))
        XCTAssertTrue(all.kernels.allSatisfy(\.threading.splits))
        let none = try ExecutionPlan(graph, options: CodegenOptions(splitWork: .max))
        XCTAssertTrue(none.kernels.allSatisfy { !$0.threading.splits })
        XCTAssertEqual(try kernelsWithPragmas(try emitC(none).source), [])
        XCTAssertGreaterThan(try kernelsWithPragmas(try emitC(all).source).count, splitting.count)
    }

    /// One compiled training step run from the same state with OpenMP teams of one and two
    /// threads (omp_set_num_threads of the library's libgomp): loss, outputs and every updated
    /// parameter and Adam slot are the same bits.
    func testATrainingStepGivesTheSameBitsOnOneAndTwoThreads() throws {
        let executable = try compileGraph(try Zoo.entry(named: "autoencoder").trace(8, true))
        guard let setThreads = executable.library.symbol("omp_set_num_threads"),
              let maxThreads = executable.library.symbol("omp_get_max_threads") else {
            throw XCTSkip("the kernels were compiled without OpenMP")
        }
        typealias SetThreads = @convention(c) (Int32) -> Void
        typealias MaxThreads = @convention(c) () -> Int32
        let set = unsafeBitCast(setThreads, to: SetThreads.self), max = unsafeBitCast(maxThreads, to: MaxThreads.self)
        let restore = max()
        defer { set(restore) }
        XCTAssertTrue(executable.program.source.contains("SINTER_PARALLEL_FOR"), "nothing in the step splits")

        try executable.initializeParameters(seed: 7)
        let start = executable.persistentSnapshot()
        var seed: UInt64 = 11
        let inputs = Dictionary(uniqueKeysWithValues: executable.program.inputs.map { slot -> (String, HostTensor) in
            let values = (0..<slot.type.count).map { _ -> Double in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Double(seed >> 40) / Double(1 << 24)
            }
            return (slot.name, HostTensor(shape: slot.type.shape, doubles: values).converted(to: slot.type.dtype))
        })
        var runs: [[String: HostTensor]] = []
        for threads in [1, 2] {
            set(Int32(threads))
            XCTAssertEqual(Int(max()), threads)
            try executable.loadPersistent(start, requireAll: true)
            var results = try executable.run(inputs)
            for (name, value) in executable.persistentSnapshot() { results["after." + name] = value }
            runs.append(results)
        }
        XCTAssertEqual(Set(runs[0].keys), Set(runs[1].keys))
        XCTAssertGreaterThan(runs[0].count, 10)
        for (name, one) in runs[0] {
            let two = try XCTUnwrap(runs[1][name])
            XCTAssertEqual(one.doubles.map(\.bitPattern), two.doubles.map(\.bitPattern), "\(name) differs between 1 and 2 threads")
        }
    }

    /// `SINTER_SPLIT_WORK` as the umbrella module reads it: a count moves the threshold, anything
    /// else is refused with the variable's name.
    func testSplitWorkFromTheEnvironment() throws {
        XCTAssertEqual(CompileOptions.fromEnvironment([:]).codegen.splitWork, CodegenOptions.defaultSplitWork)
        XCTAssertEqual(CompileOptions.fromEnvironment(["SINTER_SPLIT_WORK": "0"]).codegen.splitWork, 0)
        XCTAssertEqual(CompileOptions.fromEnvironment(["SINTER_SPLIT_WORK": "524288"]).codegen.splitWork, 524288)
        XCTAssertNoThrow(try CompileOptions.fromEnvironment(["SINTER_SPLIT_WORK": "524288"]).checkStrategies())
        for bad in ["-1", "lots", "1e6"] {
            XCTAssertThrowsError(try CompileOptions.fromEnvironment(["SINTER_SPLIT_WORK": bad]).checkStrategies()) { error in
                XCTAssertTrue("\(error)".contains("SINTER_SPLIT_WORK='\(bad)' is not a count of element operations"), "\(error)")
            }
        }
    }

    /// Names of the kernel functions (`static void k12(`) whose bodies hold a parallel pragma.
    private func kernelsWithPragmas(_ source: String) throws -> Set<String> {
        var result = Set<String>()
        var current: String?
        for line in source.split(separator: "\n") {
            if line.hasPrefix("static void k"), let open = line.firstIndex(of: "(") {
                current = String(line[line.index(line.startIndex, offsetBy: "static void ".count)..<open])
            } else if line.hasPrefix("SINTER_EXPORT") {
                current = nil
            } else if let current, line.trimmingCharacters(in: .whitespaces).hasPrefix("SINTER_PARALLEL_FOR") {
                result.insert(current)
            }
        }
        return result
    }
}

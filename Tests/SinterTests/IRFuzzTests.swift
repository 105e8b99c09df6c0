import Foundation
import SinterCodegen
import SinterIR
import SinterRuntime
import XCTest

/// Seeded, bounded fuzzing of the IR text parser and the verifier (issue 7): mutations of a
/// valid graph (token swaps, number tweaks including huge and negative numbers, deletions,
/// duplications, stray characters). Every failure must be a thrown SinterError, and anything the
/// verifier accepts must survive shape inference again, printing and re-parsing, and C emission
/// without trapping; a handful of accepted mutants are compiled and run.
final class IRFuzzTests: XCTestCase {
    static let base = """
        graph fuzz {
          %0 = input {name="x"} : f32[2,8,8,3] @ F.swift:1
          %1 = param {init="glorot_uniform", name="conv.kernel"} : f32[3,3,3,4] @ F.swift:2
          %2 = conv2d(%0, %1) {pads=[1,1,1,1], strides=[1,1]} : f32[2,8,8,4] @ F.swift:3
          %3 = relu(%2) : f32[2,8,8,4] @ F.swift:4
          %4 = max_pool(%3) {pads=[0,0,0,0], strides=[2,2], window=[2,2]} : f32[2,4,4,4] @ F.swift:5
          %5 = pad(%4) {mode="reflect", pads=[0,0,1,1,1,1,0,0]} : f32[2,6,6,4] @ F.swift:6
          %6 = avg_pool(%5) {pads=[1,1,1,1], strides=[1,1], window=[3,3]} : f32[2,6,6,4] @ F.swift:7
          %7 = reshape(%6) : f32[2,144] @ F.swift:8
          %8 = param {init="zeros", name="dense.kernel"} : f32[144,5] @ F.swift:9
          %9 = matmul(%7, %8) : f32[2,5] @ F.swift:10
          %10 = concat(%9, %9) {axis=1} : f32[2,10] @ F.swift:11
          %11 = slice(%10) {begin=[0,1], end=[2,9]} : f32[2,8] @ F.swift:12
          %12 = constant {value=0.5} : f32[] @ F.swift:13
          %13 = mul(%11, %12) : f32[2,8] @ F.swift:14
          %14 = transpose(%13) {perm=[1,0]} : f32[8,2] @ F.swift:15
          %15 = broadcast_to(%14) : f32[3,8,2] @ F.swift:16
          %16 = reduce_sum(%15) {axes=[0,2], keepdims=false} : f32[8] @ F.swift:17
          %17 = reverse(%16) {axes=[0]} : f32[8] @ F.swift:18
          output "y" = %17
          output "z" = %13
        }
        """

    /// Numbers a mutation may put in place of another.
    static let interesting = ["0", "1", "-1", "2", "3", "7", "64", "-2", "144", "1048576", "4294967296", "4611686018427387904",
                              "9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e308", "-0", "nan"]

    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    /// Splits a line into tokens and separators so a mutation can act on either.
    static func tokens(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in line {
            if ch.isLetter || ch.isNumber || ch == "_" || ch == "." || ch == "-" {
                current.append(ch)
            } else {
                if !current.isEmpty { out.append(current); current = "" }
                out.append(String(ch))
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    static func mutate(_ text: String, _ random: inout Random) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0...random.below(3) {
            let index = random.below(lines.count)
            var tokens = tokens(lines[index])
            switch random.below(8) {
            case 0, 1:  // replace a number
                let numbers = tokens.indices.filter { Int(tokens[$0]) != nil }
                if let i = numbers.randomElement(using: &random) { tokens[i] = interesting[random.below(interesting.count)] }
            case 2:  // swap two tokens
                if tokens.count > 1 { tokens.swapAt(random.below(tokens.count), random.below(tokens.count)) }
            case 3:  // delete a token
                if !tokens.isEmpty { tokens.remove(at: random.below(tokens.count)) }
            case 4:  // duplicate a token
                if !tokens.isEmpty { let i = random.below(tokens.count); tokens.insert(tokens[i], at: i) }
            case 5:  // a stray character
                let strays = ["%", "\"", "[", "]", "{", "}", "(", ")", ",", "=", "@", ":", "\\", "\u{0}", "é", "\t", "#"]
                tokens.insert(strays[random.below(strays.count)], at: random.below(tokens.count + 1))
            case 6:  // delete or duplicate a line
                if random.below(2) == 0 { lines.remove(at: index) } else { lines.insert(lines[index], at: index) }
                continue
            default:  // swap two lines
                lines.swapAt(index, random.below(lines.count))
                continue
            }
            lines[index] = tokens.joined()
        }
        return lines.joined(separator: "\n")
    }

    func testMutatedIRTextFailsCleanlyOrSurvivesTheCompiler() throws {
        let baseGraph = try parseIR(Self.base)
        try baseGraph.verify()
        // Longer runs: SINTER_FUZZ_ITERATIONS=200000 SINTER_FUZZ_SEED=7 swift test --filter IRFuzzTests
        let environment = ProcessInfo.processInfo.environment
        let iterations = environment["SINTER_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 3000
        var random = Random(state: environment["SINTER_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_1234)
        var outcomes = [String: Int]()
        var accepted: [Graph] = []
        for iteration in 0..<iterations {
            let text = Self.mutate(Self.base, &random)
            do {
                let graph = try parseIR(text, file: "mutant\(iteration).ir")
                try graph.verify()
                // Accepted: every later stage must work or throw, never trap.
                for (id, node) in graph.nodes.enumerated() {
                    _ = try ShapeInference.infer(node.op, node.operands.map { graph[$0].type }, node.attrs, declared: node.type)
                    _ = id
                }
                let reparsed = try parseIR(printIR(graph), file: "reprinted.ir")
                XCTAssertEqual(printIR(reparsed), printIR(graph), "mutant \(iteration) does not round-trip:\n\(text)")
                do {
                    let program = try emitC(graph, options: CodegenOptions())
                    let plan = try MemoryGuard.plan(program)
                    if printIR(graph) != printIR(baseGraph) && accepted.count < 3 && plan.total < 1 << 26 { accepted.append(graph) }
                    outcomes["emitted", default: 0] += 1
                } catch let error as SinterError {
                    outcomes["refused by codegen", default: 0] += 1
                    _ = error
                }
            } catch let error as SinterError {
                switch error {
                case .parse: outcomes["parse error", default: 0] += 1
                case .verify: outcomes["verify error", default: 0] += 1
                default: outcomes["other SinterError", default: 0] += 1
                }
            } catch {
                XCTFail("mutant \(iteration) threw a non-Sinter error \(error):\n\(text)")
            }
        }
        print("IR fuzz: \(iterations) mutants: \(outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        // The mutator must reach every stage, or the test proves little.
        XCTAssertGreaterThan(outcomes["parse error"] ?? 0, 100, "\(outcomes)")
        XCTAssertGreaterThan(outcomes["emitted"] ?? 0, 50, "\(outcomes)")

        // A few accepted mutants through the C compiler and a run on zeros.
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SINTER_") }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-fuzz-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        env["XDG_CACHE_HOME"] = root.path
        env["SINTER_CFLAGS"] = "-O0"
        let cache = try KernelCache(environment: env)
        for graph in accepted {
            let executable = try Runtime.compile(try emitC(graph, options: CodegenOptions()), cache: cache)
            var feeds: [String: HostTensor] = [:]
            for slot in executable.program.inputs { feeds[slot.name] = HostTensor(zeros: slot.type) }
            let results = try executable.run(feeds)
            XCTAssertEqual(results.count, executable.program.outputs.count)
        }
    }
}

extension IRFuzzTests.Random: RandomNumberGenerator {}

import Foundation
import Sinter
import XCTest

/// `--check-numerics` / `SINTER_CHECK_NUMERICS=1` on the command line, and the warning for loaded
/// weights that hold NaN/Inf (NonFiniteWeights).
final class CheckCLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-check-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// `sinter` with `arguments`, the cache in this test's directory and no SINTER_* from the shell.
    func sinter(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, err: String) {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [testBinary.deletingLastPathComponent(), Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("sinter") }
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("the sinter executable is not built next to the tests; run `swift build` first")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SINTER_") }
        env["XDG_CACHE_HOME"] = directory.appendingPathComponent("cache").path
        process.environment = env.merging(environment) { $1 }
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// An IR file computing y = log(x) * w (w a param), and inputs with x = [1, 0, 2].
    func writeFiles(w: [Float]) throws -> (ir: String, inputs: String, logLine: Int) {
        let builder = GraphBuilder(name: "logw", dtype: .f32, training: false)
        let x = builder.input("x", [3])
        let w0 = builder.persistent("w", [3], initializer: "ones", trainable: true, at: SourceLocation(file: "LogW.swift", line: 3))
        let logged = x.log(); let logLine = #line
        try builder.graph.addOutput("y", (logged * w0).id)
        let ir = directory.appendingPathComponent("logw.ir").path
        try (try builder.finish()).text.write(toFile: ir, atomically: true, encoding: .utf8)
        let inputs = directory.appendingPathComponent("inputs.safetensors").path
        try Safetensors.write(["x": HostTensor(shape: [3], floats: [1, 0, 2]), "w": HostTensor(shape: [3], floats: w)], to: inputs)
        return (ir, inputs, logLine)
    }

    func testCheckNumericsFlagAndVariableNameTheOpAndLine() throws {
        let (ir, inputs, logLine) = try writeFiles(w: [1, 1, 1])
        let out = directory.appendingPathComponent("out.safetensors").path
        let plain = try sinter(["run", ir, "--inputs", inputs, "--out", out])
        XCTAssertEqual(plain.status, 0, "the normal build runs silently: \(plain.err)")
        XCTAssertFalse(plain.err.contains("check-numerics"), plain.err)
        for (arguments, environment) in [(["--check-numerics"], [:]), ([], ["SINTER_CHECK_NUMERICS": "1"])] {
            let checked = try sinter(["run", ir, "--inputs", inputs, "--out", out] + arguments, environment: environment)
            XCTAssertNotEqual(checked.status, 0, checked.err)
            XCTAssert(checked.err.contains("check-numerics: op log"), checked.err)
            XCTAssert(checked.err.contains("CheckCLITests.swift:\(logLine) produced -Inf at element 1"), checked.err)
        }
    }

    func testLoadingWeightsWithNaNWarnsWithTheTensorName() throws {
        let (ir, inputs, _) = try writeFiles(w: [1, .nan, .infinity])
        let out = directory.appendingPathComponent("out.safetensors").path
        let run = try sinter(["run", ir, "--inputs", inputs, "--out", out])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssert(run.err.contains("warning: \(inputs): tensor 'w' [3] holds 1 NaN and 1 Inf values (first at element 1)"), run.err)
        XCTAssertFalse(run.err.contains("tensor 'x'"), "x is finite: \(run.err)")
    }

    func testNonFiniteScanCountsPerTensorAndIgnoresIntegers() {
        let tensors = ["a": HostTensor(shape: [4], floats: [0, .infinity, -.infinity, 1]),
                       "b": HostTensor(shape: [2], doubles: [.nan, 1]),
                       "c": HostTensor(shape: [2], int32s: [Int32.min, Int32.max]),
                       "d": HostTensor(shape: [1], floats: [Float.greatestFiniteMagnitude])]
        XCTAssertEqual(NonFiniteWeights.scan(tensors), [
            .init(tensor: "a", shape: [4], nanCount: 0, infCount: 2, firstIndex: 1),
            .init(tensor: "b", shape: [2], nanCount: 1, infCount: 0, firstIndex: 0),
        ])
        let lines = NonFiniteWeights.warnings(["bad\u{1b}[2Jname": HostTensor(shape: [1], floats: [.nan])], source: "w.safetensors")
        XCTAssertEqual(lines, ["warning: w.safetensors: tensor 'bad?[2Jname' [1] holds 1 NaN value (first at element 0); results computed from it will not be finite"])
    }
}

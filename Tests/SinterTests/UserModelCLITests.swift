import Foundation
import Sinter
import XCTest

/// A user's own model, not the zoo's, through every tool: defined here, its training step and
/// prediction graph saved with `Learner.saveGraph` (IR text plus safetensors weights), then
/// `sinter dump` with each of its flags, `sinter run` (the saved prediction graph gives what
/// `predict` gives), and `sinter bench` (the JSON a zoo model's bench has); a broken IR file
/// is refused naming its file and line, an unknown name with the models and file kinds taken.
/// Small shapes: the C compiler runs a few times, nothing else is slow.
final class UserModelCLITests: CLITestCase {
    override class var folderPrefix: String { "user-model" }

    struct TinyRegressor: Model {
        let hidden = Dense(6)
        let head = Dense(2)
        func callAsFunction(_ x: Tensor) -> Tensor { head(relu(hidden(x))) }
    }

    static let data: TensorDataset = {
        var generator = SplitMix64(seed: 5)
        let x: [Double] = (0..<32).map { _ in Double(generator.next() % 1001) / 500 - 1 }
        var y: [Double] = []
        for row in 0..<16 { y += [x[row * 2] - x[row * 2 + 1], 0.5 * x[row * 2]] }
        return try! TensorDataset(x: HostTensor(shape: [16, 2], doubles: x), y: HostTensor(shape: [16, 2], doubles: y))
    }()

    func makeLearner() throws -> Learner {
        let learner = try Learner(TinyRegressor(), loss: { meanSquaredError($0, target: $1) }, optimizer: Adam(learningRate: 0.01),
                                  seed: 7, name: "tiny")
        learner.noteHandler = { _ in }
        return learner
    }

    /// Saves the training step (batch 4) and the prediction graph (batch 4) with their weights.
    func saveBoth(_ learner: Learner) throws -> (step: String, predict: String) {
        try learner.saveGraph(to: path("step.ir"), weights: path("step.safetensors"), train: true, batchSize: 4, data: Self.data)
        try learner.saveGraph(to: path("predict.ir"), weights: path("predict.safetensors"), batchSize: 4)
        return (path("step.ir"), path("predict.ir"))
    }

    func succeed(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> SinterProcess.Result {
        let result = try sinter(arguments, timeout: 300)
        XCTAssertEqual(result.status, 0, "\(arguments.joined(separator: " ")): \(result.err)", file: file, line: line)
        return result
    }

    func testEveryDumpFlagWorksOnASavedUserModel() throws {
        let (step, _) = try saveBoth(try makeLearner())
        // As traced: the saved text itself, which parses back to the same text.
        let traced = try succeed(["dump", step])
        XCTAssertEqual(traced.out, try String(contentsOfFile: step, encoding: .utf8))
        let graph = try parseIR(traced.out, file: step)
        XCTAssertEqual(graph.effects.filter { graph[$0].op == .adamUpdate }.count, 4, "an update per kernel and bias")

        let passes = PassPipeline().names
        let all = try succeed(["dump", step, "--after", "all"])
        for pass in passes { XCTAssert(all.out.contains("# after \(pass): "), "no stage after \(pass) in:\n\(all.out.prefix(2000))") }
        let onePass = try succeed(["dump", step, "--after", passes[0], "--format", "json"])
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(onePass.out.utf8)) as? [String: Any], onePass.out)
        XCTAssert(try succeed(["dump", step, "--format", "dot"]).out.hasPrefix("digraph"), "not Graphviz")
        XCTAssert(try succeed(["dump", step, "--after", "plan"]).out.contains("kernel"), "no kernels in the plan")
        XCTAssert(try succeed(["dump", step, "--kernels"]).out.contains("MFLOP"))
        let memory = try succeed(["dump", step, "--memory"])
        XCTAssert(memory.err.contains("wrote \(path("step-memory.svg"))"), "the picture goes beside the file: \(memory.err)")
        XCTAssert(try String(contentsOfFile: path("step-memory.svg"), encoding: .utf8).contains("<svg"))
        _ = try succeed(["dump", step, "--memory", "--svg", path("picture.svg")])
        XCTAssert(FileManager.default.fileExists(atPath: path("picture.svg")))
        XCTAssert(try succeed(["dump", step, "--emit-c"]).out.contains("#include"))
        let summary = try succeed(["dump", step, "--summary", "--format", "json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(summary.out.utf8)) as? [String: Any], summary.out)
        XCTAssertEqual(object["graph"] as? String, "tiny_train")
        XCTAssertGreaterThan((object["arena_bytes"] as? NSNumber)?.intValue ?? 0, 0)
        // A saved graph has its own shapes and phase: the zoo's options are refused.
        try assertRefusedInOneLine(["dump", step, "--train"], ["--train", "not to a file", "Learner.saveGraph"])
    }

    /// The saved prediction graph and weights, run by `sinter run`, give `predict`'s numbers.
    func testSavedPredictionGraphRunsAsPredictDoes() throws {
        let learner = try makeLearner()
        try learner.fit(Self.data, epochs: 1, batchSize: 4, verbose: false)
        let (_, predictGraph) = try saveBoth(learner)
        let x = Self.data.tensors["x"]!.rows([0, 1, 2, 3])
        try Safetensors.write(["x": x], to: path("x.safetensors"))
        _ = try succeed(["run", predictGraph, "--inputs", path("x.safetensors"), "--weights", path("predict.safetensors"),
                         "--out", path("out.safetensors")])
        let ran = try XCTUnwrap(try Safetensors.read(path: path("out.safetensors"))["prediction"])
        let predicted = try learner.predict(try TensorDataset(x: x), batchSize: 4)
        XCTAssertEqual(ran.shape, [4, 2])
        for (got, expected) in zip(ran.floats, predicted.floats) { XCTAssertEqual(got, expected, accuracy: 1e-6) }
    }

    func testBenchOfASavedUserModelGivesTheModelBenchJSON() throws {
        let (step, predictGraph) = try saveBoth(try makeLearner())
        let result = try succeed(["bench", step, "--iterations", "1", "--warmup", "0", "--format", "json", "--top", "2"])
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any], result.out)
        XCTAssertEqual(record["model"] as? String, step)
        XCTAssertEqual(record["phases"] as? [String], ["train"])
        XCTAssertEqual(record["train"] as? Bool, true)
        XCTAssertEqual((record["batch"] as? NSNumber)?.intValue, 4)
        XCTAssertEqual((record["steps"] as? NSNumber)?.intValue, 1)
        for key in ["median_ms", "min_ms", "peak_rss_mb", "compile_cold_s", "gflop_per_step"] {
            XCTAssertGreaterThan((record[key] as? NSNumber)?.doubleValue ?? 0, 0, key)
        }
        XCTAssertEqual((record["slowest_kernels"] as? [Any])?.count, 2)

        // Given inputs and weights instead of random ones; a name the graph lacks is refused.
        try Safetensors.write(["x": Self.data.tensors["x"]!.rows([0, 1, 2, 3])], to: path("x.safetensors"))
        let given = try succeed(["bench", predictGraph, "--inputs", path("x.safetensors"), "--weights", path("predict.safetensors"),
                                 "--steps", "1", "--warmup", "0", "--top", "0"])
        XCTAssert(given.out.contains("\(predictGraph) forward batch 4: median"), given.out)
        try Safetensors.write(["xx": Self.data.tensors["x"]!.rows([0, 1, 2, 3])], to: path("typo.safetensors"))
        try assertRefusedInOneLine(["bench", predictGraph, "--inputs", path("typo.safetensors"), "--steps", "1", "--top", "0"],
                                   ["'xx'", "did you mean 'x'"])
        try assertRefusedInOneLine(["bench", step, "--batch", "8"], ["an IR file runs as saved", "--batch"])
    }

    func testBrokenIRFilesAndUnknownNamesAreRefusedClearly() throws {
        let bad = path("bad.ir")
        try "graph g {\n  %0 = input {name=\"x\"} : f32[2]\n  %1 = exp(%7) : f32[2]\n  output \"y\" = %1\n}\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        for command in [["dump", bad], ["dump", bad, "--summary"], ["bench", bad, "--steps", "1"], ["run", bad, "--inputs", bad, "--out", path("o")]] {
            try assertRefusedInOneLine(command, ["bad.ir:3"])
        }
        for command in ["dump", "bench"] {
            try assertRefusedInOneLine([command, "autoencoderr"], ["unknown model 'autoencoderr'", "autoencoder", "gan", "FILE.ir", "FILE.onnx"])
        }
    }
}

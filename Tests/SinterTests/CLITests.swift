import Foundation
import Sinter
import XCTest

/// The `sinter` command end to end: `ops`, `dump` (its IR parses back), and `run` on an IR file
/// with inputs and cotangents, checked against a golden op case, with the second run of the same
/// graph in a new process loading the cached library.
final class CLITests: XCTestCase {
    /// The built `sinter` next to the test bundle (`swift build` / `swift test` build it).
    var sinterBinary: URL {
        get throws {
            // The test binary (Linux) or bundle (macOS) sits in the build products directory.
            let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            let candidates = [testBinary.deletingLastPathComponent(), Bundle.main.bundleURL,
                              Bundle.main.bundleURL.deletingLastPathComponent()]
                .map { $0.appendingPathComponent("sinter") }
            guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw XCTSkip("the sinter executable is not built next to the tests (\(candidates[0].path)); run `swift build` first")
            }
            return url
        }
    }

    func sinter(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = try sinterBinary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func testOpsListsEveryOpWithItsGradientStatus() throws {
        let result = try sinter(["ops"])
        XCTAssertEqual(result.status, 0, result.err)
        for op in Op.allCases {
            XCTAssert(result.out.contains("\n\(op.rawValue) "), "sinter ops does not list \(op.rawValue)")
        }
        XCTAssert(result.out.contains("conv2d_input_grad     yes"), result.out)
    }

    func testDumpOfTheTrainingStepParsesBackToTheSameText() throws {
        let result = try sinter(["dump", "autoencoder", "--train", "--batch", "4"])
        XCTAssertEqual(result.status, 0, result.err)
        let graph = try parseIR(result.out, file: "dump")
        XCTAssertEqual(graph.text, result.out)
        XCTAssertEqual(graph.effects.filter { graph[$0].op == .adamUpdate }.count, 12)
        XCTAssertNotNil(graph.output(named: "loss"))
    }

    func testDumpOfAnUnknownModelFailsClearly() throws {
        let result = try sinter(["dump", "resnet"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssert(result.err.contains("unknown model 'resnet'") && result.err.contains("autoencoder"), result.err)
    }

    /// Dump a conv2d graph as IR text, run it with `sinter run` on the golden inputs and
    /// cotangent, and compare outputs and vector-Jacobian products with TensorFlow's.
    func testRunComputesOutputsAndGradientsOfAnIRFile() throws {
        let goldenCase = try GoldenData.case(named: "op-conv2d-k3-s2-same-7x7")
        let data = try goldenCase.load()
        let builder = GraphBuilder(name: "conv")
        let y = conv2d(builder.input("x", [2, 7, 7, 3]), builder.input("kernel", [3, 3, 3, 4]), strides: (2, 2)) + builder.input("bias", [4])
        try builder.graph.addOutput("y", y.id)
        let directory = try temporaryDirectory()
        let irPath = directory.appendingPathComponent("conv.ir").path
        try builder.graph.text.write(toFile: irPath, atomically: true, encoding: .utf8)
        let inputs = directory.appendingPathComponent("inputs.safetensors").path
        try Safetensors.write(data.filter { ["x", "kernel", "bias"].contains($0.key) }, to: inputs)
        let cotangents = directory.appendingPathComponent("cotangents.safetensors").path
        try Safetensors.write(["dy": data["dy"]!], to: cotangents)
        let out = directory.appendingPathComponent("out.safetensors").path
        let cache = directory.appendingPathComponent("cache").path

        let first = try sinter(["run", irPath, "--inputs", inputs, "--out", out, "--cotangents", cotangents],
                               environment: ["XDG_CACHE_HOME": cache])
        XCTAssertEqual(first.status, 0, first.err)
        XCTAssert(first.err.contains("compiled"), first.err)
        let results = try Safetensors.read(path: out)
        for name in ["y", "grad.x", "grad.kernel", "grad.bias"] {
            guard let got = results[name] else { XCTFail("sinter run wrote no \(name)"); continue }
            assertClose(got, data[name]!, info: goldenCase.tensor(name)!)
        }
        // A second process asking for the same graph loads the cached library.
        let second = try sinter(["run", irPath, "--inputs", inputs, "--out", out, "--cotangents", cotangents],
                                environment: ["XDG_CACHE_HOME": cache])
        XCTAssertEqual(second.status, 0, second.err)
        XCTAssert(second.err.contains("cache hit"), second.err)
    }

    func testRunReportsMissingInputsAndBadFiles() throws {
        let directory = try temporaryDirectory()
        let irPath = directory.appendingPathComponent("g.ir").path
        try "graph g {\n  %0 = input {name=\"x\"} : f32[2]\n  %1 = exp(%0) : f32[2]\n  output \"y\" = %1\n}\n"
            .write(toFile: irPath, atomically: true, encoding: .utf8)
        let empty = directory.appendingPathComponent("empty.safetensors").path
        try Safetensors.write([:], to: empty)
        let missing = try sinter(["run", irPath, "--inputs", empty, "--out", directory.appendingPathComponent("o").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssert(missing.err.contains("x"), missing.err)

        let garbage = directory.appendingPathComponent("garbage.safetensors").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: garbage))
        let bad = try sinter(["run", irPath, "--inputs", garbage, "--out", directory.appendingPathComponent("o").path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssert(bad.err.contains(garbage), bad.err)

        try "graph g {\n  %0 = input {name=\"x\"} : f32[2]\n  %1 = conv3d(%0) : f32[2]\n}\n".write(toFile: irPath, atomically: true, encoding: .utf8)
        let unknown = try sinter(["run", irPath, "--inputs", empty, "--out", directory.appendingPathComponent("o").path])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssert(unknown.err.contains("g.ir:3") && unknown.err.contains("conv3d"), unknown.err)
    }

    func testMissingCompilerIsReportedClearly() throws {
        let directory = try temporaryDirectory()
        let irPath = directory.appendingPathComponent("g.ir").path
        try "graph g {\n  %0 = input {name=\"x\"} : f32[2]\n  %1 = exp(%0) : f32[2]\n  output \"y\" = %1\n}\n"
            .write(toFile: irPath, atomically: true, encoding: .utf8)
        let inputs = directory.appendingPathComponent("in.safetensors").path
        try Safetensors.write(["x": HostTensor(shape: [2], floats: [0, 1])], to: inputs)
        let result = try sinter(["run", irPath, "--inputs", inputs, "--out", directory.appendingPathComponent("o").path],
                                environment: ["SINTER_CC": "/nonexistent", "SINTER_NO_CACHE": "1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssert(result.err.contains("/nonexistent") && result.err.contains("SINTER_CC"), result.err)
    }

    /// Train two steps, export the checkpoint in PyTorch layout, import it back: same weights.
    func testTrainExportTorchImportRoundTrip() throws {
        let directory = try temporaryDirectory()
        let cache = directory.appendingPathComponent("cache").path
        let trained = try sinter(["train", "vae", "--steps", "2", "--batch", "16", "--train-limit", "64", "--test-limit", "32",
                                  "--out", directory.path], environment: ["XDG_CACHE_HOME": cache])
        XCTAssertEqual(trained.status, 0, trained.err)
        XCTAssert(trained.out.contains("test loss"), trained.out)
        for picture in ["vae-step2.png", "vae-samples-step2.png", "vae-samples-step2-latent-plane.png", "loss.csv"] {
            XCTAssert(FileManager.default.fileExists(atPath: directory.appendingPathComponent(picture).path), "training wrote no \(picture)")
        }
        let checkpoint = directory.appendingPathComponent("checkpoint.sinter").path
        // New samples, and the decoded latent plane (the VAE's latent space is 2-D).
        let samples = directory.appendingPathComponent("samples.png").path
        let sampled = try sinter(["sample", "vae", "--checkpoint", checkpoint, "--count", "9", "--out", samples],
                                 environment: ["XDG_CACHE_HOME": cache])
        XCTAssertEqual(sampled.status, 0, sampled.err)
        let grid = try RasterImage.read(path: samples)
        XCTAssertEqual([grid.width, grid.height], [3 * 28 + 4 * 2, 3 * 28 + 4 * 2])
        XCTAssertEqual(try RasterImage.read(path: directory.appendingPathComponent("samples-latent-plane.png").path).width, 16 * 28 + 17 * 2)
        let wrongModel = try sinter(["sample", "cvae", "--checkpoint", checkpoint], environment: ["XDG_CACHE_HOME": cache])
        XCTAssertNotEqual(wrongModel.status, 0)
        XCTAssert(wrongModel.err.contains("'vae'"), wrongModel.err)
        let exported = directory.appendingPathComponent("torch.safetensors").path
        let export = try sinter(["export", "vae", "--checkpoint", checkpoint, "--out", exported, "--layout", "torch"],
                                environment: ["XDG_CACHE_HOME": cache])
        XCTAssertEqual(export.status, 0, export.err)
        let torch = try Safetensors.read(path: exported)
        XCTAssertEqual(torch["enc_conv1.weight"]?.shape, [32, 1, 3, 3])        // Conv2d OIHW
        XCTAssertEqual(torch["dec_deconv1.weight"]?.shape, [64, 64, 3, 3])     // ConvTranspose2d (in,out,kh,kw)
        XCTAssertEqual(torch["enc_dense.weight"]?.shape, [20, 3136])           // Linear (out,in)
        XCTAssertNotNil(torch["enc_bn1.running_var"])
        XCTAssertNil(torch["opt.iterations"])

        let reimported = directory.appendingPathComponent("reimported.sinter").path
        let imported = try sinter(["import", "vae", "--weights", exported, "--out", reimported, "--layout", "torch"],
                                  environment: ["XDG_CACHE_HOME": cache])
        XCTAssertEqual(imported.status, 0, imported.err)
        let original = try Checkpoint.read(path: checkpoint), back = try Checkpoint.read(path: reimported)
        for (name, tensor) in original.tensors where !name.hasPrefix("opt") && !name.hasPrefix("trainer.") && name != "rng.counter" {
            XCTAssertEqual(back.tensors[name], tensor, "\(name) changed in the export/import round trip")
        }
        // A weights file missing a tensor is refused by name.
        var partial = torch
        partial["enc_conv1.weight"] = nil
        let partialPath = directory.appendingPathComponent("partial.safetensors").path
        try Safetensors.write(partial, to: partialPath)
        let refused = try sinter(["import", "vae", "--weights", partialPath, "--out", reimported, "--layout", "torch"],
                                 environment: ["XDG_CACHE_HOME": cache])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssert(refused.err.contains("enc_conv1.weight"), refused.err)
    }
}

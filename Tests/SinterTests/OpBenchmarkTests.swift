import Foundation
import Sinter
import SinterFuzzing
import SinterModels
import XCTest

/// The op benchmarks of `sinter bench --op` (Graphs/OpBenchmark.swift): the f64 reference their
/// check uses agrees with TensorFlow's golden convolutions and dense layer, catches a wrong
/// element (also when it only samples), and the `--shape` parser refuses every malformed text
/// with an error rather than a crash.
final class OpBenchmarkTests: XCTestCase {
    /// Operands and result of a golden case as f32 arrays.
    private func floats(_ data: [String: HostTensor], _ name: String) throws -> [Float] {
        guard let tensor = data[name] else { throw SinterError.runtime(message: "golden case has no \(name)") }
        return tensor.floats
    }

    /// Every golden conv2d case: y - bias is the forward conv, grad.x its input gradient of dy,
    /// grad.kernel its filter gradient; the reference must agree with TensorFlow on every element.
    func testReferenceAgreesWithTensorFlowOnEveryGoldenConvolution() throws {
        let cases = try GoldenData.cases(op: "conv2d")
        XCTAssertGreaterThanOrEqual(cases.count, 5)
        for goldenCase in cases {
            let data = try goldenCase.load()
            let x = try floats(data, "x"), kernel = try floats(data, "kernel"), dy = try floats(data, "dy")
            var y = try floats(data, "y")
            if let bias = data["bias"]?.floats {
                for index in y.indices { y[index] -= bias[index % bias.count] }
            }
            guard let strides = goldenCase.attrInts("strides"), let padding = goldenCase.attrString("padding").flatMap({ Padding(rawValue: $0.lowercased()) }) else {
                XCTFail("\(goldenCase.name): no strides or padding"); continue
            }
            let geometry = try ConvBenchGeometry(input: data["x"]!.shape, kernel: data["kernel"]!.shape, stride: strides[0], padding: padding)
            XCTAssertEqual(geometry.outputShape, data["y"]!.shape, goldenCase.name)
            for (pass, operands, result) in [(ConvBenchPass.forward, [x, kernel], y), (.inputGrad, [dy, kernel], try floats(data, "grad.x")),
                                             (.filterGrad, [x, dy], try floats(data, "grad.kernel"))] {
                let check = try OpBenchmark(.conv2d(geometry, pass)).check(operands: operands, result: result)
                XCTAssertEqual(check.checked, check.total, "\(goldenCase.name) \(pass)")
                XCTAssertLessThanOrEqual(check.worstRatio, 1, "\(goldenCase.name) \(pass)")
            }
        }
    }

    func testReferenceAgreesWithTensorFlowOnTheGoldenDenseLayer() throws {
        let data = try GoldenData.case(named: "op-dense-7to5").load()
        var y = try floats(data, "y")
        let bias = try floats(data, "bias")
        for index in y.indices { y[index] -= bias[index % bias.count] }
        let check = try OpBenchmark(.matmul(m: 2, n: 5, k: 7)).check(operands: [try floats(data, "x"), try floats(data, "kernel")], result: y)
        XCTAssertEqual(check.checked, 10)
    }

    /// A result off in one element, by NaN or by a dropped term, fails and names that element;
    /// so does a wrong corner when the check only samples.
    func testCheckFailsLoudlyOnAWrongElement() throws {
        let benchmark = OpBenchmark(.matmul(m: 6, n: 5, k: 4))
        let a = (0..<24).map { Float($0 % 7) - 3 }, b = (0..<20).map { Float($0 % 5) - 2 }
        var c = [Float](repeating: 0, count: 30)
        for i in 0..<6 { for j in 0..<5 { for p in 0..<4 { c[i * 5 + j] += a[i * 4 + p] * b[p * 5 + j] } } }
        XCTAssertEqual(try benchmark.check(operands: [a, b], result: c).checked, 30)

        for wrong in [Float.nan, c[13] - a[2 * 4 + 3] * b[3 * 5 + 3]] {
            var bad = c
            bad[13] = wrong  // y[2, 3]
            XCTAssertThrowsError(try benchmark.check(operands: [a, b], result: bad)) { error in
                XCTAssert("\(error)".contains("y[2, 3]") && "\(error)".contains("1 of 30"), "\(error)")
            }
        }
        // A budget of 16 multiply-adds allows four elements: the corners come first.
        var corner = c
        corner[29] += 100
        XCTAssertThrowsError(try benchmark.check(operands: [a, b], result: corner, budget: 16)) { error in
            XCTAssert("\(error)".contains("y[5, 4]") && "\(error)".contains("of 4 checked"), "\(error)")
        }
        XCTAssertThrowsError(try benchmark.check(operands: [a], result: c))
    }

    func testShapesParseIntoTheirGeometry() throws {
        let conv = try OpBenchmark.parse(op: "conv2d", shape: "32x56x56x64,3x3x64x64")
        XCTAssertEqual(conv.resultShape, [32, 56, 56, 64])
        XCTAssertEqual(conv.flops, 2.0 * 32 * 56 * 56 * 64 * 64 * 9)  // bench_tf.py's count
        XCTAssertEqual(conv.operands.map(\.name), ["x", "w"])
        let strided = try OpBenchmark.parse(op: "conv2d", shape: "2x9x9x3,3x3x3x5", stride: 2, padding: .valid, grad: .filterGrad)
        XCTAssertEqual(strided.opName, "conv2d_filter_grad")
        XCTAssertEqual(strided.resultShape, [3, 3, 3, 5])
        XCTAssertEqual(strided.operands.map(\.shape), [[2, 9, 9, 3], [2, 4, 4, 5]])
        let matmul = try OpBenchmark.parse(op: "matmul", shape: "8x3x5")
        XCTAssertEqual(matmul.operands.map(\.shape), [[8, 5], [5, 3]])
        XCTAssertEqual(matmul.shapeText, "8x3x5")
        for (op, shape, fragment) in [("matmul", "8x3", "3 whole numbers"), ("matmul", "0x3x5", "between 1"),
                                      ("matmul", "8x3x-5", "between 1"), ("matmul", "8xx5", "3 whole numbers"),
                                      ("matmul", "99999999999999999999x1x1", "3 whole numbers"),
                                      ("conv2d", "1048576x1048576x1048576x2,1x1x2x1", "fit in Int"), ("conv2d", "1x4x4x3", "NxHxWxC,KHxKWxCxO"),
                                      ("conv2d", "1x4x4x3,3x3x2x4", "3 channels"), ("conv2d", "1x4x4x3,5x5x3x4,1", "NxHxWxC"),
                                      ("conv3d", "1x1x1", "--op")] {
            XCTAssertThrowsError(try OpBenchmark.parse(op: op, shape: shape), "\(op) \(shape)") { error in
                XCTAssert("\(error)".contains(fragment), "\(op) \(shape): \(error)")
            }
        }
        XCTAssertThrowsError(try OpBenchmark.parse(op: "conv2d", shape: "1x2x2x3,3x3x3x4", padding: .valid)) { error in
            XCTAssert("\(error)".contains("does not fit"), "\(error)")
        }
        for (input, kernel, stride) in [([1, 4, 4], [3, 3, 3, 4], 1), ([1, 4, 4, 3], [3, 3, 3, 4], 0), ([1, 0, 4, 3], [3, 3, 3, 4], 1)] {
            XCTAssertThrowsError(try ConvBenchGeometry(input: input, kernel: kernel, stride: stride, padding: .same)) { error in
                XCTAssert("\(error)".contains("positive extents"), "\(error)")
            }
        }
    }

    /// Mutants of valid shapes: each is refused with a SinterError or parses into a benchmark
    /// whose own shape text parses back to it.
    func testShapeParserSurvivesMutants() throws {
        var mutator = Mutator(seed: 11)
        let seeds = [("matmul", "2048x2048x2048"), ("matmul", "7x1x33"), ("conv2d", "32x56x56x64,3x3x64x64"), ("conv2d", "1x5x5x1,5x5x1x1")]
        var accepted = 0, refused = 0
        for iteration in 0..<4000 {
            let (op, seed) = seeds[iteration % seeds.count]
            let text = String(decoding: mutator.mutate(Array(seed.utf8)), as: UTF8.self)
            do {
                let benchmark = try OpBenchmark.parse(op: op, shape: text, stride: 1 + iteration % 3, padding: iteration % 2 == 0 ? .same : .valid)
                XCTAssertEqual(try OpBenchmark.parse(op: op, shape: benchmark.shapeText, stride: 1 + iteration % 3,
                                                     padding: iteration % 2 == 0 ? .same : .valid), benchmark, text)
                accepted += 1
            } catch let error as SinterError {
                XCTAssert("\(error)".contains("--shape"), "\(text): \(error)")
                refused += 1
            }
        }
        XCTAssertGreaterThan(accepted, 0)
        XCTAssertGreaterThan(refused, 1000)
    }
}

import Foundation
import Sinter
import SinterFuzzing
import XCTest

/// Corners of the importer that once crashed or gave wrong numbers: axes of scalars, resizing an
/// empty axis, padding with a value other than zero, derived constants that share a name hint,
/// and gathers too scattered to slice.
final class ONNXImporterEdgeTests: XCTestCase {
    typealias S = ONNXSeeds

    func imported(_ bytes: [UInt8]) throws -> ONNXImport {
        try ONNXImporter(model: ONNXProtoDecoder.decodeModel(bytes, path: "m.onnx"), path: "m.onnx").run()
    }

    func importError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try imported(bytes)
            XCTFail("imported", file: file, line: line)
        } catch {
            return "\(error)"
        }
        return ""
    }

    func run(_ bytes: [UInt8], _ feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        let model = try imported(bytes)
        let executable = try compileGraph(model.graph)
        try executable.loadPersistent(model.weights, requireAll: true)
        return try executable.run(feeds)
    }

    func testAxesOfAScalarAreRefused() {
        let split = S.model([S.node("Split", ["s"], ["a"], name: "split", [("axis", .int(0))])], initializers: [],
                            inputs: [S.valueInfo("s", [])], outputs: [S.valueInfo("a", [])], opset: 13)
        XCTAssertEqual(importError(split), "m.onnx: node 0 'split' (Split, opset 13): axis 0 given for a scalar (rank 0) value, which has no axes")
        let gather = S.model([S.node("Gather", ["s", "i"], ["g"], name: "gather")], initializers: [S.int64Tensor("i", [0])],
                             inputs: [S.valueInfo("s", [])], outputs: [S.valueInfo("g", [])], opset: 13)
        XCTAssert(importError(gather).contains("'gather' (Gather, opset 13): axis 0 given for a scalar"), importError(gather))
    }

    func testResizingAnEmptyAxisIsRefused() {
        let bytes = S.model([S.node("Resize", ["x", "", "", "sizes"], ["y"], name: "up")], initializers: [S.int64Tensor("sizes", [1, 1, 2, 2])],
                            inputs: [S.valueInfo("x", [1, 1, 0, 4])], outputs: [S.valueInfo("y", [1, 1, 2, 2])], opset: 13)
        let message = importError(bytes)
        XCTAssert(message.contains("'up' (Resize, opset 13)") && message.contains("empty"), message)
    }

    /// Pad's constant_value reaches the output exactly, and the padded data is untouched: with
    /// -inf (a pad before a max pool), 1e30 beside 1e-30, and NaN.
    func testConstantPadKeepsValuesExact() throws {
        let x: [Float] = [1e-30, -2.5, 3, 1e-7]
        for value: Float in [-.infinity, 1e30, .nan, -0.0] {
            let bytes = S.model([S.node("Pad", ["x", "pads", "v"], ["y"], name: "pad")],
                                initializers: [S.int64Tensor("pads", [0, 0, 1, 0, 0, 0, 0, 1]), S.tensor("v", [], floats: [value], raw: false)],
                                inputs: [S.valueInfo("x", [1, 1, 2, 2])], outputs: [S.valueInfo("y", [1, 1, 3, 3])], opset: 13)
            let y = try XCTUnwrap(run(bytes, ["x": HostTensor(shape: [1, 1, 2, 2], floats: x)])["y"])
            XCTAssertEqual(y.shape, [1, 1, 3, 3])
            let got = y.floats
            // Row 0 and column 2 are padding.
            for (k, index) in [0, 1, 2, 5, 8].enumerated() {
                XCTAssertEqual(got[index].bitPattern, value.bitPattern, "padding element \(k) for \(value): \(got[index])")
            }
            XCTAssertEqual([got[3], got[4], got[6], got[7]].map(\.bitPattern), x.map(\.bitPattern), "data for pad value \(value)")
        }
    }

    /// Two Gemms share one bias initializer with different beta: each gets its own scaled bias
    /// (the scaled copies share a name hint, not a value).
    func testDerivedConstantsWithOneHintKeepTheirValues() throws {
        let bytes = S.model([S.node("Gemm", ["x", "w", "b"], ["y2"], name: "g2", [("beta", .float(2))]),
                             S.node("Gemm", ["x", "w", "b"], ["y3"], name: "g3", [("beta", .float(3))])],
                            initializers: [S.tensor("w", [2, 2], floats: [1, 0, 0, 1], raw: false), S.tensor("b", [2], floats: [1, 10], raw: false)],
                            inputs: [S.valueInfo("x", [1, 2])], outputs: [S.valueInfo("y2", [1, 2]), S.valueInfo("y3", [1, 2])], opset: 13)
        let out = try run(bytes, ["x": HostTensor(shape: [1, 2], floats: [5, 7])])
        XCTAssertEqual(out["y2"]?.floats, [7, 27])
        XCTAssertEqual(out["y3"]?.floats, [8, 37])
        // Only the scaled biases are weights: the unscaled one is never made.
        XCTAssertNil(try imported(bytes).weights["b"])
    }

    func testScatteredGatherIsRefusedBeforeItBuildsNodes() {
        let indices = (0..<600).map { Int64(($0 * 7) % 600) }
        let bytes = S.model([S.node("Gather", ["x", "i"], ["g"], name: "scatter")], initializers: [S.int64Tensor("i", indices)],
                            inputs: [S.valueInfo("x", [600])], outputs: [S.valueInfo("g", [600])], opset: 13)
        let message = importError(bytes)
        XCTAssert(message.contains("'scatter' (Gather, opset 13): gathering 600 scattered indices would need more than 256 slices"), message)
    }

    /// Each ConstantOfShape is within the per-constant limit; together they pass the import's
    /// budget (lowered here so the test allocates little; the default is 2^28 values).
    func testFoldedConstantsHaveATotalBudget() throws {
        let nodes = (0..<3).map { S.node("ConstantOfShape", ["shape"], ["c\($0)"], name: "big\($0)") }
        let bytes = S.model(nodes, initializers: [S.int64Tensor("shape", [64, 64])],
                            inputs: [], outputs: [S.valueInfo("c2", [64, 64])], opset: 13)
        let importer = try ONNXImporter(model: ONNXProtoDecoder.decodeModel(bytes, path: "m.onnx"), path: "m.onnx")
        importer.foldedElementBudget = 10_000
        XCTAssertThrowsError(try importer.run()) {
            XCTAssert("\($0)".contains("'big2' (ConstantOfShape, opset 13)") && "\($0)".contains("12288 values, more than the 10000 an import may fold"), "\($0)")
        }
    }
}

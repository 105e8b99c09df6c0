import Foundation
import Sinter
import SinterFuzzing
import XCTest

/// The ONNX importer's promises beyond the conformance suite: refusals name the node, its op
/// type and opset and the reason; names from the file stay inert in IR text and C; a conv
/// network stays channels-last between its first and last layer.
final class ONNXImportTests: XCTestCase {
    typealias S = ONNXSeeds

    func importError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try ONNXImporter(model: ONNXProtoDecoder.decodeModel(bytes, path: "m.onnx"), path: "m.onnx").run()
            XCTFail("imported", file: file, line: line)
            return ""
        } catch let error as SinterError {
            return "\(error)"
        } catch {
            XCTFail("not a SinterError: \(error)", file: file, line: line)
            return ""
        }
    }

    func testSeedModelsImportVerifyAndPrintBack() throws {
        for seed in S.all {
            let imported = try ONNXImporter(model: ONNXProtoDecoder.decodeModel(seed, path: "seed.onnx"), path: "seed.onnx").run()
            try verify(imported.graph)
            let text = imported.graph.text
            XCTAssertEqual(try parseIR(text, file: "seed.sir").text, text)
        }
    }

    /// Pad -> Conv -> InstanceNorm -> Relu -> Resize on an NCHW input: one transpose in (to
    /// NHWC), one out, none between the layers, before and after the optimizer.
    func testConvChainStaysChannelsLast() throws {
        let imported = try ONNXImporter(model: ONNXProtoDecoder.decodeModel(S.all[0], path: "conv.onnx"), path: "conv.onnx").run()
        func transposes(_ g: Graph) -> Int { g.nodes.filter { $0.op == .transpose }.count }
        XCTAssertEqual(transposes(imported.graph), 2, imported.graph.text)
        let (optimized, _) = try optimizeGraph(imported.graph)
        XCTAssertLessThanOrEqual(transposes(optimized), 2)
        // The weights are stored HWIO, as the conv reads them.
        XCTAssertEqual(imported.weights["w.hwio"]?.shape, [3, 3, 3, 4])
        // Locations are the ONNX node names, with the node index as the line.
        XCTAssert(imported.graph.text.contains("@ conv:1"), imported.graph.text)
    }

    func testUnsupportedOperatorIsNamed() {
        let bytes = S.model([S.node("NonMaxSuppression", ["x"], ["y"], name: "nms")], initializers: [],
                            inputs: [S.valueInfo("x", [1, 4])], outputs: [S.valueInfo("y", [1, 4])], opset: 13)
        XCTAssertEqual(importError(bytes), "m.onnx: node 0 'nms' (NonMaxSuppression, opset 13): unsupported operator")
    }

    func testUnsupportedAttributeIsNamed() {
        let bytes = S.model([S.node("Resize", ["x", "", "scales"], ["y"], name: "up", [("antialias", .int(1)), ("mode", .string("linear"))])],
                            initializers: [S.tensor("scales", [4], floats: [1, 1, 0.5, 0.5], raw: false)],
                            inputs: [S.valueInfo("x", [1, 1, 4, 4])], outputs: [S.valueInfo("y", [1, 1, 2, 2])], opset: 18)
        XCTAssertEqual(importError(bytes), "m.onnx: node 0 'up' (Resize, opset 18): attribute antialias=1 is not supported")
    }

    func testDynamicShapeAndRuntimeShapeInputsAreRefused() {
        var dim = S.Message(); dim.string(2, "height")
        var shape = S.Message(); shape.message(1, dim)
        var tensorType = S.Message(); tensorType.int(1, 1); tensorType.message(2, shape)
        var type = S.Message(); type.message(1, tensorType)
        var input = S.Message(); input.string(1, "image"); input.message(2, type)
        let symbolic = S.model([S.node("Relu", ["image"], ["y"], name: "r")], initializers: [], inputs: [input],
                               outputs: [S.valueInfo("y", [1])], opset: 13)
        let message = importError(symbolic)
        XCTAssert(message.contains("graph input 'image': has the symbolic dimension 'height' at axis 0 (dynamic shape)"), message)
        XCTAssert(message.contains("--input-shape image="), message)
        let runtimeShape = S.model([S.node("Reshape", ["x", "shape"], ["y"], name: "reshape")], initializers: [],
                                   inputs: [S.valueInfo("x", [2, 3]), S.valueInfo("shape", [2], type: 7)], outputs: [S.valueInfo("y", [3, 2])], opset: 13)
        XCTAssertEqual(importError(runtimeShape), "m.onnx: node 0 'reshape' (Reshape, opset 13): input 1 'shape' (shape) is computed at run time; "
                       + "Sinter needs it as a constant (static shapes)")
    }

    func testExternalDataIsRefusedByName() {
        var weight = S.tensor("w", [2], floats: [], raw: false)
        var entry = S.Message(); entry.string(1, "location"); entry.string(2, "weights.bin")
        weight.message(13, entry)
        weight.int(14, 1)
        let bytes = S.model([S.node("Add", ["x", "w"], ["y"], name: "add")], initializers: [weight],
                            inputs: [S.valueInfo("x", [2])], outputs: [S.valueInfo("y", [2])], opset: 13)
        XCTAssertEqual(importError(bytes), "m.onnx: initializer 'w': stores its data in an external file (external_data location), "
                       + "which Sinter does not read; save the model with its weights inside")
    }

    func testTruncatedModelsFailCleanly() {
        let seed = S.all[2]
        for length in stride(from: 0, to: seed.count, by: 7) {
            XCTAssertThrowsError(try ONNXImporter(model: ONNXProtoDecoder.decodeModel(Array(seed[..<length]), path: "cut.onnx"), path: "cut.onnx").run())
        }
    }

    /// Node, input and output names with line breaks, comment closers, quotes and non-ASCII
    /// text: the IR text stays one line per node and parses back, and the C passes CText's check.
    func testHostileNamesStayInert() throws {
        let evil = "a\n*/ system(\"rm -rf ~\"); /*\u{00e9}\u{0000}@x:1"
        let bytes = S.model([S.node("Relu", [evil], ["y\"\n*/"], name: evil), S.node("Sigmoid", ["y\"\n*/"], ["out \(evil)"], name: "s " + evil)],
                            initializers: [], inputs: [S.valueInfo(evil, [2, 3])], outputs: [S.valueInfo("out \(evil)", [2, 3])], opset: 13)
        let imported = try ONNXImporter(model: ONNXProtoDecoder.decodeModel(bytes, path: "evil.onnx"), path: "evil.onnx").run()
        let text = imported.graph.text
        XCTAssertEqual(text.split(separator: "\n").count, imported.graph.nodes.count + imported.graph.outputs.count + 2, text)
        XCTAssertEqual(try parseIR(text, file: "evil.sir").text, text)
        let compilation = try compileProgram(imported.graph)
        XCTAssertNoThrow(try CText.checkSource(compilation.program.source, graph: imported.graph.name))
        // The text may appear in comments, but never able to close one.
        XCTAssertFalse(compilation.program.source.contains("*/ system"))
    }
}

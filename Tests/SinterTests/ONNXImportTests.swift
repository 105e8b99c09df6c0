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

/// Depthwise convolution (group = channels) takes its own path (DepthwiseConv.swift), which no
/// ONNX node test reaches: checked here against a float64 loop, with stride 2, asymmetric pads
/// and dilation 2, and against the same conv imported with one group per channel pair (the
/// grouped conv2d path).
final class ONNXDepthwiseConvTests: XCTestCase {
    typealias S = ONNXSeeds

    func run(group: Int, channels: Int, weights: [Float], x: [Float], shape: [Int64], attributes: [(String, S.AttributeValue)]) throws -> HostTensor {
        let bytes = S.model([S.node("Conv", ["x", "w", "b"], ["y"], name: "dw", [("group", .int(Int64(group)))] + attributes)],
                            initializers: [S.tensor("w", [Int64(channels), Int64(channels / group), 3, 3], floats: weights, raw: true),
                                           S.tensor("b", [Int64(channels)], floats: (0..<channels).map { Float($0) * 0.25 }, raw: false)],
                            inputs: [S.valueInfo("x", shape)], outputs: [S.valueInfo("y", [])], opset: 13)
        let imported = try ONNXImporter(model: ONNXProtoDecoder.decodeModel(bytes, path: "dw.onnx"), path: "dw.onnx").run()
        let executable = try compileGraph(imported.graph)
        try executable.loadPersistent(imported.weights, requireAll: true)
        return try XCTUnwrap(executable.run(["x": HostTensor(shape: shape.map(Int.init), floats: x)])["y"])
    }

    /// Values in [-1, 1) from a multiplicative pattern.
    func pattern(_ count: Int, _ multiplier: Int, _ modulus: Int) -> [Float] {
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = Float((i * multiplier) % modulus) / Float(modulus) * 2 - 1 }
        return values
    }

    func testDepthwiseMatchesFloat64Loop() throws {
        let (n, c, h, w) = (2, 5, 9, 8)
        let x = pattern(n * c * h * w, 37, 23)
        let k = pattern(c * 9, 13, 17)
        let attributes: [(String, S.AttributeValue)] = [("strides", .ints([2, 2])), ("pads", .ints([1, 0, 2, 1])), ("dilations", .ints([2, 2]))]
        let got = try run(group: c, channels: c, weights: k, x: x, shape: [2, 5, 9, 8], attributes: attributes)
        // Output size: (in + begin + end - (k - 1) * d - 1) / s + 1.
        let oh = (h + 1 + 2 - 5) / 2 + 1, ow = (w + 0 + 1 - 5) / 2 + 1
        XCTAssertEqual(got.shape, [n, c, oh, ow])
        var want: [Double] = []
        for b in 0..<n { for ch in 0..<c { for i in 0..<oh { for j in 0..<ow {
            var sum = Double(ch) * 0.25
            for r in 0..<3 { for s in 0..<3 {
                let y = i * 2 - 1 + r * 2, z = j * 2 - 0 + s * 2
                guard y >= 0, y < h, z >= 0, z < w else { continue }
                sum += Double(x[((b * c + ch) * h + y) * w + z]) * Double(k[(ch * 3 + r) * 3 + s])
            } }
            want.append(sum)
        } } } }
        for (a, b) in zip(got.doubles, want) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testDepthwiseMatchesGroupedPath() throws {
        // Channels 6 in groups of 3 (grouped conv2d path) vs groups of 1 (depthwise path), with
        // the weights of the grouped conv laid out block-diagonally in the depthwise one's place.
        let x = pattern(6 * 7 * 7, 29, 19)
        let k = pattern(6 * 9, 7, 11)
        let attributes: [(String, S.AttributeValue)] = [("strides", .ints([1, 2])), ("auto_pad", .string("SAME_UPPER"))]
        let depthwise = try run(group: 6, channels: 6, weights: k, x: x, shape: [1, 6, 7, 7], attributes: attributes)
        // The same conv written with group 3: each group has 2 input channels; zero the weight
        // from the other channel of the pair so only the depthwise term remains.
        var grouped = [Float](repeating: 0, count: 6 * 2 * 9)
        for o in 0..<6 { for t in 0..<9 { grouped[(o * 2 + o % 2) * 9 + t] = k[o * 9 + t] } }
        let reference = try run(group: 3, channels: 6, weights: grouped, x: x, shape: [1, 6, 7, 7], attributes: attributes)
        XCTAssertEqual(depthwise.shape, reference.shape)
        for (a, b) in zip(depthwise.doubles, reference.doubles) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }
}

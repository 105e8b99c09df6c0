import Foundation
import Sinter
import SinterModels
import XCTest

/// The §3 fast style-transfer networks: the transformer's and the arbitrary-style network's
/// param counts and shapes against seed-models §3, the output-size rule on odd sizes, the
/// conditional instance norm's gradient through the compiled C in f64, seeded crops, and a few
/// training steps on random VGG-19 / 8 weights lowering the perceptual loss.
final class FastStyleTransferTests: XCTestCase {
    func paramSizes(_ graph: Graph) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: graph.params.compactMap { id in graph[id].sourceName.map { ($0, graph[id].type.count) } })
    }

    func outputShape(_ graph: Graph, _ name: String) -> [Int]? {
        graph.outputs.first { $0.name == name }.map { graph[$0.node].type.shape }
    }

    /// §3: the arbitrary-style network's transformer conv weights are 1,674,432, its bottleneck
    /// 76,900 and its 13 gamma/beta head pairs 278,558; Mixed_6e is 14x14x768 for a 256 style
    /// image; the output of a 341x256 content image is 344x256 (4*ceil(ceil(h/2)/2)).
    func testArbitraryStyleNetworkMatchesSection3() throws {
        let network = ArbitraryStyleNetwork()
        let graph = try network.graph(content: (341, 256), style: (256, 256))
        XCTAssertEqual(outputShape(graph, "stylized"), [1, 344, 256, 3])
        XCTAssertEqual(outputShape(graph, "embedding"), [1, 1, 1, 100])
        let sizes = paramSizes(graph)
        let transformerConvs = sizes.filter { $0.key.hasPrefix("transformer.") && $0.key.hasSuffix(".kernel") }
        XCTAssertEqual(transformerConvs.count, 16)
        XCTAssertEqual(transformerConvs.values.reduce(0, +), 1_674_432)
        XCTAssertEqual(sizes.filter { $0.key.hasPrefix("bottleneck.") }.values.reduce(0, +), 76_900)
        XCTAssertEqual(sizes.filter { $0.key.hasPrefix("betaHeads.") || $0.key.hasPrefix("gammaHeads.") }.values.reduce(0, +), 278_558)
        // The contract BNs are slim's: beta only (trainable), plus moving statistics (state).
        XCTAssertEqual(sizes["transformer.contractBN.0.beta"], 32)
        XCTAssertNil(sizes["transformer.contractBN.0.gamma"])
        XCTAssertEqual(sizes.keys.filter { $0.hasPrefix("transformer.") }.count, 16 + 3)
        // The Inception trunk: slim names, no conv bias, beta-only BN; 70 convs to Mixed_6e (5 stem, 7 per Mixed_5, 4 in Mixed_6a, 10 per Mixed_6b-e).
        let inception = sizes.keys.filter { $0.hasPrefix("InceptionV3.") }
        XCTAssertEqual(inception.filter { $0.hasSuffix(".weights") }.count, 70)
        XCTAssertEqual(sizes["InceptionV3.Mixed_5c.Branch_1.Conv_1_0c_5x5.weights"], 5 * 5 * 48 * 64)
        XCTAssertEqual(sizes["InceptionV3.Mixed_6e.Branch_2.Conv2d_0b_7x1.weights"], 7 * 1 * 192 * 192)
        XCTAssertFalse(inception.contains { $0.hasSuffix(".bias") || $0.hasSuffix(".gamma") })
        // §3 leaves the trunk's size "not computed"; counted separately from slim's layer table:
        // 8,947,040 conv weights + 9,408 betas (+ 18,816 moving statistics, not trainable).
        XCTAssertEqual(sizes.filter { $0.key.hasPrefix("InceptionV3.") }.values.reduce(0, +), 8_956_448)
        let persistent = graph.persistent.filter { graph[$0].sourceName?.hasPrefix("InceptionV3.") ?? false }
        XCTAssertEqual(persistent.map { graph[$0].type.count }.reduce(0, +), 8_975_264)

        let predictor = InceptionV3StylePredictor()
        let trunk = try traceForward(name: "inception", models: [predictor]) { b in [("mixed_6e", predictor(b.input("x", [1, 256, 256, 3])))] }
        XCTAssertEqual(outputShape(trunk, "mixed_6e"), [1, 14, 14, 768])
    }

    /// The trainable N-style transformer: the same 1,674,432 conv weights, and 16 CINs holding
    /// (N, C) gamma and beta each (3 contract + the 13 of §3).
    func testConditionalTransformerParams() throws {
        let model = FastStyleTraining(styles: 3)
        let sizes = paramSizes(try model.stylizeGraph(height: 32, width: 32))
        XCTAssertEqual(sizes.filter { $0.key.hasSuffix(".kernel") }.values.reduce(0, +), 1_674_432)
        let norms = sizes.filter { $0.key.hasPrefix("norms.") }
        XCTAssertEqual(norms.count, 32)
        XCTAssertEqual(norms.values.reduce(0, +), 2 * 3 * (32 + 64 + 128 + FastStyleTransformer.styleNormChannels.reduce(0, +)))
        XCTAssertEqual(sizes.count, 16 + 32)
        // The §3 form takes gamma/beta from a predictor, not style weights: a traced error, no crash.
        let arbitrary = FastStyleTransformer(.arbitrary)
        XCTAssertThrowsError(try traceForward(name: "misuse", models: [arbitrary]) { b in
            [("y", arbitrary(b.input("x", [1, 16, 16, 3]), styleWeights: b.input("w", [1, 1])))]
        }) { XCTAssert("\($0)".contains("takes gammaBeta"), "\($0)") }
    }

    /// 4*ceil(ceil(n/2)/2) for sides that are not multiples of 4, down to the smallest (5);
    /// 4 is refused with a message naming the minimum.
    func testOutputSizeRuleOnOddSizes() throws {
        let model = FastStyleTraining(styles: 1, widthDivisor: 8)
        for (h, w, expected) in [(5, 7, (8, 8)), (29, 37, (32, 40)), (341, 30, (344, 32)), (64, 66, (64, 68))] {
            XCTAssertEqual(outputShape(try model.stylizeGraph(height: h, width: w), "stylized"), [1, expected.0, expected.1, 3], "\(h)x\(w)")
            XCTAssertEqual(FastStyleTransformer.outputSide(h), expected.0)
        }
        XCTAssertThrowsError(try model.stylizeGraph(height: 4, width: 16)) { error in
            XCTAssert("\(error)".contains("at least 5"), "\(error)")
        }
    }

    /// CIN as composed here (instance norm, gamma/beta picked by a matmul of the style weights)
    /// against central differences in f64 through the compiled C: with respect to the input and
    /// to the stacked per-style gamma, with mixed (not one-hot) style weights.
    func testConditionalInstanceNormGradientInF64() throws {
        let program = try VJPProgram(name: "cin_f64", dtype: .f64, wrt: ["x", "gamma"]) { builder in
            let x = builder.input("x", [2, 3, 4, 5])
            let weights = builder.input("w", [2, 3])
            let gamma = builder.input("gamma", [3, 5]), beta = builder.input("beta", [3, 5])
            let y = instanceNorm(x, gamma: matmul(weights, gamma), beta: matmul(weights, beta))
            return GoldenOpGraph(outputs: [("y", (y * y.sigmoid()).sum())])
        }
        var random = SplitMix(seed: 5)
        var feeds: [String: HostTensor] = ["dy": HostTensor(shape: [], doubles: [1])]
        for (name, shape) in [("x", [2, 3, 4, 5]), ("gamma", [3, 5]), ("beta", [3, 5])] {
            feeds[name] = HostTensor(shape: shape, doubles: random.normals(shape.reduce(1, *)))
        }
        feeds["w"] = HostTensor(shape: [2, 3], doubles: [0.2, 0.5, 0.3, 1, 0, 0])
        for name in ["x", "gamma"] {
            if let message = try finiteDifferenceMismatch(program, feeds: feeds, wrt: name, probes: 20, step: 1e-5) { XCTFail("\(name): \(message)") }
        }
    }

    /// The whole conditional transformer (reflect pads, stride-2 VALID convs, CIN, nearest
    /// up-sampling, the residual sums, the sigmoid) against central differences in f64, with
    /// respect to the content, on a 9x7 image (odd sides: output 12x8) at width / 16.
    func testTransformerGradientInF64OnAnOddSizedImage() throws {
        let transformer = FastStyleTransformer(.conditional(styles: 2), widthDivisor: 16)
        nameLayers(in: transformer)
        var shape: [Int] = []
        let program = try VJPProgram(name: "fast_style_f64", dtype: .f64, wrt: ["x"]) { builder in
            let y = transformer(builder.input("x", [1, 9, 7, 3]), styleWeights: builder.input("w", [1, 2]))
            shape = y.shape
            let names = builder.graph.params.compactMap { builder.graph[$0].sourceName }
            return GoldenOpGraph(outputs: [("y", (y * y).sum())], persistent: Dictionary(uniqueKeysWithValues: names.map { ($0, $0) }))
        }
        XCTAssertEqual(shape, [1, 12, 8, 3])
        var random = SplitMix(seed: 7)
        var feeds: [String: HostTensor] = ["dy": HostTensor(shape: [], doubles: [1]), "w": HostTensor(shape: [1, 2], doubles: [0.3, 0.7])]
        for slot in program.executable.program.persistent {
            feeds[slot.name] = HostTensor(shape: slot.type.shape, doubles: random.normals(slot.type.count).map { $0 * 0.5 + (slot.name.hasSuffix("gamma") ? 1 : 0) })
        }
        feeds["x"] = HostTensor(shape: [1, 9, 7, 3], doubles: (0..<189).map { _ in random.nextUniform() })
        if let message = try finiteDifferenceMismatch(program, feeds: feeds, wrt: "x", probes: 24, step: 1e-5) { XCTFail(message) }
    }

    /// The same seed gives the same crops; another seed other crops; a photo smaller than the
    /// crop is refused by name.
    func testCropsAreSeededAndSized() throws {
        let folder = try Fixtures.directory("Tests/SinterTests/Data").path
        let a = try StyleCrops.load(directory: folder, crop: 24, cropsPerImage: 3, seed: 1)
        let b = try StyleCrops.load(directory: folder, crop: 24, cropsPerImage: 3, seed: 1)
        let c = try StyleCrops.load(directory: folder, crop: 24, cropsPerImage: 3, seed: 2)
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertNotEqual(a.pixels, c.pixels)
        XCTAssertEqual(a.imageSize, 24 * 24 * 3)
        XCTAssert(a.pixels.allSatisfy { (0...1).contains($0) })
        XCTAssertThrowsError(try StyleCrops.load(directory: folder, crop: 68, cropsPerImage: 1, seed: 1)) { error in
            XCTAssert("\(error)".contains("shorter side must be at least the crop"), "\(error)")
        }
    }

    /// Ten Adam steps on one batch of two 32x32 crops, two styles, VGG-19 / 8 with random
    /// weights: the perceptual loss falls, only the transformer moves, and the output stays in
    /// (0, 1) at the crop's size.
    func testAFewTrainingStepsLowerTheLoss() throws {
        var settings = FastStyleSettings()
        settings.learningRate = 1e-2
        let model = FastStyleTraining(styles: 2, widthDivisor: 8, settings: settings)
        let vgg = try GatysStyleTransferTests.randomWeights()
        let styles = try ["style-small.png", "content-small.png"].map {
            try StyleImages.load(path: try Fixtures.file("Tests/SinterTests/Data/\($0)").path, longSide: 32)
        }
        let setup = try FastStyleSetup(model: model, vggWeights: vgg, styles: styles)
        XCTAssertEqual(setup.targets["style_targets.block1_conv2"]?.shape, [2, 8, 8])
        let crops = try StyleCrops.load(directory: try Fixtures.directory("Tests/SinterTests/Data").path, crop: 32, cropsPerImage: 1, seed: 0, limit: 1)
        let train = setup.replicated(crops)
        XCTAssertEqual(train.count, 2 * crops.count)
        let step = try compileGraph(try model.stepGraph(batch: 2, crop: 32))
        try step.initializeParameters(seed: 1)
        try FastStyleSetup.loadVGG(vgg, into: step, path: nil)
        let frozen = try step.persistent("block1_conv1.kernel")
        let feeds = setup.feeds(train, [0, crops.count])
        XCTAssertEqual(feeds["style_weights"]?.floats, [1, 0, 0, 1])
        var losses: [Float] = []
        var last: [String: HostTensor] = [:]
        for _ in 0..<10 {
            last = try step.run(feeds)
            losses.append(try XCTUnwrap(last["loss"]?.floats.first))
        }
        XCTAssert(losses.allSatisfy(\.isFinite), "\(losses)")
        XCTAssertLessThan(losses.last!, losses.first! * 0.9, "\(losses)")
        XCTAssertEqual(try step.persistent("block1_conv1.kernel"), frozen)
        XCTAssertEqual(last["stylized"]?.shape, [2, 32, 32, 3])
        XCTAssert(last["stylized"]!.floats.allSatisfy { $0 > 0 && $0 < 1 })
        // Weights that do not fit are refused by name.
        var wrong = vgg
        wrong["block2_conv1.kernel"] = HostTensor(shape: [3, 3, 8, 8], floats: Array(repeating: 0, count: 576))
        wrong.removeValue(forKey: "block1_conv2.bias")
        XCTAssertThrowsError(try FastStyleSetup.loadVGG(wrong, into: step, path: "w.safetensors")) { error in
            let text = "\(error)"
            XCTAssert(text.contains("w.safetensors") && text.contains("block1_conv2.bias") && text.contains("block2_conv1.kernel is [3,3,8,8], expected [3,3,8,16]"), text)
        }
    }
}

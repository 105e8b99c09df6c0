import Sinter

/// The settings of seed-models §2's optimisation (run 2, with total variation, is the default).
public struct GatysSettings: Sendable, Equatable {
    public var styleWeight = 2e-2
    public var contentWeight = 1e-2
    /// `var_weight`: 2 in the notebook's total-variation run, 0 in its first run.
    public var totalVariationWeight = 2.0
    /// Adam's initial learning rate; ExponentialDecay(lr, decay_steps 100, decay_rate 0.5).
    public var learningRate = 20.0
    public var decaySteps = 100.0
    public var decayRate = 0.5

    public static let styleLayers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
    public static let contentLayer = "block5_conv2"

    public init() {}

    /// Adam (other settings Keras's defaults) with the schedule, clipping the image to [0, 255]
    /// after every update.
    public var optimizer: Adam {
        Adam(learningRate: learningRate, decay: ExponentialDecay(decayRate: decayRate, decaySteps: decaySteps), clip: 0...255)
    }
}

/// Gatys et al. neural style transfer as the notebook does it (seed-models §2), in two graphs:
///
/// * `targetsGraph`: VGG-19 on the style image (its own size) and the content image: outputs
///   `style_target.<layer>` = gram(F_layer(style)) for the five style layers and `content_target` =
///   F_block5_conv2(content). Run once.
/// * `stepGraph`: the param `image` (1,h,w,3) in 0..255 (the only trained tensor; the VGG weights
///   are frozen), the targets as inputs, the loss, and one Adam step on `image` clipped to [0, 255].
///   Outputs `loss`, `style_loss` = sum_l mean((gram_l - target_l)^2), `content_loss` =
///   0.5 sum((F - target)^2), `tv` = tf.image.total_variation(image), and `gram.<layer>`;
///   loss = style_weight*style_loss/5 + content_weight*content_loss + tv_weight*tv.
///
/// Gram matrices divide by H*W of their layer; preprocessing (RGB -> BGR, minus the means) is in
/// both graphs. `widthDivisor` shrinks VGG for the golden `-w8` cases and small tests.
public struct GatysStyleTransfer {
    public let vgg: VGG19
    public let settings: GatysSettings

    public init(widthDivisor: Int = 1, settings: GatysSettings = GatysSettings()) {
        vgg = VGG19(widthDivisor: widthDivisor)
        self.settings = settings
    }

    /// The style and content targets for a style image of `style` (h, w) and a content image of
    /// `content` (h, w); inputs `style` and `content`, (1, h, w, 3) RGB in 0..255.
    public func targetsGraph(content: (Int, Int), style: (Int, Int)) throws -> Graph {
        try checkSize(content, "content")
        try checkSize(style, "style")
        return try traceForward(name: "gatys_targets", models: [vgg]) { builder in
            let styleImage = builder.input("style", [1, style.0, style.1, 3])
            let contentImage = builder.input("content", [1, content.0, content.1, 3])
            let styleFeatures = vgg.features(caffePreprocess(styleImage), outputs: GatysSettings.styleLayers)
            let contentFeatures = vgg.features(caffePreprocess(contentImage), outputs: [GatysSettings.contentLayer])
            var outputs = GatysSettings.styleLayers.compactMap { layer in styleFeatures[layer].map { ("style_target.\(layer)", gram($0)) } }
            if let target = contentFeatures[GatysSettings.contentLayer] { outputs.append(("content_target", target)) }
            return outputs
        }
    }

    /// One optimisation step on the image (content size `size`), or with `optimizer: false` only the
    /// loss (for timing the forward pass). `gradientOutputs` adds `grad.image`.
    public func stepGraph(size: (Int, Int), optimizer: Bool = true, gradientOutputs: Bool = false) throws -> Graph {
        try checkSize(size, "content")
        var options = StepOptions()
        options.trains = { $0 == "image" }
        options.gradientOutputs = gradientOutputs
        options.training = false
        return try traceStep(name: optimizer ? "gatys_step" : "gatys_loss", models: [vgg],
                             optimizer: optimizer ? settings.optimizer : nil, options: options) { builder in
            let location = SourceLocation(file: #fileID, line: #line)
            let image = builder.persistent("image", [1, size.0, size.1, 3], initializer: "zeros", trainable: true, at: location)
            let terms = lossTerms(image)
            return StepOutputs(loss: terms.loss, [("style_loss", terms.style), ("content_loss", terms.content), ("tv", terms.tv)] + terms.grams)
        }
    }

    /// The loss of §2 for `image` (1, h, w, 3) RGB in 0..255, with the targets as graph inputs
    /// `style_target.<layer>` (1, C, C) and `content_target` (the block5_conv2 features' shape).
    public func lossTerms(_ image: Tensor) -> (loss: Tensor, style: Tensor, content: Tensor, tv: Tensor, grams: [(String, Tensor)]) {
        let builder = image.builder
        let features = vgg.features(caffePreprocess(image), outputs: GatysSettings.styleLayers + [GatysSettings.contentLayer])
        var grams: [(String, Tensor)] = []
        var styleLoss = builder.constant(0)
        for layer in GatysSettings.styleLayers {
            guard let feature = features[layer] else { continue }
            let g = gram(feature)
            let target = builder.input("style_target.\(layer)", g.shape)
            styleLoss = styleLoss + (g - target).square().mean()
            grams.append(("gram.\(layer)", g))
        }
        var contentLoss = builder.constant(0)
        if let feature = features[GatysSettings.contentLayer] {
            let target = builder.input("content_target", feature.shape)
            contentLoss = 0.5 * (feature - target).square().sum()
        }
        let tv = totalVariation(image).sum()
        let loss = settings.styleWeight * styleLoss / Double(GatysSettings.styleLayers.count)
            + settings.contentWeight * contentLoss + settings.totalVariationWeight * tv
        return (loss, styleLoss, contentLoss, tv, grams)
    }

    /// VGG-19 pools four times before block5: a side under 16 leaves no block5 features.
    func checkSize(_ size: (Int, Int), _ what: String) throws {
        guard size.0 >= 16, size.1 >= 16 else {
            throw SinterError.shape(op: "gatys", message: "the \(what) image is \(size.0)x\(size.1); VGG-19 halves it four times before block5_conv1, so both sides must be at least 16",
                                    location: SourceLocation(file: #fileID, line: #line))
        }
    }
}

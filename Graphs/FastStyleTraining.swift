import Sinter

/// The perceptual loss of Johnson et al. (2016) for training a `FastStyleTransformer`, on VGG-19,
/// as his released code (fast-neural-style `train.lua`) defaults it, because its weights were
/// tuned for exactly this loss (Docs/fast-style-transfer.md compares it with §2):
/// * style at relu1_2, relu2_2, relu3_3, relu4_3, which VGG-19 has under the Keras names
///   block1_conv2, block2_conv2, block3_conv3, block4_conv3: Gram / (C*H*W) and the mean over
///   (B, C, C) of the squared difference (MSE), i.e. mean((G - G_style)^2) / C^2 with §2's
///   Gram / (H*W). Summed over the layers.
/// * content at relu3_3 (block3_conv3): the mean over (B, H, W, C) of (F - F_content)^2.
/// * total variation: tf.image.total_variation of the output in 0..255 (§2's form), mean over
///   the batch.
public struct FastStyleSettings: Sendable, Equatable {
    /// Johnson's defaults (fast-neural-style): content 1, style 5, TV 1e-6; Adam lr 1e-3.
    public var contentWeight = 1.0
    public var styleWeight = 5.0
    public var totalVariationWeight = 1e-6
    public var learningRate = 1e-3

    public static let styleLayers = ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3"]
    public static let contentLayer = "block3_conv3"

    public init() {}
}

/// The training graphs: VGG-19 (frozen, Keras names) judging a `.conditional(styles:)`
/// transformer's output.
///
/// * `targetsGraph(style:)`: input `style` (1, h, w, 3) in 0..255 at its own size, outputs
///   `style_target.<layer>` = gram (1, C, C). Run once per style image.
/// * `stepGraph(batch:crop:)`: inputs `content` (B, S, S, 3) in [0, 1], `style_weights` (B, N)
///   (one-hot), `style_targets.<layer>` (N, C, C) (every style's Gram targets, stacked); outputs
///   `loss`, `style_loss`, `content_loss`, `tv`, `stylized` (B, S, S, 3). With an optimizer, one
///   Adam step on the transformer's params only.
public struct FastStyleTraining {
    public let transformer: FastStyleTransformer
    public let vgg: VGG19
    public let styles: Int
    public let settings: FastStyleSettings

    public init(styles: Int, widthDivisor: Int = 1, settings: FastStyleSettings = FastStyleSettings()) {
        self.styles = styles
        transformer = FastStyleTransformer(.conditional(styles: styles), widthDivisor: widthDivisor)
        vgg = VGG19(widthDivisor: widthDivisor)
        self.settings = settings
    }

    /// Whether a param belongs to VGG-19 (frozen, loaded from the weights file).
    public static func isVGGParam(_ name: String) -> Bool {
        VGG19.layerNames.contains(String(name.prefix { $0 != "." }))
    }

    public func targetsGraph(style: (Int, Int)) throws -> Graph {
        guard style.0 >= 16, style.1 >= 16 else {
            throw SinterError.shape(op: "fast_style", message: "the style image is \(style.0)x\(style.1); VGG-19 halves it three times before block4_conv3 and sides under 16 leave it almost nothing, so both must be at least 16",
                                    location: SourceLocation(file: #fileID, line: #line))
        }
        return try traceForward(name: "fast_style_targets", models: [vgg]) { builder in
            let image = builder.input("style", [1, style.0, style.1, 3])
            let features = vgg.features(caffePreprocess(image), outputs: FastStyleSettings.styleLayers)
            return FastStyleSettings.styleLayers.compactMap { layer in features[layer].map { ("style_target.\(layer)", gram($0)) } }
        }
    }

    public func stepGraph(batch: Int, crop: Int, optimizer: Bool = true) throws -> Graph {
        guard crop >= 16, crop % 4 == 0 else {
            throw SinterError.shape(op: "fast_style", message: "training crops are \(crop)x\(crop); they must be a multiple of 4 (so the transformer's output has the crop's size) and at least 16 (VGG-19 halves it three times before block4_conv3)",
                                    location: SourceLocation(file: #fileID, line: #line))
        }
        var options = StepOptions()
        options.trains = { !Self.isVGGParam($0) }
        return try traceStep(name: optimizer ? "fast_style_step" : "fast_style_loss", models: [transformer, vgg],
                             optimizer: optimizer ? Adam(learningRate: settings.learningRate) : nil, options: options) { builder in
            let content = builder.input("content", [batch, crop, crop, 3])
            let styleWeights = builder.input("style_weights", [batch, styles])
            let stylized = transformer(content, styleWeights: styleWeights)
            let terms = lossTerms(stylized: stylized, content: content, styleWeights: styleWeights)
            return StepOutputs(loss: terms.loss, [("style_loss", terms.style), ("content_loss", terms.content), ("tv", terms.tv),
                                                  ("stylized", stylized)])
        }
    }

    /// The loss of the type's comment; `stylized` and `content` in [0, 1].
    func lossTerms(stylized: Tensor, content: Tensor, styleWeights: Tensor) -> (loss: Tensor, style: Tensor, content: Tensor, tv: Tensor) {
        let builder = stylized.builder
        let layers = FastStyleSettings.styleLayers + [FastStyleSettings.contentLayer]
        let features = vgg.features(caffePreprocess(stylized * 255), outputs: layers)
        let contentFeatures = vgg.features(caffePreprocess(content * 255), outputs: [FastStyleSettings.contentLayer])
        var styleLoss = builder.constant(0)
        for layer in FastStyleSettings.styleLayers {
            guard let feature = features[layer] else { continue }
            let g = gram(feature)
            let (b, c) = (g.shape[0], g.shape[1])
            // Each sample's target: its style's Gram matrix, picked by the one-hot weights.
            let targets = builder.input("style_targets.\(layer)", [styles, c, c])
            let target = matmul(styleWeights, targets.reshaped([styles, c * c])).reshaped([b, c, c])
            styleLoss = styleLoss + (g - target).square().mean() / Double(c * c)
        }
        var contentLoss = builder.constant(0)
        if let feature = features[FastStyleSettings.contentLayer], let target = contentFeatures[FastStyleSettings.contentLayer] {
            contentLoss = (feature - target).square().mean()
        }
        let tv = totalVariation(stylized * 255).mean()
        let loss = settings.styleWeight * styleLoss + settings.contentWeight * contentLoss + settings.totalVariationWeight * tv
        return (loss, styleLoss, contentLoss, tv)
    }

    /// The stylizing graph for one (1, h, w, 3) [0, 1] image: output `stylized`, (1,
    /// 4*ceil(ceil(h/2)/2), 4*ceil(ceil(w/2)/2), 3). Input `style_weights` (1, N).
    public func stylizeGraph(height: Int, width: Int) throws -> Graph {
        try traceForward(name: "fast_stylize", models: [transformer]) { builder in
            let content = builder.input("content", [1, height, width, 3])
            return [("stylized", transformer(content, styleWeights: builder.input("style_weights", [1, styles])))]
        }
    }
}

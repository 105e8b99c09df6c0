import Sinter

/// The arbitrary-style network of seed-models §3 (Ghiasi et al. 2017, TF-Hub
/// `magenta/arbitrary-image-stylization-v1-256/2`, built with `is_training=False`):
///
/// * the style predictor: slim Inception-v3 to Mixed_6e on the raw [0, 1] style image, a spatial
///   mean (B, 1, 1, 768), the bottleneck 1x1 conv 768 -> 100 (bias, linear): the style embedding;
/// * for each of the transformer's 13 style-normalised layers, two 1x1 convs 100 -> C (bias,
///   linear) giving beta and gamma directly (no +1 on gamma);
/// * the `FastStyleTransformer` in its `.arbitrary` form on the [0, 1] content image.
///
/// Params: transformer conv weights 1,674,432, bottleneck 76,900, gamma/beta heads 278,558 (§3;
/// checked by `ArbitraryStyleNetworkTests`). The pretrained variables are not obtainable here:
/// the only packaged copy is an int8 ONNX conversion (issue 8), so this graph runs on initialised
/// weights only.
public struct ArbitraryStyleNetwork: Module {
    public let predictor = InceptionV3StylePredictor()
    public let bottleneck = Conv2D(100, kernel: 1, padding: .valid)
    public let betaHeads: [Conv2D]
    public let gammaHeads: [Conv2D]
    public let transformer = FastStyleTransformer(.arbitrary)

    public init() {
        betaHeads = FastStyleTransformer.styleNormChannels.map { Conv2D($0, kernel: 1, padding: .valid) }
        gammaHeads = FastStyleTransformer.styleNormChannels.map { Conv2D($0, kernel: 1, padding: .valid) }
    }

    /// The style embedding (B, 1, 1, 100) of (B, h, w, 3) style images in [0, 1].
    public func styleEmbedding(_ style: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let features = predictor(style, file: file, line: line)
        return bottleneck(features.mean(axes: [1, 2], keepDims: true, file: file, line: line), file: file, line: line)
    }

    /// gamma and beta (B, C) for the 13 style-normalised layers, from an embedding (B, 1, 1, 100).
    public func normParameters(_ embedding: Tensor, file: String = #fileID, line: Int = #line) -> [(gamma: Tensor, beta: Tensor)] {
        let batch = embedding.shape.first ?? 1
        return zip(gammaHeads, betaHeads).enumerated().map { i, heads in
            let channels = FastStyleTransformer.styleNormChannels[i]
            return (heads.0(embedding, file: file, line: line).reshaped([batch, channels], file: file, line: line),
                    heads.1(embedding, file: file, line: line).reshaped([batch, channels], file: file, line: line))
        }
    }

    /// The stylized content, (B, 4*ceil(ceil(h/2)/2), 4*ceil(ceil(w/2)/2), 3) in (0, 1).
    public func callAsFunction(content: Tensor, style: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        transformer(content, gammaBeta: normParameters(styleEmbedding(style, file: file, line: line), file: file, line: line),
                    file: file, line: line)
    }

    /// The forward graph: inputs `content` (B, h, w, 3) and `style` (B, hs, ws, 3), both [0, 1];
    /// outputs `stylized` and `embedding`.
    public func graph(batch: Int = 1, content: (Int, Int), style: (Int, Int) = (256, 256)) throws -> Graph {
        try traceForward(name: "arbitrary_style", models: [self]) { builder in
            let contentImage = builder.input("content", [batch, content.0, content.1, 3])
            let styleImage = builder.input("style", [batch, style.0, style.1, 3])
            let embedding = styleEmbedding(styleImage)
            return [("stylized", transformer(contentImage, gammaBeta: normParameters(embedding))), ("embedding", embedding)]
        }
    }
}

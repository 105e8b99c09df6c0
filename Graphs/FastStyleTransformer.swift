import Sinter

/// The Fast-NST convolution (seed-models §3): reflect-pad k//2 on H and W, then a VALID conv
/// without bias. With stride 2 and k = 3 the output side is ceil(n/2), which is where the
/// transformer's 4*ceil(ceil(h/2)/2) output rule comes from.
public final class ReflectConv: Layer, TensorLayer {
    public let filters: Int
    public let kernel: Int
    public let stride: Int

    public init(_ filters: Int, kernel: Int, stride: Int = 1, name: String? = nil) {
        self.filters = filters
        self.kernel = kernel
        self.stride = stride
        super.init(name: name)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        let weights = parameter(x.builder, "kernel", [kernel, kernel, x.shape.last ?? 1, filters], initializer: "glorot_uniform", at: location)
        let p = kernel / 2
        let padded = x.padded([(0, 0), (p, p), (p, p), (0, 0)], mode: .reflect, file: file, line: line)
        return conv2d(padded, weights, strides: (stride, stride), padding: .valid, file: file, line: line)
    }
}

/// Conditional instance norm with learned per-style scale and shift (Dumoulin et al.; the
/// trainable form of §3's CIN): gamma and beta are (styles, C); `styleWeights` (B, styles) picks
/// each sample's row by a one-hot matmul (or mixes styles with any convex weights), then
/// `instanceNorm` (per-sample, per-channel statistics over H, W; epsilon 1e-5) applies them.
public final class ConditionalInstanceNorm: Layer {
    public let styles: Int

    public init(styles: Int, name: String? = nil) {
        self.styles = styles
        super.init(name: name)
    }

    public func callAsFunction(_ x: Tensor, styleWeights: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        let channels = x.shape.last ?? 1
        let gamma = parameter(x.builder, "gamma", [styles, channels], initializer: "ones", at: location)
        let beta = parameter(x.builder, "beta", [styles, channels], initializer: "zeros", at: location)
        return instanceNorm(x, gamma: matmul(styleWeights, gamma, file: file, line: line),
                            beta: matmul(styleWeights, beta, file: file, line: line), file: file, line: line)
    }
}

/// The §3 transformer (Ghiasi et al. 2017, magenta `nza_model.transform`): contract 9x9/1 32 ->
/// 3x3/2 64 -> 3x3/2 128, five residual blocks at 128, expand by nearest x2 + 3x3 conv to 64 and
/// 32, then a 9x9 conv to 3 and a sigmoid. Every conv is a `ReflectConv`.
///
/// Two normalisation schemes, one architecture:
/// * `.arbitrary` is §3 to the letter: slim BN (beta only, epsilon 1e-3, inference mode) + ReLU
///   after each contract conv, and the 13 style-normalised layers (10 in the residual blocks, 3 in
///   the expansion) take gamma/beta from the style predictor (`ArbitraryStyleNetwork`).
/// * `.conditional(styles: N)` is the trainable N-style network (Dumoulin et al., magenta's
///   image_stylization): the contract norms are CIN too (inference-mode BN would never learn
///   statistics, and batch-statistics BN would mix the styles of a batch), so all 16 norms hold
///   per-style gamma/beta, chosen by the `style_weights` input (B, N).
///
/// Input (B, h, w, 3) in [0, 1]; output (B, 4*ceil(ceil(h/2)/2), 4*ceil(ceil(w/2)/2), 3) in
/// (0, 1). Sides must be at least `minimumSide` (reflect padding needs a pad below the side at
/// the quarter-size residual blocks).
public struct FastStyleTransformer: Module {
    public enum Normalization: Sendable, Equatable {
        case arbitrary
        case conditional(styles: Int)
    }

    public let normalization: Normalization
    public let conv1: ReflectConv, conv2: ReflectConv, conv3: ReflectConv
    public let residuals: [ResidualBlock]
    public let upconv1: ReflectConv, upconv2: ReflectConv, outconv: ReflectConv
    /// `.arbitrary`: the 3 contract BNs. Empty for `.conditional`.
    public let contractBN: [BatchNorm]
    /// `.conditional`: 16 CINs (3 contract, 10 residual, 3 expand). Empty for `.arbitrary`.
    public let norms: [ConditionalInstanceNorm]

    /// Channels of the 13 style-normalised layers, in network order (the γ/β heads' sizes).
    public static let styleNormChannels = Array(repeating: 128, count: 10) + [64, 32, 3]
    public static let residualBlocks = 5
    /// The smallest side: 5 -> 3 -> 2 at the residual blocks, whose reflect pad of 1 needs 2.
    public static let minimumSide = 5

    /// The output side for an input side: 4*ceil(ceil(n/2)/2) (seed-models §3).
    public static func outputSide(_ n: Int) -> Int { 4 * (((n + 1) / 2 + 1) / 2) }

    public init(_ normalization: Normalization, widthDivisor: Int = 1) {
        self.normalization = normalization
        let (w32, w64, w128) = (scaled(32, widthDivisor), scaled(64, widthDivisor), scaled(128, widthDivisor))
        conv1 = ReflectConv(w32, kernel: 9)
        conv2 = ReflectConv(w64, kernel: 3, stride: 2)
        conv3 = ReflectConv(w128, kernel: 3, stride: 2)
        residuals = (0..<Self.residualBlocks).map { _ in ResidualBlock(conv1: ReflectConv(w128, kernel: 3), conv2: ReflectConv(w128, kernel: 3)) }
        upconv1 = ReflectConv(w64, kernel: 3)
        upconv2 = ReflectConv(w32, kernel: 3)
        outconv = ReflectConv(3, kernel: 9)
        switch normalization {
        case .arbitrary:
            contractBN = (0..<3).map { _ in BatchNorm(epsilon: 1e-3, scale: false, mode: .inference) }
            norms = []
        case let .conditional(styles):
            contractBN = []
            norms = (0..<16).map { _ in ConditionalInstanceNorm(styles: styles) }
        }
    }

    /// `.conditional`: `styleWeights` (B, N), one-hot for one style per sample.
    public func callAsFunction(_ content: Tensor, styleWeights: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        guard norms.count == 16 else { return misuse(content, "the .arbitrary transformer takes gammaBeta, not styleWeights", file, line) }
        return forward(content, file: file, line: line,
                contract: { i, x in norms[i](x, styleWeights: styleWeights, file: file, line: line) },
                styled: { i, x in norms[3 + i](x, styleWeights: styleWeights, file: file, line: line) })
    }

    /// `.arbitrary`: gamma/beta (B, C) for each of the 13 style-normalised layers.
    public func callAsFunction(_ content: Tensor, gammaBeta: [(gamma: Tensor, beta: Tensor)], file: String = #fileID, line: Int = #line) -> Tensor {
        guard contractBN.count == 3, gammaBeta.count == Self.styleNormChannels.count else {
            return misuse(content, "the .arbitrary transformer takes 13 gamma/beta pairs (got \(gammaBeta.count)); a .conditional one takes styleWeights", file, line)
        }
        return forward(content, file: file, line: line,
                contract: { i, x in contractBN[i](x, file: file, line: line) },
                styled: { i, x in instanceNorm(x, gamma: gammaBeta[i].gamma, beta: gammaBeta[i].beta, file: file, line: line) })
    }

    /// Records a shape error (which fails the trace) and returns `x` unchanged.
    private func misuse(_ x: Tensor, _ message: String, _ file: String, _ line: Int) -> Tensor {
        x.builder.record(.shape(op: "fast_style_transformer", message: message, location: SourceLocation(file: file, line: line)))
        return x
    }

    private func forward(_ x: Tensor, file: String, line: Int,
                         contract: (Int, Tensor) -> Tensor, styled: (Int, Tensor) -> Tensor) -> Tensor {
        guard x.rank == 4, x.shape[3] == 3, x.shape[1] >= Self.minimumSide, x.shape[2] >= Self.minimumSide else {
            return misuse(x, "content \(x.type) must be (B, h, w, 3) with h and w at least \(Self.minimumSide) (reflect padding at the quarter-size residual blocks)", file, line)
        }
        var h = contract(0, conv1(x, file: file, line: line)).relu(file: file, line: line)
        h = contract(1, conv2(h, file: file, line: line)).relu(file: file, line: line)
        h = contract(2, conv3(h, file: file, line: line)).relu(file: file, line: line)
        for (block, residual) in residuals.enumerated() {
            let h1 = styled(2 * block, residual.conv1(h, file: file, line: line)).relu(file: file, line: line)
            h = h + styled(2 * block + 1, residual.conv2(h1, file: file, line: line))
        }
        h = styled(10, upconv1(upSample(h, 2, file: file, line: line), file: file, line: line)).relu(file: file, line: line)
        h = styled(11, upconv2(upSample(h, 2, file: file, line: line), file: file, line: line)).relu(file: file, line: line)
        return styled(12, outconv(h, file: file, line: line)).sigmoid(file: file, line: line)
    }
}

/// One residual block: out = x + CIN(conv2(ReLU(CIN(conv1(x))))), no activation after the sum.
public struct ResidualBlock: Module {
    public let conv1: ReflectConv
    public let conv2: ReflectConv
}

import Sinter

/// A layer written outside the library: `y = relu(x + gate * conv2(conv1(x)))`, the two
/// convolutions keeping the shape of `x`.
///
/// Subclassing `Layer` is all it takes. The model names it by its property path
/// (`encoderBlock`), so its convolutions' weights are `encoderBlock.conv1.kernel`, ... and the
/// parameter it creates itself with `parameter(...)` is `encoderBlock.gate`; checkpoints, dumps
/// and error messages use those names. Parameters are created at the first call, when the input
/// is known, as Keras's `build` does.
///
/// `gate` (one number per channel) starts at zero, so the block starts as the identity and learns
/// how much of its branch to let through (ReZero, Bachlechner et al. 2020).
final class ResidualBlock: Layer, TensorLayer {
    let conv1: Conv2D
    let conv2: Conv2D

    init(channels: Int, name: String? = nil) {
        conv1 = Conv2D(channels, kernel: 3, activation: .relu)
        conv2 = Conv2D(channels, kernel: 3)
        super.init(name: name)
    }

    func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let channels = x.shape.last ?? 1
        let gate = parameter(x.builder, "gate", [channels], initializer: "zeros", at: SourceLocation(file: file, line: line))
        return relu(x + gate * conv2(conv1(x)))
    }
}

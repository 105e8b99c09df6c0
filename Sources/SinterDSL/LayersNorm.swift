import SinterIR

/// Keras BatchNormalization over the last axis. Training mode: batch mean and biased variance over
/// every other axis, moving statistics updated as `m*momentum + batch*(1-momentum)`. Inference
/// mode: the moving statistics. Which mode runs is the builder's `training` flag unless `mode`
/// fixes it.
public final class BatchNorm: Layer, TensorLayer {
    public enum Mode: Sendable { case auto, training, inference }

    public let momentum: Double
    public let epsilon: Double
    public let center: Bool
    public let scale: Bool
    public let mode: Mode

    public init(momentum: Double = 0.99, epsilon: Double = 1e-3, center: Bool = true, scale: Bool = true,
                mode: Mode = .auto, name: String? = nil) {
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.mode = mode
        super.init(name: name)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        let builder = x.builder
        let channels = x.shape.last ?? 1
        let training = mode == .auto ? builder.training : mode == .training
        // Created in Keras order so dumps list them the same way.
        let gamma = scale ? parameter(builder, "gamma", [channels], initializer: "ones", at: location) : nil
        let beta = center ? parameter(builder, "beta", [channels], initializer: "zeros", at: location) : nil
        let movingMean = parameter(builder, "moving_mean", [channels], initializer: "zeros", trainable: false, at: location)
        let movingVariance = parameter(builder, "moving_variance", [channels], initializer: "ones", trainable: false, at: location)
        let mean: Tensor, variance: Tensor
        if training {
            let axes = Array(0..<(x.rank - 1))
            mean = x.mean(axes: axes, file: file, line: line)
            variance = subtract(x, mean, file: file, line: line).square(file: file, line: line).mean(axes: axes, file: file, line: line)
            builder.located(file, line) {
                builder.updateState("\(path).moving_mean", movingMean * momentum + mean * (1 - momentum))
                builder.updateState("\(path).moving_variance", movingVariance * momentum + variance * (1 - momentum))
            }
        } else {
            mean = movingMean
            variance = movingVariance
        }
        var y = builder.located(file, line) { subtract(x, mean, file: file, line: line) * (variance + epsilon).rsqrt(file: file, line: line) }
        if let gamma { y = multiply(y, gamma, file: file, line: line) }
        if let beta { y = add(y, beta, file: file, line: line) }
        return y
    }
}

/// Instance normalisation with per-sample scale and shift (conditional instance norm, Fast-NST):
/// y = gamma[b,c] * (x - mean_hw) / sqrt(var_hw + epsilon) + beta[b,c], gamma and beta (B, C).
public func instanceNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, epsilon: Double = 1e-5,
                         file: String = #fileID, line: Int = #line) -> Tensor {
    let (b, c) = (x.shape[0], x.shape[3])
    let mean = x.mean(axes: [1, 2], keepDims: true, file: file, line: line)
    let centered = subtract(x, mean, file: file, line: line)
    let variance = centered.square(file: file, line: line).mean(axes: [1, 2], keepDims: true, file: file, line: line)
    let normalized = x.builder.located(file, line) { centered * (variance + epsilon).rsqrt(file: file, line: line) }
    return add(multiply(normalized, gamma.reshaped([b, 1, 1, c], file: file, line: line), file: file, line: line),
               beta.reshaped([b, 1, 1, c], file: file, line: line), file: file, line: line)
}

/// Instance normalisation with learned per-channel gamma and beta.
public final class InstanceNorm: Layer, TensorLayer {
    public let epsilon: Double

    public init(epsilon: Double = 1e-5, name: String? = nil) {
        self.epsilon = epsilon
        super.init(name: name)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        let channels = x.shape.last ?? 1
        let gamma = parameter(x.builder, "gamma", [channels], initializer: "ones", at: location)
        let beta = parameter(x.builder, "beta", [channels], initializer: "zeros", at: location)
        let batch = x.shape.first ?? 1
        return instanceNorm(x, gamma: gamma.broadcast(to: [batch, channels], file: file, line: line),
                            beta: beta.broadcast(to: [batch, channels], file: file, line: line),
                            epsilon: epsilon, file: file, line: line)
    }
}

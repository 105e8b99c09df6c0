import Sinter

/// The TensorFlow tutorial's convolutional VAE (seed-models §8), layer names as in the golden case
/// `model-cvae`. No BatchNorm; latent dimension 2. The input is MNIST statically binarised
/// (x/255 > 0.5 -> 1, else 0), done by whoever feeds `x`. `widthDivisor` divides the conv widths
/// and the decoder's dense width (not the latent size).
/// Params: encoder 28,036 + decoder 41,953 = 69,989.
public struct CVAE: Module {
    public let enc_conv1: Conv2D
    public let enc_conv2: Conv2D
    /// Mean and log-variance side by side: (B, 2*latent).
    public let enc_dense: Dense
    public let dec_dense: Dense
    public let dec_deconv1: Conv2DTranspose
    public let dec_deconv2: Conv2DTranspose
    /// Logits; the sigmoid is applied only to show samples.
    public let dec_out: Conv2DTranspose

    public let latentDimension = 2
    /// Channels of the 7x7 map the decoder starts from (32 / widthDivisor).
    public let bottleneckChannels: Int

    public init(widthDivisor: Int = 1) {
        let w = { (channels: Int) in scaled(channels, widthDivisor) }
        bottleneckChannels = w(32)
        enc_conv1 = Conv2D(w(32), kernel: 3, strides: 2, padding: .valid, activation: .relu)
        enc_conv2 = Conv2D(w(64), kernel: 3, strides: 2, padding: .valid, activation: .relu)
        enc_dense = Dense(2 * latentDimension)
        dec_dense = Dense(7 * 7 * bottleneckChannels, activation: .relu)
        dec_deconv1 = Conv2DTranspose(w(64), kernel: 3, strides: 2, padding: .same, activation: .relu)
        dec_deconv2 = Conv2DTranspose(w(32), kernel: 3, strides: 2, padding: .same, activation: .relu)
        dec_out = Conv2DTranspose(1, kernel: 3, strides: 1, padding: .same)
    }

    /// (B,28,28,1) -> (mean, logvar), each (B, 2): the two halves of `enc_dense`.
    public func encode(_ x: Tensor, taps: ActivationTaps? = nil) -> (mean: Tensor, logvar: Tensor) {
        var h = tap(taps, "enc_conv1", enc_conv1(x))
        h = tap(taps, "enc_conv2", enc_conv2(h))
        let halves = enc_dense(h.flattened()).split(2, axis: 1)
        return (halves[0], halves[1])
    }

    /// reparameterize: z = eps * exp(logvar * 0.5) + mean.
    public func reparameterize(mean: Tensor, logvar: Tensor, eps: Tensor) -> Tensor {
        eps * exp(logvar * 0.5) + mean
    }

    /// (B, 2) -> (B,28,28,1) logits.
    public func decode(_ z: Tensor, taps: ActivationTaps? = nil) -> Tensor {
        var h = tap(taps, "dec_dense", dec_dense(z))
        h = h.reshaped([h.shape[0], 7, 7, bottleneckChannels])
        h = tap(taps, "dec_deconv1", dec_deconv1(h))
        h = tap(taps, "dec_deconv2", dec_deconv2(h))
        return dec_out(h)
    }
}

/// The CVAE's step (§8, the tutorial's `compute_loss`): single-sample Monte Carlo ELBO.
/// Inputs `x` (B,28,28,1) binarised MNIST and `eps` (B,2) ~ N(0,1) (an input, or sampled in the
/// graph with `noise: .sampled`).
///
/// logpx_z = -sum_hwc sigmoid_ce(logits, x); logpz = log N(z; 0, 0); logqz_x = log N(z; mean,
/// logvar); loss = -mean_b(logpx_z + logpz - logqz_x). The tutorial trains with Adam(1e-4)
/// (`cvaeOptimizer`). Outputs: `mean`, `logvar`, `z`, `logits`, `logpx_z`, `logpz`, `logqz_x`.
public func cvaeStep(_ model: CVAE, batch: Int, optimizer: (any Optimizer)?, noise: NoiseSource = .sampled,
                     activations: Bool = false, options: StepOptions = StepOptions()) throws -> Graph {
    let taps = activations ? ActivationTaps() : nil
    return try traceStep(name: optimizer == nil ? "cvae" : "cvae_train", models: [model], optimizer: optimizer,
                         options: options) { builder in
        let x = builder.input("x", [batch, 28, 28, 1])
        let eps = noise.tensor(builder, "eps", [batch, model.latentDimension])
        let (mean, logvar) = model.encode(x, taps: taps)
        let z = model.reparameterize(mean: mean, logvar: logvar, eps: eps)
        let logits = model.decode(z, taps: taps)
        let logpxZ = -sigmoidCrossEntropy(logits: logits, labels: x).sum(axes: [1, 2, 3])
        let zero = builder.constant(0)
        let logpz = logNormalPDF(z, mean: zero, logVariance: zero)
        let logqzX = logNormalPDF(z, mean: mean, logVariance: logvar)
        let loss = -(logpxZ + logpz - logqzX).mean()
        return StepOutputs(loss: loss, [("mean", mean), ("logvar", logvar), ("z", z), ("logits", logits),
                                        ("logpx_z", logpxZ), ("logpz", logpz), ("logqz_x", logqzX)]
                                       + (taps?.recorded ?? []))
    }
}

/// The tutorial's optimizer: Adam with lr 1e-4, other settings default.
public let cvaeOptimizer = Adam(learningRate: 1e-4)

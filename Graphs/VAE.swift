import Sinter

/// The MNIST variational autoencoder of seed-models §7 (W3 Lab 1), layer names as in the golden
/// cases `model-vae-bn-train-w2` / `model-vae-bn-infer`. Latent dimension 2; every BatchNorm has the
/// Keras defaults (momentum 0.99, epsilon 1e-3) and runs in the builder's mode (see `vaeStep`).
/// `widthDivisor` divides the conv widths and dense widths (not the latent size).
/// Params: encoder 82,104 + decoder 78,017 = 160,121 (6,696 non-trainable BN statistics).
public struct VAE: Module {
    // Encoder
    public let enc_conv1: Conv2D
    public let enc_bn1 = BatchNorm()
    public let enc_conv2: Conv2D
    public let enc_bn2 = BatchNorm()
    public let enc_dense: Dense
    public let enc_bn3 = BatchNorm()
    public let mu: Dense
    public let logvar: Dense
    // Decoder
    public let dec_dense: Dense
    public let dec_bn1 = BatchNorm()
    public let dec_deconv1: Conv2DTranspose
    public let dec_bn2 = BatchNorm()
    public let dec_deconv2: Conv2DTranspose
    public let dec_bn3 = BatchNorm()
    public let dec_out: Conv2DTranspose

    public let latentDimension = 2
    /// Channels of the 7x7 map the decoder starts from (64 / widthDivisor).
    public let bottleneckChannels: Int

    public init(widthDivisor: Int = 1) {
        let w = { (channels: Int) in scaled(channels, widthDivisor) }
        bottleneckChannels = w(64)
        enc_conv1 = Conv2D(w(32), kernel: 3, strides: 2, padding: .same, activation: .relu)
        enc_conv2 = Conv2D(w(64), kernel: 3, strides: 2, padding: .same, activation: .relu)
        enc_dense = Dense(w(20), activation: .relu)
        mu = Dense(latentDimension)
        logvar = Dense(latentDimension)
        dec_dense = Dense(7 * 7 * bottleneckChannels, activation: .relu)
        dec_deconv1 = Conv2DTranspose(w(64), kernel: 3, strides: 2, padding: .same, activation: .relu)
        dec_deconv2 = Conv2DTranspose(w(32), kernel: 3, strides: 2, padding: .same, activation: .relu)
        dec_out = Conv2DTranspose(1, kernel: 3, strides: 1, padding: .same, activation: .sigmoid)
    }

    /// (B,28,28,1) images -> (mu, logvar), each (B, 2).
    public func encode(_ x: Tensor, taps: ActivationTaps? = nil) -> (mu: Tensor, logvar: Tensor) {
        var h = tap(taps, "enc_conv1", enc_conv1(x))
        h = tap(taps, "enc_bn1", enc_bn1(h))
        h = tap(taps, "enc_conv2", enc_conv2(h))
        h = tap(taps, "enc_bn2", enc_bn2(h))
        h = tap(taps, "enc_dense", enc_dense(h.flattened()))
        h = tap(taps, "enc_bn3", enc_bn3(h))
        return (mu(h), logvar(h))
    }

    /// The Sampling layer: z = mu + exp(0.5*logvar) * eps.
    public func sample(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor {
        mu + exp(0.5 * logvar) * eps
    }

    /// (B, 2) codes -> (B,28,28,1) probabilities (the sigmoid of `dec_out`).
    public func decode(_ z: Tensor, taps: ActivationTaps? = nil) -> Tensor {
        var h = tap(taps, "dec_dense", dec_dense(z))
        h = tap(taps, "dec_bn1", dec_bn1(h))
        h = h.reshaped([h.shape[0], 7, 7, bottleneckChannels])
        h = tap(taps, "dec_deconv1", dec_deconv1(h))
        h = tap(taps, "dec_bn2", dec_bn2(h))
        h = tap(taps, "dec_deconv2", dec_deconv2(h))
        h = tap(taps, "dec_bn3", dec_bn3(h))
        return dec_out(h)
    }
}

/// The VAE's step (§7): input `x` (B,28,28,1) = MNIST/255 and `eps` (B,2) ~ N(0,1) (a graph input,
/// or sampled in the graph with `noise: .sampled`).
///
/// loss = 784*bce + kl: bce is Keras 2's clipped-probability BCE (`+1e-7` inside the logs) over
/// the flattened images (Keras sees the output after a reshape, so not the logits path), and kl =
/// -0.5*mean(1 + logvar - mu^2 - exp(logvar)) over batch and latent dims. Adam defaults.
///
/// `bn: .infer` is what the notebook does (it calls `vae(x)` without training=True, so BN uses,
/// and never updates, the moving statistics); `.train` uses batch statistics and updates them.
/// Outputs: `mu`, `logvar`, `z`, `out`, `bce`, `kl` (and `act.<layer>` with `activations`).
public func vaeStep(_ model: VAE, batch: Int, optimizer: (any Optimizer)?, bn: BNMode = .infer,
                    noise: NoiseSource = .sampled, activations: Bool = false,
                    options: StepOptions = StepOptions()) throws -> Graph {
    var options = options
    options.training = bn.isTraining
    let taps = activations ? ActivationTaps() : nil
    return try traceStep(name: optimizer == nil ? "vae" : "vae_train", models: [model], optimizer: optimizer,
                         options: options) { builder in
        let x = builder.input("x", [batch, 28, 28, 1])
        let eps = noise.tensor(builder, "eps", [batch, model.latentDimension])
        let (mu, logvar) = model.encode(x, taps: taps)
        let z = model.sample(mu: mu, logvar: logvar, eps: eps)
        let out = model.decode(z, taps: taps)
        let bce = binaryCrossEntropyOnProbabilities(out.flattened(), target: x.flattened(), form: .keras2)
        let kl = gaussianKL(mu: mu, logVariance: logvar)
        let loss = bce * 784 + kl
        return StepOutputs(loss: loss, [("mu", mu), ("logvar", logvar), ("z", z), ("out", out), ("bce", bce), ("kl", kl)]
                                       + (taps?.recorded ?? []))
    }
}

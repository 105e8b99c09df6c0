import Sinter

/// A convolutional variational autoencoder for 28x28 grey images, with one `ResidualBlock` in
/// the encoder and one in the decoder:
///
///     x 28x28x1 -> conv/2 32 -> conv/2 64 -> residual -> dense mu, log variance (latent)
///     z (latent) -> dense 7x7x64 -> residual -> deconv x2 32 -> deconv x2 32 -> conv 1: pixel logits
struct ResidualVAE: Module {
    let latentDimension: Int
    let down1 = Conv2D(32, kernel: 3, strides: 2, activation: .relu)
    let down2 = Conv2D(64, kernel: 3, strides: 2, activation: .relu)
    let encoderBlock = ResidualBlock(channels: 64)
    let mu: Dense
    let logVariance: Dense
    let expand = Dense(7 * 7 * 64, activation: .relu)
    let decoderBlock = ResidualBlock(channels: 64)
    let up1 = Conv2DTranspose(32, kernel: 3, strides: 2, activation: .relu)
    let up2 = Conv2DTranspose(32, kernel: 3, strides: 2, activation: .relu)
    let pixels = Conv2D(1, kernel: 3)

    init(latentDimension: Int) {
        self.latentDimension = latentDimension
        mu = Dense(latentDimension)
        logVariance = Dense(latentDimension)
    }

    /// Images (B, 28, 28, 1) in [0, 1] -> the posterior's mean and log variance, each (B, latent).
    func encode(_ x: Tensor) -> (mu: Tensor, logVariance: Tensor) {
        let h = encoderBlock(down2(down1(x))).flattened()
        return (mu(h), logVariance(h))
    }

    /// Codes (B, latent) -> pixel logits (B, 28, 28, 1); the image is their sigmoid.
    func decode(_ z: Tensor) -> Tensor {
        let h = expand(z).reshaped([z.shape[0], 7, 7, 64])
        return pixels(up2(up1(decoderBlock(h))))
    }

    /// The negative ELBO of a batch, in nats per image: the Bernoulli reconstruction loss summed
    /// over the 784 pixels plus the KL divergence of the posterior from N(0, I) summed over the
    /// latent axes, both averaged over the batch. `z` is drawn with the reparameterisation trick,
    /// the noise sampled in the graph (fresh every step).
    func loss(_ x: Tensor) -> (total: Tensor, reconstruction: Tensor, kl: Tensor) {
        let (mu, logVariance) = encode(x)
        let noise = randomNormal(x.builder, mu.shape)
        let z = mu + exp(0.5 * logVariance) * noise
        let reconstruction = sigmoidCrossEntropy(logits: decode(z), labels: x).sum(axes: [1, 2, 3]).mean()
        let kl = (-0.5 * (1 + logVariance - mu.square() - logVariance.exp())).sum(axes: [1]).mean()
        return (reconstruction + kl, reconstruction, kl)
    }
}

import Sinter

/// §10's generator (W4 Lab 2), layer names as in the golden case `model-dcgan-w4`:
/// z (B,32) -> g_dense Dense 6272 (linear) -> Reshape (7,7,128) -> g_bn1 -> g_deconv1
/// Conv2DTranspose 64 k5 s2 SAME selu -> g_bn2 -> g_deconv2 Conv2DTranspose 1 k5 s2 SAME tanh.
/// 414,209 params (384 non-trainable). `widthDivisor` divides 128 and 64.
public struct DCGANGenerator: Module {
    public let g_dense: Dense
    public let g_bn1 = BatchNorm()
    public let g_deconv1: Conv2DTranspose
    public let g_bn2 = BatchNorm()
    public let g_deconv2: Conv2DTranspose

    public let codingsSize = 32
    public let baseChannels: Int

    public init(widthDivisor: Int = 1) {
        baseChannels = scaled(128, widthDivisor)
        g_dense = Dense(7 * 7 * baseChannels)
        g_deconv1 = Conv2DTranspose(scaled(64, widthDivisor), kernel: 5, strides: 2, padding: .same, activation: .selu)
        g_deconv2 = Conv2DTranspose(1, kernel: 5, strides: 2, padding: .same, activation: .tanh)
    }

    public func callAsFunction(_ z: Tensor, taps: ActivationTaps? = nil) -> Tensor {
        var h = tap(taps, "g_dense", g_dense(z))
        h = tap(taps, "g_bn1", g_bn1(h.reshaped([z.shape[0], 7, 7, baseChannels])))
        h = tap(taps, "g_deconv1", g_deconv1(h))
        h = tap(taps, "g_bn2", g_bn2(h))
        return g_deconv2(h)
    }
}

/// §10's discriminator: d_conv1 Conv2D 64 k5 s2 SAME LeakyReLU(0.2) -> Dropout 0.4 -> d_conv2
/// Conv2D 128 k5 s2 SAME LeakyReLU(0.2) -> Dropout 0.4 -> Flatten -> d_dense Dense 1 (sigmoid).
/// Returns the logits (B,1). 212,865 params.
public struct DCGANDiscriminator: Module {
    public let d_conv1: Conv2D
    public let dropout1 = Dropout(0.4)
    public let d_conv2: Conv2D
    public let dropout2 = Dropout(0.4)
    public let d_dense = Dense(1)

    public init(widthDivisor: Int = 1) {
        d_conv1 = Conv2D(scaled(64, widthDivisor), kernel: 5, strides: 2, padding: .same, activation: .leakyRelu(0.2))
        d_conv2 = Conv2D(scaled(128, widthDivisor), kernel: 5, strides: 2, padding: .same, activation: .leakyRelu(0.2))
    }

    public func callAsFunction(_ x: Tensor, taps: ActivationTaps? = nil) -> Tensor {
        var h = dropout1(tap(taps, "d_conv1", d_conv1(x)))
        h = dropout2(tap(taps, "d_conv2", d_conv2(h)))
        return d_dense(h.flattened())
    }
}

/// §10's DCGAN on Fashion-MNIST scaled to [-1,1] (x/255*2-1): G, D and the two-phase step of
/// `kerasGANPhaseStep` (phase d: G's BN in inference mode, fakes first, RMSprop on D; phase g:
/// G's BN in training mode, D frozen, RMSprop on G). Both phases use `RMSprop()` defaults.
public struct DCGAN: Module {
    public let generator: DCGANGenerator
    public let discriminator: DCGANDiscriminator

    public init(widthDivisor: Int = 1) {
        generator = DCGANGenerator(widthDivisor: widthDivisor)
        discriminator = DCGANDiscriminator(widthDivisor: widthDivisor)
    }

    /// One phase of the step. `generatorBN` overrides G's BN mode (nil: as the notebook does).
    public func step(_ phase: GANPhase, batch: Int, optimizer: (any Optimizer)?, generatorBN: BNMode? = nil,
                     noise: NoiseSource = .sampled, activations: Bool = false,
                     options: StepOptions = StepOptions()) throws -> Graph {
        try kerasGANPhaseStep(name: "dcgan", phase: phase, generator: generator, discriminator: discriminator,
                              generate: { generator($0, taps: $1) }, discriminate: { discriminator($0, taps: $1) },
                              latentShape: [generator.codingsSize], realShape: [28, 28, 1], batch: batch,
                              optimizer: optimizer, generatorBN: generatorBN, noise: noise,
                              activations: activations, options: options)
    }
}

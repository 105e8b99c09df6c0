import Sinter

/// §11's generator (W4 Lab 3, dim 64, four up-samplings, every kernel 4), layer names as in the
/// golden case `model-celeba-dcgan-w16`: z (B,1,1,128) -> g1 Conv2DTranspose 512 k4 s1 VALID no bias
/// (1x1 -> 4x4) -> gb1 BN -> relu -> g2 256 k4 s2 SAME no bias -> gb2 -> relu -> g3 128 -> gb3 ->
/// relu -> g4 64 -> gb4 -> relu -> g5 Conv2DTranspose 3 k4 s2 SAME with bias -> tanh (64x64x3).
/// 3,808,003 params (1,920 non-trainable). `widthDivisor` divides 512/256/128/64 (not z's 128).
public struct CelebAGenerator: Module {
    public let g1: Conv2DTranspose
    public let gb1 = BatchNorm()
    public let g2: Conv2DTranspose
    public let gb2 = BatchNorm()
    public let g3: Conv2DTranspose
    public let gb3 = BatchNorm()
    public let g4: Conv2DTranspose
    public let gb4 = BatchNorm()
    public let g5: Conv2DTranspose

    public let latentDimension = 128

    public init(widthDivisor: Int = 1) {
        let w = { (channels: Int) in scaled(channels, widthDivisor) }
        g1 = Conv2DTranspose(w(512), kernel: 4, strides: 1, padding: .valid, useBias: false)
        g2 = Conv2DTranspose(w(256), kernel: 4, strides: 2, padding: .same, useBias: false)
        g3 = Conv2DTranspose(w(128), kernel: 4, strides: 2, padding: .same, useBias: false)
        g4 = Conv2DTranspose(w(64), kernel: 4, strides: 2, padding: .same, useBias: false)
        g5 = Conv2DTranspose(3, kernel: 4, strides: 2, padding: .same)
    }

    public func callAsFunction(_ z: Tensor, taps: ActivationTaps? = nil) -> Tensor {
        var h = z
        for (conv, norm) in [(g1, gb1), (g2, gb2), (g3, gb3), (g4, gb4)] {
            h = tap(taps, conv.path, conv(h))
            h = tap(taps, norm.path, norm(h)).relu()
        }
        return g5(h).tanh()
    }
}

/// §11's discriminator (BatchNorm, since gradient_penalty_mode is 'none'): d1 Conv2D 64 k4 s2 SAME
/// with bias -> LeakyReLU 0.2 -> d2 Conv2D 128 k4 s2 SAME no bias -> db2 BN -> LeakyReLU -> d3 256
/// -> db3 -> LeakyReLU -> d4 512 -> db4 -> LeakyReLU -> d5 Conv2D 1 k4 s1 VALID with bias: the
/// logit (B,1,1,1). 2,767,425 params (1,792 non-trainable). `widthDivisor` divides 64..512.
public struct CelebADiscriminator: Module {
    public let d1: Conv2D
    public let d2: Conv2D
    public let db2 = BatchNorm()
    public let d3: Conv2D
    public let db3 = BatchNorm()
    public let d4: Conv2D
    public let db4 = BatchNorm()
    public let d5: Conv2D

    public init(widthDivisor: Int = 1) {
        let w = { (channels: Int) in scaled(channels, widthDivisor) }
        d1 = Conv2D(w(64), kernel: 4, strides: 2, padding: .same)
        d2 = Conv2D(w(128), kernel: 4, strides: 2, padding: .same, useBias: false)
        d3 = Conv2D(w(256), kernel: 4, strides: 2, padding: .same, useBias: false)
        d4 = Conv2D(w(512), kernel: 4, strides: 2, padding: .same, useBias: false)
        d5 = Conv2D(1, kernel: 4, strides: 1, padding: .valid)
    }

    public func callAsFunction(_ x: Tensor, taps: ActivationTaps? = nil) -> Tensor {
        var h = tap(taps, "d1", d1(x)).leakyRelu(0.2)
        for (conv, norm) in [(d2, db2), (d3, db3), (d4, db4)] {
            h = tap(taps, conv.path, conv(h))
            h = tap(taps, norm.path, norm(h)).leakyRelu(0.2)
        }
        return d5(h)
    }
}

/// §11's CelebA DCGAN on 64x64x3 images in [-1,1] (x/127.5 - 1), trained with two Adams (lr 2e-4,
/// beta1 0.5; `celebAOptimizer`), one per network.
///
/// BatchNorm: the notebook calls both nets as `model(x)`, so every BN runs in **inference** mode
/// (`bn: .infer`, the default here); the golden case `model-celeba-dcgan-w16` runs them all in
/// **training** mode (`bn: .train`), where each call uses its batch's statistics and updates the
/// moving ones (D's twice in phase d: on the fakes, then on the reals).
public struct CelebADCGAN: Module {
    public let generator: CelebAGenerator
    public let discriminator: CelebADiscriminator

    public init(widthDivisor: Int = 1) {
        generator = CelebAGenerator(widthDivisor: widthDivisor)
        discriminator = CelebADiscriminator(widthDivisor: widthDivisor)
    }

    /// One phase of the notebook's `train_on_batch`, for B reals (the notebook's x1 and x2 halves
    /// concatenated: 2*batch_size rows) and B fakes:
    ///
    /// * `.discriminator`: fake = G(`z`); D is called on the fakes, then **separately** on `real`;
    ///   loss = mean_i [sce(0, D(fake)_i) + sce(1, D(real)_i)] (the notebook's sum over 2B pairs
    ///   divided by 2*global batch); the optimizer updates D's params only (prefix `opt_d`).
    /// * `.generator`: a fresh `z`; loss = mean_i sce(1, D(G(z))_i); updates G's params only
    ///   (prefix `opt_g`). D's weights are frozen (its BN statistics still move in `.train`).
    ///
    /// sce = sigmoid cross-entropy from the logits; the gradient penalty is off (constant 0).
    /// Inputs: `z` (B,1,1,128) (or sampled with `noise: .sampled`) and, in `.discriminator`, `real`
    /// (B,64,64,3). Outputs: `fake`, `logits_fake` (and `logits_real` in `.discriminator`), and with
    /// `activations` the `act.<layer>` of G and D in `.generator`.
    public func step(_ phase: GANPhase, batch: Int, optimizer: (any Optimizer)?, bn: BNMode = .infer,
                     noise: NoiseSource = .sampled, activations: Bool = false,
                     options: StepOptions = StepOptions()) throws -> Graph {
        var options = options
        options.trains = ownsParameter(phase == .discriminator ? discriminator : generator)
        options.optimizerPrefix = phase.optimizerPrefix
        options.training = bn.isTraining
        let taps = activations && phase == .generator ? ActivationTaps() : nil
        let stepName = "celeba_dcgan_\(phase.rawValue)\(optimizer == nil ? "" : "_train")"
        return try traceStep(name: stepName, models: [generator, discriminator], optimizer: optimizer,
                             options: options) { builder in
            let z = noise.tensor(builder, "z", [batch, 1, 1, generator.latentDimension])
            let fake = generator(z, taps: taps)
            let logitsFake = discriminator(fake, taps: taps)
            let zeros = builder.constant(0, logitsFake.shape), ones = builder.constant(1, logitsFake.shape)
            switch phase {
            case .discriminator:
                let real = builder.input("real", [batch, 64, 64, 3])
                let logitsReal = discriminator(real)
                let perPair = sigmoidCrossEntropy(logits: logitsFake, labels: zeros)
                    + sigmoidCrossEntropy(logits: logitsReal, labels: ones)
                return StepOutputs(loss: perPair.mean(),
                                   [("fake", fake), ("logits_fake", logitsFake), ("logits_real", logitsReal)])
            case .generator:
                return StepOutputs(loss: sigmoidCrossEntropy(logits: logitsFake, labels: ones).mean(),
                                   [("fake", fake), ("logits_fake", logitsFake)] + (taps?.recorded ?? []))
            }
        }
    }
}

/// The notebook's optimizer for each network: Adam(lr 2e-4, beta1 0.5), other settings default.
public let celebAOptimizer = Adam(learningRate: 2e-4, beta1: 0.5)

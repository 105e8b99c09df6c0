import Sinter

// seed-models §9 (W4 Lab 1): the first, dense GAN on MNIST, and the two-phase Keras GAN step that
// it shares with the DCGAN of §10.

/// §9's generator: z (B,32) -> Dense 64 selu -> Dense 128 selu -> Dense 784 sigmoid -> Reshape
/// (28,28). 111,568 params. `widthDivisor` divides the hidden widths.
public struct GANGenerator: Module {
    public let g_dense1: Dense
    public let g_dense2: Dense
    public let g_dense3: Dense

    public let codingsSize = 32

    public init(widthDivisor: Int = 1) {
        g_dense1 = Dense(scaled(64, widthDivisor), activation: .selu)
        g_dense2 = Dense(scaled(128, widthDivisor), activation: .selu)
        g_dense3 = Dense(784, activation: .sigmoid)
    }

    public func callAsFunction(_ z: Tensor, taps: ActivationTaps? = nil) -> Tensor {
        var h = tap(taps, "g_dense1", g_dense1(z))
        h = tap(taps, "g_dense2", g_dense2(h))
        return g_dense3(h).reshaped([z.shape[0], 28, 28])
    }
}

/// §9's discriminator: Flatten -> Dense 128 selu -> Dense 64 selu -> Dense 1 (sigmoid). Returns
/// the logits (B,1); the probability is their sigmoid. 108,801 params.
public struct GANDiscriminator: Module {
    public let d_dense1: Dense
    public let d_dense2: Dense
    public let d_dense3: Dense

    public init(widthDivisor: Int = 1) {
        d_dense1 = Dense(scaled(128, widthDivisor), activation: .selu)
        d_dense2 = Dense(scaled(64, widthDivisor), activation: .selu)
        d_dense3 = Dense(1)
    }

    public func callAsFunction(_ x: Tensor, taps: ActivationTaps? = nil) -> Tensor {
        var h = tap(taps, "d_dense1", d_dense1(x.flattened()))
        h = tap(taps, "d_dense2", d_dense2(h))
        return d_dense3(h)
    }
}

/// §9's GAN: G, D and the §10 procedure; real images (B,28,28) = MNIST/255 in [0,1].
public struct GAN: Module {
    public let generator: GANGenerator
    public let discriminator: GANDiscriminator

    public init(widthDivisor: Int = 1) {
        generator = GANGenerator(widthDivisor: widthDivisor)
        discriminator = GANDiscriminator(widthDivisor: widthDivisor)
    }

    /// One phase of the training step: see `kerasGANPhaseStep`. RMSprop defaults for both phases.
    public func step(_ phase: GANPhase, batch: Int, optimizer: (any Optimizer)?, noise: NoiseSource = .sampled,
                     activations: Bool = false, options: StepOptions = StepOptions()) throws -> Graph {
        try kerasGANPhaseStep(name: "gan", phase: phase, generator: generator, discriminator: discriminator,
                              generate: { generator($0, taps: $1) }, discriminate: { discriminator($0, taps: $1) },
                              latentShape: [generator.codingsSize], realShape: [28, 28], batch: batch,
                              optimizer: optimizer, noise: noise, activations: activations, options: options)
    }
}

/// One phase of the Keras two-phase GAN step (seed-models §10; §9 does the same):
///
/// * `.discriminator`: fake = G(`z`) with G's BN in **inference** mode (the notebook calls
///   `generator(noise)` directly); D sees concat([fake, `real`]) (fakes first) against labels B
///   zeros then B ones; loss = mean BCE from D's logits; the optimizer updates D's params only.
/// * `.generator`: D(G(`z`)) against ones with G's BN in **training** mode (`gan.train_on_batch`);
///   D's weights are frozen; the optimizer updates G's params (and G's BN moving statistics).
///
/// D always runs in training mode, so its dropout is active unless `options.dropout` is false
/// (the golden case turns it off). `generatorBN` overrides G's BN mode in both phases. Each phase
/// has its own optimizer state (`opt_d.*`, `opt_g.*`), as the notebook's two compiled models do.
/// Inputs: `z` (B, latent...) (or sampled with `noise: .sampled`) and, for `.discriminator`,
/// `real` (B, image...). Outputs: `fake`, `logits`, `prob` (and `act.<layer>` of G in `.generator`
/// with `activations`).
public func kerasGANPhaseStep(name: String, phase: GANPhase, generator: Any, discriminator: Any,
                              generate: @escaping (Tensor, ActivationTaps?) -> Tensor,
                              discriminate: @escaping (Tensor, ActivationTaps?) -> Tensor,
                              latentShape: [Int], realShape: [Int], batch: Int, optimizer: (any Optimizer)?,
                              generatorBN: BNMode? = nil, noise: NoiseSource = .sampled, activations: Bool = false,
                              options: StepOptions = StepOptions()) throws -> Graph {
    var options = options
    options.trains = ownsParameter(phase == .discriminator ? discriminator : generator)
    options.optimizerPrefix = phase.optimizerPrefix
    let taps = activations ? ActivationTaps() : nil
    let stepName = "\(name)_\(phase.rawValue)\(optimizer == nil ? "" : "_train")"
    return try traceStep(name: stepName, models: [generator, discriminator], optimizer: optimizer,
                         options: options) { builder in
        let z = noise.tensor(builder, "z", [batch] + latentShape)
        switch phase {
        case .discriminator:
            let real = builder.input("real", [batch] + realShape)
            let fake = builder.withTraining((generatorBN ?? .infer).isTraining) { generate(z, nil) }
            let logits = builder.withTraining(true) { discriminate(concat([fake, real], axis: 0), nil) }
            let targets = concat([labels(builder, 0, count: batch), labels(builder, 1, count: batch)], axis: 0)
            let loss = sigmoidCrossEntropy(logits: logits, labels: targets).mean()
            return StepOutputs(loss: loss, [("fake", fake), ("logits", logits), ("prob", logits.sigmoid())])
        case .generator:
            let fake = builder.withTraining((generatorBN ?? .train).isTraining) { generate(z, taps) }
            let logits = builder.withTraining(true) { discriminate(fake, nil) }
            let loss = sigmoidCrossEntropy(logits: logits, labels: labels(builder, 1, count: batch)).mean()
            return StepOutputs(loss: loss, [("fake", fake), ("logits", logits), ("prob", logits.sigmoid())]
                                           + (taps?.recorded ?? []))
        }
    }
}

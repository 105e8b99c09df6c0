import Sinter

/// The models `sinter` knows by name, and how to trace each one's graphs.
public struct ZooEntry {
    public let name: String
    public let summary: String
    /// Traces the forward graph (`train == false`) or the whole training step. For a GAN this is
    /// the generator phase; `phases` has both.
    public let trace: (_ batch: Int, _ train: Bool) throws -> Graph
    public let defaultBatch: Int
    /// The steps one training iteration runs, in order (a GAN: discriminator, then generator),
    /// each with its own graph. Empty for models with a single step (`trace`).
    public let phases: [ZooPhase]

    public init(name: String, summary: String, trace: @escaping (_ batch: Int, _ train: Bool) throws -> Graph,
                defaultBatch: Int, phases: [ZooPhase] = []) {
        self.name = name
        self.summary = summary
        self.trace = trace
        self.defaultBatch = defaultBatch
        self.phases = phases
    }
}

/// One named step of a multi-phase model (GANs). The phases' graphs share weights by name
/// (`Executable.copyPersistent`) and keep separate optimizer state (`opt_d.*`, `opt_g.*`).
public struct ZooPhase {
    /// `discriminator` or `generator`.
    public let name: String
    /// Prefix of the phase's tensors in golden files and `sinter eval` output (`d`, `g`).
    public let prefix: String
    /// Traces the phase's step (`train`) or its forward and loss only. The caller feeds `real` to
    /// the discriminator phase; `z` is sampled in the graph.
    public let trace: (_ batch: Int, _ train: Bool) throws -> Graph
}

public enum Zoo {
    public static let entries: [ZooEntry] = [
        ZooEntry(name: "dense-autoencoder", summary: "MNIST dense autoencoder 784-32-784 (seed-models §4, Lab 2)",
                 trace: { batch, train in
                     try denseAutoencoderStep(DenseAutoencoder(), batch: batch, optimizer: train ? Adam() : nil)
                 }, defaultBatch: 128),
        ZooEntry(name: "deep-autoencoder", summary: "MNIST deep dense autoencoder 784-128-64-32-64-128-784 (seed-models §4, Lab 3)",
                 trace: { batch, train in
                     try deepAutoencoderStep(DeepAutoencoder(), batch: batch, optimizer: train ? Adam() : nil)
                 }, defaultBatch: 128),
        ZooEntry(name: "autoencoder", summary: "Fashion-MNIST convolutional autoencoder (seed-models §5)",
                 trace: { batch, train in
                     try autoencoderStep(ConvAutoencoder(), batch: batch, optimizer: train ? Adam() : nil)
                 }, defaultBatch: 128),
        ZooEntry(name: "denoising-autoencoder",
                 summary: "Fashion-MNIST denoising conv autoencoder, noise sampled in the graph (seed-models §6)",
                 trace: { batch, train in
                     try denoisingAutoencoderStep(ConvAutoencoder(), batch: batch, optimizer: train ? Adam() : nil)
                 }, defaultBatch: 128),
        ZooEntry(name: "vae", summary: "MNIST VAE, BN in inference mode as the notebook runs it (seed-models §7)",
                 trace: { batch, train in
                     try vaeStep(VAE(), batch: batch, optimizer: train ? Adam() : nil)
                 }, defaultBatch: 128),
        ZooEntry(name: "cvae", summary: "TF tutorial convolutional VAE on binarised MNIST (seed-models §8)",
                 trace: { batch, train in
                     try cvaeStep(CVAE(), batch: batch, optimizer: train ? cvaeOptimizer : nil)
                 }, defaultBatch: 32),
        ganEntry(name: "gan", summary: "MNIST dense GAN (seed-models §9)", defaultBatch: 128) { phase, batch, train in
            try GAN().step(phase, batch: batch, optimizer: train ? RMSprop() : nil)
        },
        ganEntry(name: "dcgan", summary: "Fashion-MNIST DCGAN (seed-models §10)", defaultBatch: 128) { phase, batch, train in
            try DCGAN().step(phase, batch: batch, optimizer: train ? RMSprop() : nil)
        },
        ganEntry(name: "celeba-dcgan", summary: "CelebA 64x64 DCGAN, BN in inference mode as the notebook runs it (seed-models §11)",
                 defaultBatch: 16) { phase, batch, train in
            try CelebADCGAN().step(phase, batch: batch, optimizer: train ? celebAOptimizer : nil)
        },
    ]

    public static func entry(named name: String) throws -> ZooEntry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw SinterError.runtime(message: "unknown model '\(name)'; known models: \(entries.map(\.name).joined(separator: ", "))")
        }
        return entry
    }

    /// A GAN: `trace` is the generator phase; `phases` are discriminator then generator.
    private static func ganEntry(name: String, summary: String, defaultBatch: Int,
                                 trace: @escaping (GANPhase, Int, Bool) throws -> Graph) -> ZooEntry {
        ZooEntry(name: name, summary: summary, trace: { try trace(.generator, $0, $1) }, defaultBatch: defaultBatch,
                 phases: GANPhase.allCases.map { phase in
                     ZooPhase(name: phase.rawValue, prefix: phase.prefix, trace: { try trace(phase, $0, $1) })
                 })
    }
}

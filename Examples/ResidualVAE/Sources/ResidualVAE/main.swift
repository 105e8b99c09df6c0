// Trains a variational autoencoder with a hand-written residual layer (ResidualBlock.swift) on
// Fashion-MNIST, saves it, reloads it into a fresh learner and draws new samples and
// reconstructions of test images as PNG grids.
import Foundation
import Sinter

setvbuf(stdout, nil, _IOLBF, 0)  // each line at once, in order with the progress line on stderr
let options: Options
do {
    options = try Options(Array(CommandLine.arguments.dropFirst()))
} catch let error as OptionError {
    if let message = error.message { FileHandle.standardError.write(Data("error: \(message)\n".utf8)) }
    print(Options.usage)
    exit(error.message == nil ? 0 : 2)
}

/// A learner for `vae` built from traced graphs, for a loss that needs more than `model(x)`
/// against a target: the training step minimises the negative ELBO and also outputs its two
/// terms (reported as metrics); the evaluation graph is the same without the optimizer; the
/// prediction graph reconstructs images from the posterior means.
func makeLearner(_ vae: ResidualVAE, seed: UInt64) throws -> Learner {
    func graph(_ name: String, batch: Int, optimizer: (any Optimizer)?) throws -> Graph {
        try traceStep(name: name, models: [vae], optimizer: optimizer) { builder in
            let loss = vae.loss(builder.input("x", [batch, 28, 28, 1]))
            return StepOutputs(loss: loss.total, [("reconstruction", loss.reconstruction), ("kl", loss.kl)])
        }
    }
    return try Learner(name: "ResidualVAE", phases: [FitPhase("step") { try graph("vae_train", batch: $0, optimizer: Adam()) }],
                       evaluation: { try graph("vae_eval", batch: $0, optimizer: nil) },
                       prediction: { batch in
                           try traceForward(name: "vae_reconstruct", models: [vae]) { builder in
                               [("prediction", sigmoid(vae.decode(vae.encode(builder.input("x", [batch, 28, 28, 1])).mu)))]
                           }
                       },
                       metrics: ["reconstruction", "kl"], seed: seed)
}

do {
    let train = try Datasets.fashionMNIST(train: true, directory: options.data, limit: options.trainLimit)
    let test = try Datasets.fashionMNIST(train: false, directory: options.data, limit: options.testLimit)
    print("Fashion-MNIST: \(train.count) training and \(test.count) test images; latent dimension \(options.latent)")

    try FileManager.default.createDirectory(atPath: options.out, withIntermediateDirectories: true)
    let checkpoint = "\(options.out)/residual-vae.sinter"
    let learner = try makeLearner(ResidualVAE(latentDimension: options.latent), seed: options.seed)
    let started = Date()
    try learner.fit(train, epochs: options.epochs, batchSize: options.batch, validation: test, checkpoint: checkpoint)
    print(String(format: "trained %d epochs in %.0f s", options.epochs, Date().timeIntervalSince(started)))
    let tested = try learner.evaluate(test)
    print("test: \(tested.text)  (nats per image)")
    print("saved \(checkpoint)")

    // A fresh model and learner, given the checkpoint: the same test figures, then the pictures.
    let vae = ResidualVAE(latentDimension: options.latent)
    let reloaded = try makeLearner(vae, seed: options.seed)
    try reloaded.load(checkpoint)
    let again = try reloaded.evaluate(test, batchSize: options.batch)
    print("reloaded: test \(again.text)\(again == tested ? ", the same" : ", DIFFERENT from before saving")")
    guard let weights = reloaded.checkpoint()?.tensors else { throw SinterError.runtime(message: "the reloaded learner has no weights") }

    let originals = try Datasets.fashionMNIST(train: false, directory: options.data, limit: 32)
    let rebuilt = try reloaded.predict(originals, batchSize: originals.count)
    let pictures = ["\(options.out)/samples.png", "\(options.out)/reconstructions.png"]
    try Pictures.samples(of: vae, weights: weights, count: 64, seed: options.seed, path: pictures[0])
    try Pictures.reconstructions(originals: originals.pixels, reconstructions: rebuilt.floats, count: originals.count, columns: 8, path: pictures[1])
    print("wrote \(pictures.joined(separator: " and "))")
    if again != tested { exit(1) }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}

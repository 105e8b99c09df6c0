import Foundation
import Sinter
import SinterModels

// The short training protocols of the reference quality table (TensorFlow 2.21, CPU; quoted in
// Docs/models.md): what TensorFlow reaches, Sinter must reach within a few percent (seeds, and so
// weights and batch order, differ). They train for about a minute each on an idle 2-core machine
// (much longer on a busy one), so they run here, as `swift run sinter-quality [ae|dae|cvae ...]`,
// and in .ci/run, not in `swift test`, which stays fast. Exits 1 if a protocol lands outside
// its band or fails; prints one line per protocol.

/// Trains `steps` iterations of `trace`'s step on `train` and returns the mean test loss of
/// `trace`'s forward graph over `test` (per-batch losses weighted by batch size).
func trainAndTest(_ trace: @escaping (Int, (any Optimizer)?) throws -> Graph, optimizer: any Optimizer,
                  train: ImageDataset, test: ImageDataset, batch: Int, steps: Int, seed: UInt64) throws -> Double {
    let learner = try Learner(name: "quality", phases: [FitPhase("step") { try trace($0, optimizer) }],
                              evaluation: { try trace($0, nil) }, seed: seed)
    try learner.fit(train, batchSize: batch, steps: steps, verbose: false)
    guard let loss = try learner.evaluate(test)["loss"] else {
        throw SinterError.runtime(message: "the evaluation graph has no scalar output 'loss'")
    }
    return loss
}

/// The first 2,000 Fashion-MNIST train images and the first 1,000 test images.
func fashionMNIST() throws -> (ImageDataset, ImageDataset) {
    (try Datasets.fashionMNIST(train: true, limit: 2000), try Datasets.fashionMNIST(train: false, limit: 1000))
}

struct QualityProtocol {
    var name: String
    var what: String
    /// TensorFlow's two seeds; Sinter must land in [low*0.96, high*1.04].
    var low: Double, high: Double
    var run: () throws -> Double
}

let protocols: [QualityProtocol] = [
    QualityProtocol(name: "ae", what: "conv autoencoder, 200 Adam steps of batch 128 on 2,000 images: test BCE",
             low: 0.2759, high: 0.2785) {
        let (train, test) = try fashionMNIST()
        let model = ConvAutoencoder()
        return try trainAndTest({ try autoencoderStep(model, batch: $0, optimizer: $1) }, optimizer: Adam(),
                                train: train, test: test, batch: 128, steps: 200, seed: 0)
    },
    QualityProtocol(name: "dae", what: "denoising autoencoder, same protocol, noise fresh per batch: test BCE (clean target)",
             low: 0.3096, high: 0.3105) {
        let (train, test) = try fashionMNIST()
        let model = ConvAutoencoder()
        return try trainAndTest({ try denoisingAutoencoderStep(model, batch: $0, optimizer: $1) }, optimizer: Adam(),
                                train: train, test: test, batch: 128, steps: 200, seed: 0)
    },
    QualityProtocol(name: "cvae", what: "CVAE, 2 epochs of batch 32 (Adam 1e-4) on 4,000 binarised digits: test -ELBO",
             low: 248.6, high: 250.6) {
        let (train, test) = try ZooData.mnistSplit(seed: 0)
        let binarise: (Float) -> Float = { $0 > 0.5 ? 1 : 0 }
        return try trainAndTest({ try cvaeStep(CVAE(), batch: $0, optimizer: $1) }, optimizer: cvaeOptimizer,
                                train: train.mapped(binarise), test: test.mapped(binarise), batch: 32,
                                steps: 2 * 4000 / 32, seed: 0)
    },
]

let wanted = Array(CommandLine.arguments.dropFirst())
let unknown = wanted.filter { name in !protocols.contains { $0.name == name } }
guard unknown.isEmpty else {
    FileHandle.standardError.write(Data("sinter-quality: unknown protocol \(unknown.joined(separator: ", ")); known: \(protocols.map(\.name).joined(separator: ", "))\n".utf8))
    exit(2)
}
var passed = 0, failed = 0
for entry in protocols where wanted.isEmpty || wanted.contains(entry.name) {
    let start = Date()
    do {
        let value = try entry.run()
        let ok = value > entry.low * 0.96 && value < entry.high * 1.04
        let seconds = String(format: "%.0f", Date().timeIntervalSince(start))
        print("quality \(entry.name): \(entry.what) \(String(format: "%.4f", value)), TensorFlow \(entry.low)-\(entry.high) "
            + "(band x0.96-x1.04): \(ok ? "ok" : "FAIL") (\(seconds) s)")
        if ok { passed += 1 } else { failed += 1 }
    } catch {
        print("quality \(entry.name): FAIL: \(error)")
        failed += 1
    }
}
print("quality: \(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)

import Foundation
import Sinter
import SinterModels
import XCTest

/// The short protocols of ../shared/reference/quality.md on real data: what TensorFlow reaches,
/// Sinter must reach within a few percent (seeds, and so weights and batch order, differ).
final class QualityTests: XCTestCase {
    /// Trains `steps` iterations of `trace`'s step on `train` and returns the mean test loss of
    /// `trace`'s forward graph over `test` (per-batch losses weighted by batch size).
    func trainAndTest(_ trace: @escaping (Int, (any Optimizer)?) throws -> Graph, optimizer: any Optimizer,
                      train: ImageDataset, test: ImageDataset, batch: Int, steps: Int, seed: UInt64) throws -> Double {
        let family = StepFamily { try trace($0, optimizer) }
        let phase = TrainingPhase(name: "step", family: family) { ["x": train.batch($0)] }
        let trainer = try Trainer(model: "quality", phases: [phase], datasetCount: train.count, batchSize: batch, seed: seed)
        for _ in 0..<steps { try trainer.runStep() }
        let evaluation = StepFamily { try trace($0, nil) }
        var batcher = Batcher(count: test.count, batchSize: batch, shuffle: false, seed: 0)
        var sum = 0.0, seen = 0
        while seen < test.count {
            let indices = batcher.next()
            let executable = try evaluation.executable(batch: indices.count)
            executable.copyPersistent(from: trainer.state!)
            sum += Double(try executable.run(["x": test.batch(indices)])["loss"]!.floats[0]) * Double(indices.count)
            seen += indices.count
        }
        let loss = sum / Double(test.count)
        print("quality: \(name) test loss \(loss)")
        return loss
    }

    func fashionMNIST() throws -> (ImageDataset, ImageDataset) {
        guard FileManager.default.fileExists(atPath: Datasets.fashionMNISTDirectory) else {
            throw XCTSkip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        }
        return (try Datasets.fashionMNIST(train: true, limit: 2000), try Datasets.fashionMNIST(train: false, limit: 1000))
    }

    /// TF: test BCE 0.2785 / 0.2759 (seeds 0 / 1) after 200 Adam steps of batch 128 on 2,000 images.
    func testConvAutoencoderShortProtocol() throws {
        let (train, test) = try fashionMNIST()
        let model = ConvAutoencoder()
        let loss = try trainAndTest({ try autoencoderStep(model, batch: $0, optimizer: $1) }, optimizer: Adam(),
                                    train: train, test: test, batch: 128, steps: 200, seed: 0)
        XCTAssert(loss > 0.2759 * 0.96 && loss < 0.2785 * 1.04, "test BCE \(loss), TensorFlow 0.2759-0.2785")
    }

    /// TF: test BCE against the clean images 0.3105 / 0.3096, noise drawn fresh per batch.
    func testDenoisingAutoencoderShortProtocol() throws {
        let (train, test) = try fashionMNIST()
        let model = ConvAutoencoder()
        let loss = try trainAndTest({ try denoisingAutoencoderStep(model, batch: $0, optimizer: $1) }, optimizer: Adam(),
                                    train: train, test: test, batch: 128, steps: 200, seed: 0)
        XCTAssert(loss > 0.3096 * 0.96 && loss < 0.3105 * 1.04, "test BCE \(loss), TensorFlow 0.3096-0.3105")
    }

    /// TF: test ELBO -248.6 / -250.6 after 2 epochs of batch 32 (Adam 1e-4) on 4,000 binarised digits.
    func testCVAEShortProtocol() throws {
        let (train, test) = try ZooData.mnistSplit(seed: 0)
        let binarise: (Float) -> Float = { $0 > 0.5 ? 1 : 0 }
        let model = CVAE()
        let loss = try trainAndTest({ try cvaeStep(model, batch: $0, optimizer: $1) }, optimizer: cvaeOptimizer,
                                    train: train.mapped(binarise), test: test.mapped(binarise), batch: 32,
                                    steps: 2 * 4000 / 32, seed: 0)
        XCTAssert(loss > 248.6 * 0.96 && loss < 250.6 * 1.04, "test -ELBO \(loss), TensorFlow 248.6-250.6")
    }
}

import Foundation
import Sinter
import SinterModels
import XCTest

/// `Trainer.runStep` checks every phase's loss: NaN or Inf stops the step with an error naming
/// the step and, with several phases (GANs), the phase.
final class TrainerLossCheckTests: XCTestCase {
    /// Two phases of the 1/16-width dense autoencoder sharing weights; `poisonAt` feeds NaN
    /// pixels to the second phase from that step on.
    func makeTrainer(phaseNames: [String], poisonAt: Int) -> (() throws -> Trainer) {
        {
            var generator = SplitMix64(seed: 5)
            let pixels = (0..<(8 * 784)).map { _ in Float(generator.next() % 256) / 255 }
            let data = ImageDataset(pixels: pixels, count: 8, height: 28, width: 28, channels: 1)
            let model = DenseAutoencoder(widthDivisor: 16)
            let calls = Counter()
            let phases = phaseNames.enumerated().map { index, name in
                TrainingPhase(name: name, family: StepFamily { try denseAutoencoderStep(model, batch: $0, optimizer: Adam()) }) { indices in
                    let x = data.batch(indices)
                    var values = x.floats
                    if index == phaseNames.count - 1, calls.next() >= poisonAt { values[0] = .nan }
                    return ["x": HostTensor(shape: [indices.count, 784], floats: values)]
                }
            }
            return try Trainer(model: "dense-autoencoder-w16", phases: phases, datasetCount: 8, batchSize: 4, seed: 1)
        }
    }

    final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        /// 1 on the first call, 2 on the second, ...
        func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }

    func testNonFiniteLossNamesTheStep() throws {
        let trainer = try makeTrainer(phaseNames: ["step"], poisonAt: 3)()
        try trainer.runStep()
        try trainer.runStep()
        XCTAssertThrowsError(try trainer.runStep()) { error in
            XCTAssertEqual("\(error)", "runtime error: training diverged at step 3: the loss is NaN")
        }
        XCTAssertEqual(trainer.step, 2, "the failed step is not counted")
    }

    func testNonFiniteLossNamesThePhase() throws {
        let trainer = try makeTrainer(phaseNames: ["discriminator", "generator"], poisonAt: 1)()
        XCTAssertThrowsError(try trainer.runStep()) { error in
            XCTAssertEqual("\(error)", "runtime error: training diverged at step 1 in phase 'generator': the loss is NaN")
        }
    }

    func testEmptyDatasetOrBatchIsAnErrorNotACrash() throws {
        let family = StepFamily { try denseAutoencoderStep(DenseAutoencoder(widthDivisor: 16), batch: $0, optimizer: Adam()) }
        let phase = TrainingPhase(name: "step", family: family) { _ in [:] }
        XCTAssertThrowsError(try Trainer(model: "m", phases: [phase], datasetCount: 0, batchSize: 4, seed: 0)) {
            XCTAssert("\($0)".contains("no images"), "\($0)")
        }
        XCTAssertThrowsError(try Trainer(model: "m", phases: [phase], datasetCount: 8, batchSize: 0, seed: 0)) {
            XCTAssert("\($0)".contains("batch size 0"), "\($0)")
        }
        XCTAssertThrowsError(try Trainer(model: "m", phases: [], datasetCount: 8, batchSize: 4, seed: 0)) {
            XCTAssert("\($0)".contains("no training phases"), "\($0)")
        }
    }
}

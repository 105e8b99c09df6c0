import Foundation
import Sinter
import SinterModels
import XCTest

/// The public training API: `Learner.fit` lowers the loss and reports metrics (epoch means equal
/// the steps' weighted means), resumes bit for bit, notes its partial batches; `evaluate` and
/// `predict` agree with an f64 reference computed from the trained weights; a GAN's two phases
/// train through the same API.
final class FitTests: XCTestCase {
    /// y = x . w + 0.5 on 20 examples of 3 features: batches of 8, 8, then a partial 4 each pass.
    static let data: TensorDataset = {
        var generator = SplitMix64(seed: 11)
        let x = (0..<60).map { _ in Double(generator.next() % 2001) / 1000 - 1 }
        let w = [0.8, -1.2, 0.4]
        let y = (0..<20).map { row in (0..<3).reduce(0.5) { $0 + x[row * 3 + $1] * w[$1] } }
        return try! TensorDataset(x: HostTensor(shape: [20, 3], doubles: x), y: HostTensor(shape: [20, 1], doubles: y))
    }()

    struct Linear: Model {
        let dense = Dense(1)
        func callAsFunction(_ x: Tensor) -> Tensor { dense(x) }
    }

    let meanAbsoluteError = Metric("mae") { ($0 - $1).abs().mean() }

    func makeLearner(seed: UInt64 = 3) throws -> Learner {
        let learner = try Learner(Linear(), loss: { meanSquaredError($0, target: $1) }, optimizer: Adam(learningRate: 0.05),
                                  metrics: [meanAbsoluteError], seed: seed, name: "linear")
        learner.noteHandler = { _ in }
        return learner
    }

    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sinter-fit-\(UUID().uuidString)-\(name)").path
    }

    func testFitLowersTheLossAndReportsEpochMeansOfItsMetrics() throws {
        let learner = try makeLearner()
        var steps: [StepReport] = []
        var progress = ""
        let history = try learner.fit(Self.data, epochs: 6, batchSize: 8, validation: Self.data,
                                      callbacks: [FitHooks(onStep: { steps.append($0) }), ProgressLine(write: { progress += $0 })], verbose: false)
        XCTAssertEqual(history.epochs.count, 6)
        XCTAssertEqual(steps.map(\.indices.count), Array(repeating: [8, 8, 4], count: 6).flatMap { $0 }, "an epoch is one pass, partial batch included")
        let losses = history["loss"]
        XCTAssertLessThan(losses.last!, losses.first! * 0.5, "\(losses)")
        XCTAssertEqual(history["val_loss"].count, 6)
        // Each epoch's metric is the batch-size-weighted mean of its steps' values.
        for (index, epoch) in history.epochs.enumerated() {
            let epochSteps = steps[(index * 3)..<(index * 3 + 3)]
            for name in ["loss", "mae"] {
                let weighted = epochSteps.reduce(0.0) { $0 + $1.values[name]! * Double($1.indices.count) } / 20
                XCTAssertEqual(epoch.values[name]!, weighted, accuracy: 1e-12, "epoch \(index + 1) \(name)")
            }
        }
        // The progress line: each epoch leaves a line with its means and the validation figures.
        let lines = progress.split(separator: "\n")
        XCTAssertEqual(lines.count, 6, progress)
        XCTAssert(lines[5].contains("epoch 6  step 18/18  loss ") && lines[5].contains("  mae ") && lines[5].contains("  val_loss "), progress)
    }

    /// The trained weights, read back, give an f64 reference for `predict` and `evaluate`.
    func testEvaluateAndPredictMatchAnF64ReferenceOnTheTrainedWeights() throws {
        let learner = try makeLearner()
        try learner.fit(Self.data, epochs: 2, batchSize: 8, verbose: false)
        let state = try XCTUnwrap(learner.state)
        let kernel = try state.persistent("dense.kernel").doubles, bias = try state.persistent("dense.bias").doubles[0]
        let x = Self.data.tensors["x"]!.doubles, y = Self.data.tensors["y"]!.doubles
        let reference = (0..<20).map { row in (0..<3).reduce(bias) { $0 + x[row * 3 + $1] * kernel[$1] } }

        let predicted = try learner.predict(Self.data)
        XCTAssertEqual(predicted.shape, [20, 1])
        for (got, expected) in zip(predicted.doubles, reference) { XCTAssertEqual(got, expected, accuracy: 1e-5) }

        let scores = try learner.evaluate(Self.data)
        XCTAssertEqual(scores.names, ["loss", "mae"])
        let mse = zip(reference, y).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 20
        let mae = zip(reference, y).map { Swift.abs($0 - $1) }.reduce(0, +) / 20
        XCTAssertEqual(scores["loss"]!, mse, accuracy: 1e-5 * max(1, mse))
        XCTAssertEqual(scores["mae"]!, mae, accuracy: 1e-5 * max(1, mae))
        // Other batch sizes give the same figures (the partial batch is weighted by its size).
        XCTAssertEqual(try learner.evaluate(Self.data, batchSize: 6)["loss"]!, scores["loss"]!, accuracy: 1e-6)
    }

    func testResumeAfterAnEpochEqualsTwoEpochsBitForBit() throws {
        let straightPath = temporaryPath("straight.sinter"), firstPath = temporaryPath("first.sinter"), resumedPath = temporaryPath("resumed.sinter")
        let straight = try makeLearner().fit(Self.data, epochs: 2, batchSize: 8, checkpoint: straightPath, verbose: false)
        try makeLearner().fit(Self.data, epochs: 1, batchSize: 8, checkpoint: firstPath, verbose: false)
        XCTAssertEqual(try Checkpoint.read(path: firstPath).step, 3)
        let resumed = try makeLearner().fit(Self.data, epochs: 1, batchSize: 8, checkpoint: resumedPath, resume: firstPath, verbose: false)

        let expected = try Checkpoint.read(path: straightPath), got = try Checkpoint.read(path: resumedPath)
        XCTAssertEqual(got.step, 6)
        XCTAssertEqual(Set(expected.tensors.keys), Set(got.tensors.keys))
        for (name, tensor) in expected.tensors { XCTAssertEqual(got.tensors[name], tensor, "\(name) differs after resume") }
        XCTAssertEqual(resumed.epochs.map(\.epoch), [2])
        XCTAssertEqual(resumed["loss"], [straight["loss"][1]], "the resumed epoch's mean loss is the straight run's second")
        // And training moved the weights.
        XCTAssertNotEqual(expected.tensors["dense.kernel"], try Checkpoint.read(path: firstPath).tensors["dense.kernel"])
    }

    /// A pass that the batch size does not divide ends with a short batch on its own graph,
    /// compiled once and reported in a note (once per learner), for training and evaluation.
    func testPartialBatchesAreNotedOnce() throws {
        let learner = try makeLearner()
        var printed: [String] = []
        learner.noteHandler = { printed.append($0) }
        let history = try learner.fit(Self.data, epochs: 1, batchSize: 8, validation: Self.data, verbose: false)
        XCTAssertEqual(history.notes, [
            "20 training examples in batches of 8 leave 4 for the last batch of each pass: it runs on its own compiled step graph for batch 4, compiled once",
            "20 validation examples in batches of 8 leave 4 for the last batch: it runs on its own compiled evaluation graph for batch 4, compiled once",
        ])
        try learner.fit(Self.data, epochs: 1, batchSize: 8, validation: Self.data, verbose: false)
        _ = try learner.evaluate(Self.data, batchSize: 8)
        _ = try learner.predict(try TensorDataset(x: Self.data.tensors["x"]!), batchSize: 32)
        XCTAssertEqual(printed.count, 3, "one note per graph compiled for a partial batch: \(printed)")
        XCTAssert(printed[2].contains("the 20 prediction examples are fewer than the batch size 32"), printed[2])
        // A batch size that divides the data: no note.
        XCTAssertEqual(try makeLearner().fit(Self.data, epochs: 1, batchSize: 5, verbose: false).notes, [])
    }

    func testDataThatDoesNotFitTheGraphsIsAClearError() throws {
        let learner = try makeLearner()
        XCTAssertThrowsError(try learner.fit(try TensorDataset(x: Self.data.tensors["x"]!), verbose: false)) {
            XCTAssert("\($0)".contains("gives no 'y' (it gives 'x')"), "\($0)")
        }
        try learner.fit(Self.data, epochs: 1, batchSize: 5, verbose: false)
        let wide = try TensorDataset(x: HostTensor(shape: [2, 4], floats: [Float](repeating: 0, count: 8)))
        XCTAssertThrowsError(try learner.predict(wide)) {
            XCTAssert("\($0)".contains("'x' examples of f32[3]; this dataset's are f32[4]"), "\($0)")
        }
        XCTAssertThrowsError(try Learner(Linear(), loss: { $0 - $1 }, optimizer: SGD(), name: "vector-loss").fit(Self.data, verbose: false)) {
            XCTAssert("\($0)".contains("FitTests.swift") && "\($0)".contains("scalar"), "\($0)")
        }
    }

    /// A feed no graph takes (a misspelt name) is an error in `fit`, `evaluate` and `predict`
    /// alike, never dropped; a feed another graph of the learner takes (targets, when
    /// predicting) is not.
    func testMisspeltFeedsAreRefusedByFitEvaluateAndPredict() throws {
        let misspelt = Self.data.mapping { $0.merging(["lable": $0["y"]!]) { given, _ in given } }
        let learner = try makeLearner()
        XCTAssertThrowsError(try learner.fit(misspelt, epochs: 1, batchSize: 5, verbose: false)) {
            XCTAssert("\($0)".contains("no phase takes the feed 'lable'"), "\($0)")
        }
        for (what, call) in [("evaluation", { _ = try learner.evaluate(misspelt) }), ("prediction", { _ = try learner.predict(misspelt) })] {
            XCTAssertThrowsError(try call(), what) {
                XCTAssert("\($0)".contains("learner 'linear' (\(what)): no graph takes the feed 'lable'; the graphs take: x, y"), "\($0)")
            }
        }
        // Graphs given by the caller: the names come from tracing them (the step is not compiled).
        func graph(_ name: String, _ batch: Int, takesLabel: Bool) throws -> Graph {
            let builder = GraphBuilder(name: name)
            let real = relu(builder.input("real", [batch, 2]))
            if takesLabel { try builder.graph.addOutput("loss", (real - builder.input("label", [batch, 2])).mean().id) }
            try builder.graph.addOutput("prediction", real.id)
            return builder.graph
        }
        let given = try Learner(name: "given", phases: [FitPhase("step") { try graph("step", $0, takesLabel: true) }],
                                prediction: { try graph("predict", $0, takesLabel: false) })
        given.noteHandler = { _ in }
        func feeds(_ names: [String]) -> IndexedDataset {
            IndexedDataset(count: 4) { indices in
                Dictionary(uniqueKeysWithValues: names.map { ($0, HostTensor(shape: [indices.count, 2], floats: [Float](repeating: -1, count: indices.count * 2))) })
            }
        }
        XCTAssertEqual(try given.predict(feeds(["real", "label"]), batchSize: 4).floats, [Float](repeating: 0, count: 8))
        XCTAssertThrowsError(try given.predict(feeds(["real", "lable"]), batchSize: 4)) {
            XCTAssert("\($0)".contains("no graph takes the feed 'lable' (did you mean 'label'?); the graphs take: label, real"), "\($0)")
        }
    }

    /// `saveGraph` writes the graph `fit` or `predict` compiles as IR text, and its state as
    /// safetensors: the seeded initial values before training, the trained ones after.
    func testSaveGraphWritesTheTrainingStepOrPredictionGraphWithItsWeights() throws {
        let learner = try makeLearner()
        let stepPath = temporaryPath("step.ir"), weightsPath = temporaryPath("step.safetensors")
        XCTAssertThrowsError(try learner.saveGraph(to: stepPath, train: true)) {
            XCTAssert("\($0)".contains("the shape of 'x' comes from the data: pass data"), "\($0)")
        }
        XCTAssertThrowsError(try learner.saveGraph(to: stepPath, train: true, phase: "generator", data: Self.data)) {
            XCTAssert("\($0)".contains("has no phase 'generator'; its phases: step"), "\($0)")
        }
        let step = try learner.saveGraph(to: stepPath, weights: weightsPath, train: true, batchSize: 5, data: Self.data)
        let reread = try parseIR(try String(contentsOfFile: stepPath, encoding: .utf8), file: stepPath)
        XCTAssertEqual(reread.text, step.text)
        XCTAssertEqual(Set(reread.outputs.map(\.name)), ["loss", "mae"])
        XCTAssertEqual(reread.inputs.map { reread[$0].type.shape }, [[5, 3], [5, 1]])
        XCTAssertEqual(reread.effects.filter { reread[$0].op == .adamUpdate }.count, 2)
        let initial = try Safetensors.read(path: weightsPath)
        XCTAssertEqual(Set(initial.keys), Set(reread.persistent.compactMap { reread[$0].sourceName }), "every param, slot and counter")

        try learner.fit(Self.data, epochs: 1, batchSize: 5, verbose: false)
        let predictPath = temporaryPath("predict.ir"), trainedPath = temporaryPath("predict.safetensors")
        let prediction = try learner.saveGraph(to: predictPath, weights: trainedPath)
        XCTAssertEqual(prediction.outputs.map(\.name), ["prediction"])
        XCTAssertEqual(prediction.inputs.map { prediction[$0].type.shape }, [[5, 3]], "the last fit's batch size")
        let trained = try Safetensors.read(path: trainedPath)
        XCTAssertEqual(trained["dense.kernel"], try learner.state?.persistent("dense.kernel"))
        XCTAssertNotEqual(trained["dense.kernel"], initial["dense.kernel"])
    }

    /// The zoo's GAN phases (discriminator, then generator) through the same API, resumed.
    func testATwoPhaseGANFitsAndResumesBitForBit() throws {
        var generator = SplitMix64(seed: 2)
        let images = ImageDataset(pixels: (0..<(8 * 784)).map { _ in Float(generator.next() % 256) / 255 }, count: 8, height: 28, width: 28, channels: 1)
        let real = images.mapping { ["real": $0["x"]!.reshaped([$0["x"]!.shape[0], 28, 28])] }
        let gan = GAN(widthDivisor: 16)
        func makeGAN() throws -> Learner {
            try Learner(name: "gan-w16", phases: GANPhase.allCases.map { phase in
                FitPhase(phase.rawValue) { try gan.step(phase, batch: $0, optimizer: RMSprop()) }
            }, seed: 4)
        }
        let straightPath = temporaryPath("gan.sinter"), firstPath = temporaryPath("gan-first.sinter"), resumedPath = temporaryPath("gan-resumed.sinter")
        let history = try makeGAN().fit(real, epochs: 2, batchSize: 4, checkpoint: straightPath, verbose: false)
        XCTAssertEqual(history.epochs.first?.values.names, ["discriminator.loss", "generator.loss"])
        try makeGAN().fit(real, epochs: 1, batchSize: 4, checkpoint: firstPath, verbose: false)
        try makeGAN().fit(real, epochs: 1, batchSize: 4, checkpoint: resumedPath, resume: firstPath, verbose: false)
        let expected = try Checkpoint.read(path: straightPath), got = try Checkpoint.read(path: resumedPath)
        XCTAssertEqual(got.step, 4)
        for (name, tensor) in expected.tensors { XCTAssertEqual(got.tensors[name], tensor, "\(name) differs after resume") }
    }
}

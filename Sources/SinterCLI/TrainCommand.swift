import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// `sinter train <model>`: trains a model from Graphs/ on real data with a live progress line, a
/// loss log (CSV), PNG grids, checkpoints, and a final test loss.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model from Graphs/ on real data.",
        discussion: "Fashion-MNIST models read /usr/share/datasets/fashion-mnist (or --data); MNIST models use the 5,000 digits shipped in Graphs/Data. `style` trains a fast style-transfer network: --style S.png [--style S2.png ...] --data PHOTOS --weights VGG19.safetensors.")

    @Argument(help: "Model name.") var model: String
    @Option(help: "Directory with the dataset's IDX files.") var data: String?
    @Option(parsing: .unconditional, help: "Epochs (one epoch = training images / batch steps).") var epochs: Int = 1
    @Option(parsing: .unconditional, help: "Total number of steps (overrides --epochs).") var steps: Int?
    @Option(parsing: .unconditional, help: "Batch size (default: the reference model's).") var batch: Int?
    @Option(parsing: .unconditional, help: "Adam learning rate (autoencoders).") var lr: Double?
    @Option(parsing: .unconditional, help: "Seed of the initial weights, the data order and the sampled noise.") var seed: UInt64 = 0
    @Option(name: .customLong("train-limit"), parsing: .unconditional, help: "Use only the first N training images.") var trainLimit: Int?
    @Option(name: .customLong("test-limit"), parsing: .unconditional, help: "Use only the first N test images.") var testLimit: Int?
    @Option(help: "Directory for the loss log, pictures and checkpoint.") var out: String = "sinter-out"
    @Option(help: "Continue from this checkpoint (bit for bit).") var resume: String?
    @OptionGroup var checks: CheckOptions
    @OptionGroup var styleOptions: StyleTrainingOptions

    func validate() throws {
        try OptionChecks.check(epochs, "--epochs", in: 1...OptionChecks.maxSteps, "passes over the training images")
        try OptionChecks.check(steps, "--steps", in: 1...OptionChecks.maxSteps, "training steps to run; 0 would train nothing")
        try OptionChecks.batch(batch)
        try OptionChecks.learningRate(lr)
        try OptionChecks.check(trainLimit, "--train-limit", in: 1...Int.max, "how many training images to use")
        try OptionChecks.check(testLimit, "--test-limit", in: 1...Int.max, "how many test images to use")
    }

    func run() throws {
        checks.apply()
        do { try train() } catch { throw fail(error) }
    }

    private func train() throws {
        if let data { try PathChecks.inputDirectory(data, option: "--data", expected: "a folder with the dataset's files") }
        if let resume { try PathChecks.inputFile(resume, option: "--resume", expected: "a checkpoint written by `sinter train`") }
        try PathChecks.outputDirectory(out, option: "--out")
        let checkpointPath = "\(out)/checkpoint.sinter", csvPath = "\(out)/loss.csv"
        try PathChecks.outputFile(checkpointPath, option: "--out")
        if model != "style", let option = styleOptions.given.first {
            throw SinterError.runtime(message: "\(option) applies only to `sinter train style`, not to \(model)")
        }
        let training = model == "style"
            ? try styleOptions.recipe(data: data, batch: batch, lr: lr, seed: seed, trainLimit: trainLimit, testLimit: testLimit)
            : try ZooTraining.make(model, data: data, batch: batch, lr: lr, seed: seed, trainLimit: trainLimit, testLimit: testLimit)
        let (byEpochs, overflow) = epochs.multipliedReportingOverflow(by: training.stepsPerEpoch)
        guard steps != nil || (!overflow && byEpochs <= OptionChecks.maxSteps) else {
            throw SinterError.runtime(message: "--epochs \(epochs) is \(overflow ? "too many" : String(byEpochs)) steps of \(training.stepsPerEpoch) per epoch; at most \(OptionChecks.maxSteps) steps")
        }
        let total = steps ?? byEpochs
        let run = TrainingOutputs(model: model, out: out, csvPath: csvPath, training: training)
        do {
            try training.learner.fit(training.train, batchSize: training.batch, steps: total, stepsPerEpoch: training.stepsPerEpoch,
                                     callbacks: [run], checkpoint: checkpointPath, resume: resume)
        } catch {
            // Before the first step (a refused checkpoint, say) nothing was written to report.
            guard let log = run.log else { throw error }
            let kept = run.savedStep.map { "\(checkpointPath) holds step \($0)" }
                ?? (PathChecks.kind(checkpointPath) == .regularFile ? "\(checkpointPath) was left as it was" : "no checkpoint was written")
            var reason = oneLineDescription(error)
            if case let SinterError.runtime(message) = error { reason = message }
            throw SinterError.runtime(message: "\(reason); \(kept); \(csvPath) has the \(log.rows) loss row\(log.rows == 1 ? "" : "s") computed so far")
        }
        let seconds = Date().timeIntervalSince(run.started)
        var summary = String(format: "%d steps in %.1f s", total, seconds)
        if let test = training.test, test.count > 0, let loss = try training.learner.evaluate(test)["loss"] {
            summary = String(format: "test loss %.4f on %d images | ", loss, test.count) + summary
        }
        print(summary + String(format: " | peak memory %.0f MB", peakResidentMegabytes()))
        print("wrote \(csvPath), \(checkpointPath) and \(out)/*.png")
    }
}

/// Peak resident set size of this process (VmHWM), in MB.
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

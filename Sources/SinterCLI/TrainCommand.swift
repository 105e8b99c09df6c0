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
        let recipe = model == "style"
            ? try styleOptions.recipe(data: data, batch: batch, lr: lr, seed: seed, trainLimit: trainLimit, testLimit: testLimit)
            : try Recipes.make(model, data: data, batch: batch, lr: lr, seed: seed, trainLimit: trainLimit, testLimit: testLimit)
        let (byEpochs, overflow) = epochs.multipliedReportingOverflow(by: recipe.stepsPerEpoch)
        let total = steps ?? byEpochs
        guard steps != nil || (!overflow && byEpochs <= OptionChecks.maxSteps) else {
            throw SinterError.runtime(message: "--epochs \(epochs) is \(overflow ? "too many" : String(byEpochs)) steps of \(recipe.stepsPerEpoch) per epoch; at most \(OptionChecks.maxSteps) steps")
        }
        let trainer = try Trainer(model: model, phases: recipe.phases, datasetCount: recipe.train.count,
                                  batchSize: recipe.batch, seed: seed)
        try recipe.prepare?(trainer)
        if let resume {
            try trainer.restore(try Checkpoint.read(path: resume), path: resume)
            FileHandle.standardError.write("resumed \(model) at step \(trainer.step) from \(resume)\n".data(using: .utf8)!)
        }
        // Generative models: samples from one fixed batch of codes each epoch.
        let samples = Samplers.models.contains(model) ? try SampleGrids(model: model, count: 16, seed: 1234) : nil
        let log = try LossLog(path: csvPath, resumingAt: resume != nil ? trainer.step : nil)
        let progress = ProgressLine(total: trainer.step + total, start: trainer.step)
        let started = Date()
        var savedStep: Int?
        do {
            while trainer.step < progress.total {
                let (outputs, indices) = try trainer.runStep()
                let epoch = (trainer.step - 1) / recipe.stepsPerEpoch + 1
                var losses: [String] = []
                for phase in recipe.phases {
                    let loss = Double(outputs[phase.name]?["loss"]?.floats.first ?? .nan)
                    try log.append(step: trainer.step, epoch: epoch, phase: phase.name, loss: loss)
                    losses.append(recipe.phases.count > 1 ? "\(phase.name.prefix(1)) \(String(format: "%.4f", loss))" : String(format: "%.4f", loss))
                }
                progress.update(step: trainer.step, epoch: epoch, losses: losses.joined(separator: " "), images: indices.count)
                if trainer.step % recipe.stepsPerEpoch == 0 || trainer.step == progress.total {
                    // A finite loss can still come with weights that just turned NaN: never save those.
                    let checkpoint = trainer.checkpoint()
                    if let bad = checkpoint.firstNonFiniteTensor() {
                        throw SinterError.runtime(message: "training diverged at step \(trainer.step): '\(bad.name)' element \(bad.index) is \(bad.value)")
                    }
                    try drawPicture(recipe, outputs: outputs, input: recipe.train.batch(indices), step: trainer.step)
                    if let samples, let state = trainer.state {
                        samples.load(from: state)
                        _ = try samples.write(base: "\(out)/\(model)-samples-step\(trainer.step)")
                    }
                    try checkpoint.write(to: checkpointPath)
                    try log.sync()
                    savedStep = trainer.step
                }
            }
        } catch {
            progress.finish()
            try? log.sync()
            let kept = savedStep.map { "\(checkpointPath) holds step \($0)" }
                ?? (PathChecks.kind(checkpointPath) == .regularFile ? "\(checkpointPath) was left as it was" : "no checkpoint was written")
            var reason = oneLineDescription(error)
            if case let SinterError.runtime(message) = error { reason = message }
            throw SinterError.runtime(message: "\(reason); \(kept); \(csvPath) has the \(log.rows) loss row\(log.rows == 1 ? "" : "s") computed so far")
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(started)
        var summary = String(format: "%d steps in %.1f s", total, seconds)
        if let test = recipe.test, test.count > 0, let evaluation = recipe.evaluation, let state = trainer.state {
            summary = String(format: "test loss %.4f on %d images | ", try testLoss(recipe, test, evaluation, state), test.count) + summary
        }
        print(summary + String(format: " | peak memory %.0f MB", peakResidentMegabytes()))
        print("wrote \(csvPath), \(checkpointPath) and \(out)/*.png")
    }

    /// Mean over the test set of the per-batch loss weighted by batch size.
    private func testLoss(_ recipe: TrainingRecipe, _ test: ImageDataset, _ evaluation: StepFamily, _ state: Executable) throws -> Double {
        var batcher = Batcher(count: test.count, batchSize: recipe.batch, shuffle: false, seed: 0)
        var sum = 0.0, seen = 0
        while seen < test.count {
            let indices = batcher.next()
            let executable = try evaluation.executable(batch: indices.count)
            executable.copyPersistent(from: state)
            sum += Double(try executable.run(recipe.feed(test, indices))["loss"]!.floats[0]) * Double(indices.count)
            seen += indices.count
        }
        return sum / Double(test.count)
    }

    /// A grid of up to 8 outputs (under their inputs, for reconstructions).
    private func drawPicture(_ recipe: TrainingRecipe, outputs: [String: [String: HostTensor]], input: HostTensor, step: Int) throws {
        guard let tensor = outputs[recipe.picture.phase]?[recipe.picture.output] else { return }
        let count = min(8, tensor.shape[0])
        let size = tensor.count / tensor.shape[0]
        // NHWC images, (B, H, W) images, or flat (B, H*W) gray ones.
        let channels = tensor.shape.count == 4 ? tensor.shape[3] : 1
        let side = tensor.shape.count >= 3 ? tensor.shape[1] : Int(Double(size).squareRoot())
        var images = Array(tensor.floats[0..<(count * size)])
        if recipe.picture.logits { images = images.map { 1 / (1 + Foundation.exp(-$0)) } }
        if recipe.picture.withInputs { images = Array(input.floats[0..<(count * size)]) + images }
        // NaN has no grey level (and would trap converting to a byte): draw it as the darkest.
        images = images.map { $0.isNaN ? recipe.picture.range.lowerBound : $0 }
        try ImageGrid.write(path: "\(out)/\(model)-step\(step).png", images: images, count: images.count / size,
                            height: side, width: size / side / channels, channels: channels, columns: count,
                            range: recipe.picture.range)
    }
}

/// The live `\r` progress line: epoch, step/total, losses, images/s, ETA.
final class ProgressLine {
    let total: Int
    let start: Int
    let started = Date()
    private var images = 0
    private var lastPrint = Date.distantPast

    init(total: Int, start: Int = 0) {
        self.total = total
        self.start = start
    }

    var imagesPerSecond: Double { Double(images) / max(Date().timeIntervalSince(started), 1e-9) }

    func update(step: Int, epoch: Int, losses: String, images batch: Int) {
        images += batch
        guard Date().timeIntervalSince(lastPrint) > 0.25 || step == total else { return }
        lastPrint = Date()
        let done = Double(step - start), elapsed = Date().timeIntervalSince(started)
        let eta = done > 0 ? elapsed / done * Double(total - step) : 0
        // Slow models (style transfer at 256², under 1 img/s on two cores) still need a readable rate.
        let rate = String(format: imagesPerSecond < 10 ? "%.2f" : "%.0f", imagesPerSecond)
        let line = String(format: "\repoch %d  step %d/%d  loss %@  %@ img/s  ETA %@   ", epoch, step, total, losses,
                          rate, formatDuration(eta))
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }

    func finish() { FileHandle.standardError.write("\n".data(using: .utf8)!) }
}

func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
}

/// Peak resident set size of this process (VmHWM), in MB.
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

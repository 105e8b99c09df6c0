import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// `sinter train <model>`: trains a model from Graphs/ on real data with a live progress line, a
/// loss log (CSV), PNG grids and a final test loss.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model from Graphs/ on real data.",
        discussion: "Models: autoencoder (Fashion-MNIST from /usr/share/datasets/fashion-mnist or --data).")

    @Argument(help: "Model name.") var model: String
    @Option(help: "Directory with the dataset's IDX files.") var data: String?
    @Option(help: "Epochs of `steps-per-epoch` steps (default 1).") var epochs: Int = 1
    @Option(help: "Total number of steps (overrides --epochs).") var steps: Int?
    @Option(help: "Batch size.") var batch: Int = 128
    @Option(help: "Adam learning rate.") var lr: Double = 1e-3
    @Option(help: "Seed of the initial weights and the data order.") var seed: UInt64 = 0
    @Option(name: .customLong("train-limit"), help: "Use only the first N training images.") var trainLimit: Int?
    @Option(name: .customLong("test-limit"), help: "Use only the first N test images.") var testLimit: Int?
    @Option(help: "Directory for the loss log and pictures.") var out: String = "sinter-out"

    func run() throws {
        do {
            guard model == "autoencoder" else {
                throw SinterError.runtime(message: "`sinter train` supports only 'autoencoder' so far; got '\(model)'")
            }
            try trainAutoencoder()
        } catch {
            throw fail(error)
        }
    }

    private func trainAutoencoder() throws {
        let trainSet = try Datasets.fashionMNIST(train: true, directory: data, limit: trainLimit)
        let testSet = try Datasets.fashionMNIST(train: false, directory: data, limit: testLimit)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let net = ConvAutoencoder()
        let training = StepFamily { try autoencoderStep(net, batch: $0, optimizer: Adam(learningRate: lr)) }
        let evaluation = StepFamily { try autoencoderStep(net, batch: $0, optimizer: nil) }

        let stepsPerEpoch = trainSet.count / batch
        let total = steps ?? epochs * stepsPerEpoch
        var batcher = Batcher(count: trainSet.count, batchSize: batch, seed: seed)
        var log = "step,epoch,loss,images_per_second\n"
        let progress = ProgressLine(total: total)
        var lastBatch: (input: HostTensor, output: HostTensor)?

        let first = try training.executable(batch: batch)
        try first.initializeParameters(seed: seed)
        let started = Date()
        for step in 1...max(total, 1) where total > 0 {
            let indices = batcher.next()
            let input = trainSet.batch(indices)
            let executable = try training.executable(batch: indices.count)
            let results = try executable.run(["x": input])
            let loss = Double(results["loss"]!.floats[0])
            lastBatch = (input, results["out"]!)
            let epoch = (step - 1) / max(stepsPerEpoch, 1) + 1
            progress.update(step: step, epoch: epoch, loss: loss, images: indices.count)
            log += "\(step),\(epoch),\(loss),\(progress.imagesPerSecond)\n"
            if step % max(stepsPerEpoch, 1) == 0 || step == total, let lastBatch {
                try writeReconstructions(lastBatch.input, lastBatch.output, name: "reconstructions-step\(step).png")
            }
        }
        progress.finish()
        let trainSeconds = Date().timeIntervalSince(started)
        try log.write(toFile: "\(out)/loss.csv", atomically: true, encoding: .utf8)

        // Test loss: the mean of per-image losses over the whole test set.
        var sum = 0.0
        var evaluator = Batcher(count: testSet.count, batchSize: batch, shuffle: false, seed: 0)
        var seen = 0
        while seen < testSet.count {
            let indices = evaluator.next()
            let executable = try evaluation.executable(batch: indices.count)
            if let trained = training.current { executable.copyPersistent(from: trained) }
            let results = try executable.run(["x": testSet.batch(indices)])
            sum += Double(results["loss"]!.floats[0]) * Double(indices.count)
            seen += indices.count
        }
        let testLoss = sum / Double(testSet.count)
        let peak = peakResidentMegabytes()
        print(String(format: "test loss (BCE) %.4f on %d images | %d steps in %.1f s (compile %.1f s) | peak memory %.0f MB",
                     testLoss, testSet.count, total, trainSeconds, training.compileSeconds, peak))
        print("wrote \(out)/loss.csv and \(out)/reconstructions-*.png")
    }

    /// Inputs (top row) and reconstructions (bottom row) of up to 8 images.
    private func writeReconstructions(_ input: HostTensor, _ output: HostTensor, name: String) throws {
        let count = min(8, input.shape[0])
        let size = 28 * 28
        let images = Array(input.floats[0..<(count * size)]) + Array(output.floats[0..<(count * size)])
        try ImageGrid.write(path: "\(out)/\(name)", images: images, count: 2 * count, height: 28, width: 28, channels: 1,
                            columns: count)
    }
}

/// The live `\r` progress line: epoch, step/total, loss, images/s, ETA.
final class ProgressLine {
    let total: Int
    let started = Date()
    private var images = 0
    private var lastPrint = Date.distantPast
    private var smoothedLoss: Double?

    init(total: Int) { self.total = total }

    var imagesPerSecond: Double { Double(images) / max(Date().timeIntervalSince(started), 1e-9) }

    func update(step: Int, epoch: Int, loss: Double, images batch: Int) {
        images += batch
        smoothedLoss = smoothedLoss.map { 0.9 * $0 + 0.1 * loss } ?? loss
        guard Date().timeIntervalSince(lastPrint) > 0.25 || step == total else { return }
        lastPrint = Date()
        let elapsed = Date().timeIntervalSince(started)
        let eta = elapsed / Double(step) * Double(total - step)
        let line = String(format: "\repoch %d  step %d/%d  loss %.4f  %.0f img/s  ETA %@   ", epoch, step, total,
                          smoothedLoss ?? loss, imagesPerSecond, formatDuration(eta))
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

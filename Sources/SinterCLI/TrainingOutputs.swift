import Foundation
import Sinter
import SinterModels

/// What `sinter train` writes as the learner trains: the loss log row by row, and at each
/// epoch's end the PNG grid of the last batch's outputs and the samples of generative models.
final class TrainingOutputs: FitCallback {
    let model: String
    let out: String
    let csvPath: String
    let training: ZooTraining
    /// Open from the run's first step on (nil until then).
    private(set) var log: LossLog?
    private(set) var savedStep: Int?
    private(set) var started = Date()
    private var samples: SampleGrids?

    init(model: String, out: String, csvPath: String, training: ZooTraining) {
        (self.model, self.out, self.csvPath, self.training) = (model, out, csvPath, training)
    }

    func fitBegan(_ start: FitStart) throws {
        if let resumed = start.resumedFrom {
            FileHandle.standardError.write("resumed \(model) at step \(start.step) from \(resumed)\n".data(using: .utf8)!)
        }
        // Generative models: samples from one fixed batch of codes each epoch.
        samples = Samplers.models.contains(model) ? try SampleGrids(model: model, count: 16, seed: 1234) : nil
        let log = try LossLog(path: csvPath, resumingAt: start.resumedFrom != nil ? start.step : nil)
        started = Date()
        self.log = log
    }

    func stepEnded(_ step: StepReport) throws {
        for (phase, loss) in step.losses { try log?.append(step: step.step, epoch: step.epoch, phase: phase, loss: loss) }
    }

    func epochEnded(_ epoch: EpochReport) throws {
        if epoch.checkpoint != nil { savedStep = epoch.step }
        try drawPicture(epoch.lastStep)
        if let samples, let state = training.learner.state {
            samples.load(from: state)
            _ = try samples.write(base: "\(out)/\(model)-samples-step\(epoch.step)")
        }
        try log?.sync()
    }

    func fitEnded(error: Error?) {
        if error != nil { try? log?.sync() }
    }

    /// A grid of up to 8 outputs (under their inputs, for reconstructions).
    private func drawPicture(_ step: StepReport) throws {
        let picture = training.picture
        guard let tensor = step.outputs[picture.phase]?[picture.output] else { return }
        let count = min(8, tensor.shape[0])
        let size = tensor.count / tensor.shape[0]
        // NHWC images, (B, H, W) images, or flat (B, H*W) gray ones.
        let channels = tensor.shape.count == 4 ? tensor.shape[3] : 1
        let side = tensor.shape.count >= 3 ? tensor.shape[1] : Int(Double(size).squareRoot())
        var images = Array(tensor.floats[0..<(count * size)])
        if picture.logits { images = images.map { 1 / (1 + Foundation.exp(-$0)) } }
        if let input = picture.input, let batch = training.train.feeds(for: step.indices)[input] {
            images = Array(batch.floats[0..<(count * size)]) + images
        }
        // NaN has no grey level (and would trap converting to a byte): draw it as the darkest.
        images = images.map { $0.isNaN ? picture.range.lowerBound : $0 }
        try ImageGrid.write(path: "\(out)/\(model)-step\(step.step).png", images: images, count: images.count / size,
                            height: side, width: size / side / channels, channels: channels, columns: count,
                            range: picture.range)
    }
}

import Foundation
import SinterIR

extension Learner {
    /// Trains on `data` for `epochs` more epochs (or exactly `steps` more steps) in batches of
    /// `batchSize`, drawn in an order shuffled with the learner's seed every pass, and returns
    /// each epoch's means.
    ///
    /// An epoch is one pass over the data (`ceil(count / batchSize)` steps) unless
    /// `stepsPerEpoch` says otherwise; the run's last step ends an epoch too (`complete` false
    /// when it is part way through one). At each epoch's end: the `validation` data's loss and
    /// metrics (`val_loss`, ...), then the checkpoint, written to `checkpoint` when given (after
    /// checking that no state went NaN or Inf), then the callbacks. `resume` continues from a
    /// checkpoint bit for bit: N epochs, a checkpoint, then N more equal 2N at once. A progress
    /// line is printed on stderr unless `verbose` is false.
    @discardableResult
    public func fit(_ data: any Dataset, epochs: Int = 1, batchSize: Int = 32, steps: Int? = nil, stepsPerEpoch: Int? = nil,
                    validation: (any Dataset)? = nil, callbacks: [FitCallback] = [], checkpoint: String? = nil,
                    resume: String? = nil, verbose: Bool = true) throws -> History {
        guard epochs >= 1, batchSize >= 1, steps.map({ $0 >= 1 }) ?? true, stepsPerEpoch.map({ $0 >= 1 }) ?? true else {
            throw SinterError.runtime(message: "fit '\(name)': epochs \(epochs), batch size \(batchSize), steps \(steps.map(String.init) ?? "-"), steps per epoch \(stepsPerEpoch.map(String.init) ?? "-"): each must be at least 1")
        }
        if validation != nil, evaluation == nil {
            throw SinterError.runtime(message: "fit '\(name)': validation data needs an evaluation graph, and this learner has none")
        }
        try examples?.resolve(data, targets: true, name: name)
        if let validation { try examples?.resolve(validation, targets: true, name: name) }
        if let resume { try load(resume) }
        let trainer = try self.trainer(for: data, batchSize: batchSize)
        self.batchSize = batchSize
        let perEpoch = stepsPerEpoch ?? (data.count + batchSize - 1) / batchSize
        let (planned, overflow) = epochs.multipliedReportingOverflow(by: perEpoch)
        guard steps != nil || !overflow, (steps ?? planned) <= Checkpoint.maxStep - trainer.step else {
            throw SinterError.runtime(message: "fit '\(name)': \(epochs) epochs of \(perEpoch) steps are more than the \(Checkpoint.maxStep) steps a run can take")
        }
        var history = History()
        let phaseText = phases.count == 1 ? "step graph" : "graph of each phase"
        history.notes += [notePartialBatch(count: data.count, batch: batchSize, what: "training", graph: phaseText),
                          validation.flatMap { notePartialBatch(count: $0.count, batch: batchSize, what: "validation", graph: "evaluation graph") }]
            .compactMap { $0 }
        let callbacks: [FitCallback] = (verbose ? [ProgressLine()] : []) + callbacks
        let start = FitStart(step: trainer.step, endStep: trainer.step + (steps ?? planned), stepsPerEpoch: perEpoch, batchSize: batchSize,
                             examples: data.count, phases: phases.map(\.name), resumedFrom: resume)
        do {
            for callback in callbacks { try callback.fitBegan(start) }
            var epoch = WeightedMeans(), epochStarted = Date()
            while trainer.step < start.endStep {
                let (outputs, indices) = try trainer.runStep()
                let report = stepReport(step: trainer.step, epoch: (trainer.step - 1) / perEpoch + 1, indices: indices, outputs: outputs)
                epoch.add(report.values, weight: indices.count)
                for callback in callbacks { try callback.stepEnded(report) }
                guard trainer.step % perEpoch == 0 || trainer.step == start.endStep else { continue }
                var values = epoch.means
                if let validation {
                    for (name, value) in try evaluate(validation, batchSize: batchSize, what: "validation") { values["val_\(name)"] = value }
                }
                var written: String?
                if let checkpoint {
                    // A finite loss can still come with weights that just turned NaN: never save those.
                    let snapshot = trainer.checkpoint()
                    if let bad = snapshot.firstNonFiniteTensor() {
                        throw SinterError.runtime(message: "training diverged at step \(trainer.step): '\(bad.name)' element \(bad.index) is \(bad.value)")
                    }
                    try snapshot.write(to: checkpoint)
                    written = checkpoint
                }
                let ended = EpochReport(epoch: report.epoch, step: trainer.step, complete: trainer.step % perEpoch == 0, values: values,
                                        checkpoint: written, seconds: Date().timeIntervalSince(epochStarted), lastStep: report)
                history.epochs.append(ended)
                for callback in callbacks { try callback.epochEnded(ended) }
                (epoch, epochStarted) = (WeightedMeans(), Date())
            }
        } catch {
            for callback in callbacks { callback.fitEnded(error: error) }
            throw error
        }
        for callback in callbacks { callback.fitEnded(error: nil) }
        return history
    }

    /// A step's losses (`loss`, or `<phase>.loss` with several phases) and metrics, read from
    /// the phases' scalar outputs.
    func stepReport(step: Int, epoch: Int, indices: ArraySlice<Int>, outputs: [String: [String: HostTensor]]) -> StepReport {
        var values = FitValues()
        var losses: [(phase: String, value: Double)] = []
        let prefixed = phases.count > 1
        for (phase, _) in phases {
            let loss = Double(outputs[phase]?["loss"]?.floats.first ?? .nan)
            losses.append((phase, loss))
            values[prefixed ? "\(phase).loss" : "loss"] = loss
            for metric in metrics {
                guard let tensor = outputs[phase]?[metric], tensor.count == 1 else { continue }
                values[prefixed ? "\(phase).\(metric)" : metric] = tensor.doubles[0]
            }
        }
        return StepReport(step: step, epoch: epoch, indices: indices, outputs: outputs, losses: losses, values: values)
    }
}

/// Batch-size-weighted means of named values, in the order they first came.
struct WeightedMeans {
    private var sums = FitValues()
    private var weights: [String: Int] = [:]

    mutating func add(_ values: FitValues, weight: Int) {
        for (name, value) in values {
            sums[name] = (sums[name] ?? 0) + value * Double(weight)
            weights[name, default: 0] += weight
        }
    }

    var means: FitValues {
        var means = FitValues()
        for (name, sum) in sums { means[name] = sum / Double(weights[name] ?? 1) }
        return means
    }
}

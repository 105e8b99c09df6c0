import SinterIR
import SinterRuntime

extension Learner {
    /// The evaluation graph's `loss` and metrics over `data` in index order, each the mean of
    /// the per-batch values weighted by batch size (Keras's `evaluate`), on the newest state.
    public func evaluate(_ data: any Dataset, batchSize: Int? = nil) throws -> FitValues {
        try evaluate(data, batchSize: batchSize, what: "evaluation")
    }

    /// `evaluate`, naming the data `what` in notes (`fit`'s is the validation data).
    func evaluate(_ data: any Dataset, batchSize: Int?, what: String) throws -> FitValues {
        guard let evaluation else { throw SinterError.runtime(message: "learner '\(name)' has no evaluation graph") }
        try examples?.resolve(data, targets: true, name: name)
        var means = WeightedMeans()
        try forEachBatch(of: data, on: evaluation, batchSize: batchSize, what: what) { outputs, count in
            var values = FitValues()
            for output in ["loss"] + metrics {
                guard let tensor = outputs[output], tensor.count == 1 else { continue }
                values[output] = Double(tensor.floats[0])
            }
            means.add(values, weight: count)
        }
        return means.means
    }

    /// The prediction graph's `predictionOutput` for every example of `data`, in index order,
    /// as one tensor (the batches' outputs one after the other on axis 0).
    public func predict(_ data: any Dataset, batchSize: Int? = nil) throws -> HostTensor {
        guard let prediction else { throw SinterError.runtime(message: "learner '\(name)' has no prediction graph") }
        try examples?.resolve(data, targets: false, name: name)
        var parts: [HostTensor] = []
        try forEachBatch(of: data, on: prediction, batchSize: batchSize, what: "prediction") { outputs, _ in
            guard let output = outputs[predictionOutput] else {
                throw SinterError.runtime(message: "learner '\(name)': the prediction graph has no output '\(predictionOutput)' (it has \(outputs.keys.sorted().joined(separator: ", ")))")
            }
            parts.append(output)
        }
        guard let all = HostTensor.concatenatingRows(parts) else {
            throw SinterError.runtime(message: "learner '\(name)': the prediction output '\(predictionOutput)' has no batch axis")
        }
        return all
    }

    /// Every feed name some graph of this learner takes: `x` and `y` for a learner made from a
    /// `Model`, else the inputs of its phases, evaluation and prediction graphs (each traced for
    /// `batch` when it is not compiled yet; input names do not depend on the batch size).
    func feedNames(batch: Int) throws -> Set<String> {
        if examples != nil { return ["x", "y"] }
        var names = Set<String>()
        for family in phases.map(\.family) + [evaluation, prediction].compactMap({ $0 }) {
            names.formUnion(try family.inputNames(batch: batch))
        }
        return names
    }

    /// Runs `family`'s graph on every batch of `data` in index order (prepared on the loader
    /// thread), each from the newest state; `body` gets each batch's outputs and size.
    private func forEachBatch(of data: any Dataset, on family: StepFamily, batchSize: Int?, what: String,
                              _ body: ([String: HostTensor], Int) throws -> Void) throws {
        guard data.count >= 1 else { throw SinterError.runtime(message: "learner '\(name)': the \(what) data has no examples") }
        let size = batchSize ?? self.batchSize ?? 32
        guard size >= 1 else { throw SinterError.runtime(message: "learner '\(name)': batch size \(size), expected at least 1") }
        _ = notePartialBatch(count: data.count, batch: size, what: what, graph: family === prediction ? "prediction graph" : "evaluation graph")
        // A feed no graph of the learner takes is misspelt, as `fit` says; one that another graph
        // takes (the targets `y` when predicting) is left out.
        try UntakenFeeds.check(data.feeds(for: [0]).keys, taken: try feedNames(batch: size), owner: "learner '\(name)' (\(what))", takers: "graphs")
        let batches = (data.count + size - 1) / size
        let loader = data.batches(size: size, shuffle: false, limit: batches)
        // Every batch runs from the same state, so random ops draw the same numbers for each
        // (the zoo's test losses were always computed so) and evaluating changes nothing.
        var start: [String: HostTensor]?
        for _ in 0..<batches {
            let (indices, feeds) = loader.next()
            let executable = try family.executable(batch: indices.count)
            if let state {
                executable.copyPersistent(from: state)
            } else if let start {
                try executable.loadPersistent(start, requireAll: true)
            } else {
                try loadState(into: executable)
                start = executable.persistentSnapshot()
            }
            let names = Set(executable.program.inputs.map(\.name))
            try body(try executable.run(feeds.filter { names.contains($0.key) }), indices.count)
        }
    }
}

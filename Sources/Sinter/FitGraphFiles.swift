import SinterIO
import SinterIR

extension Learner {
    /// The graph this learner compiles, as traced (before any pass): with `train`, the whole
    /// training step `fit` runs (forward, gradients and optimizer updates) of phase `phase`
    /// (default: the first; a GAN has two); without, the forward graph `predict` runs (inference
    /// mode, output `predictionOutput`). For batches of `batchSize` (default: the last `fit`'s,
    /// else 32). A learner made from a `Model` takes the shapes of `x` and `y` from the data:
    /// give `data` (any dataset of its examples) unless it was fit, evaluated or predicted on.
    public func graph(train: Bool = false, phase: String? = nil, batchSize: Int? = nil, data: (any Dataset)? = nil) throws -> Graph {
        try graphFamily(train: train, phase: phase, data: data).family.graph(batch: try checkedBatchSize(batchSize))
    }

    /// Writes `graph(train:phase:batchSize:data:)` as IR text to `path`, the file `sinter dump`,
    /// `sinter bench` and `sinter run` read. With `weights`, also writes the graph's persistent
    /// tensors there as safetensors (what `sinter run FILE.ir --weights` and `sinter bench FILE.ir
    /// --weights` load): the newest trained state, a loaded checkpoint's, or else the seeded
    /// initial values `fit` starts from; for the training step, optimizer slots and counters too.
    /// That compiles the graph (once, as `fit` or `predict` would). Returns the graph written.
    @discardableResult
    public func saveGraph(to path: String, weights: String? = nil, train: Bool = false, phase: String? = nil,
                          batchSize: Int? = nil, data: (any Dataset)? = nil) throws -> Graph {
        let (_, family) = try graphFamily(train: train, phase: phase, data: data)
        let size = try checkedBatchSize(batchSize)
        let graph = try family.graph(batch: size)
        try graph.verify()
        if let weights {
            let executable = try family.executable(batch: size)
            if let state { executable.copyPersistent(from: state) } else { try loadState(into: executable) }
            try Safetensors.write(executable.persistentSnapshot(), to: weights)
        }
        try AtomicFile.write(Array(graph.text.utf8), to: path)
        return graph
    }

    private func checkedBatchSize(_ batchSize: Int?) throws -> Int {
        let size = batchSize ?? self.batchSize ?? 32
        guard size >= 1 else { throw SinterError.runtime(message: "learner '\(name)': batch size \(size), expected at least 1") }
        return size
    }

    /// The family of the graph asked for, its example types checked first.
    private func graphFamily(train: Bool, phase: String?, data: (any Dataset)?) throws -> (name: String, family: StepFamily) {
        let feeds = train ? ["x", "y"] : ["x"]
        if let examples {
            if let data { try examples.resolve(data, targets: train, name: name) }
            try examples.requireResolved(feeds, name: name)
        }
        guard train else {
            if phase != nil { throw SinterError.runtime(message: "learner '\(name)': a phase names a training step: pass train: true") }
            guard let prediction else { throw SinterError.runtime(message: "learner '\(name)' has no prediction graph") }
            return ("prediction", prediction)
        }
        guard let phase else { return phases[0] }
        guard let found = phases.first(where: { $0.name == phase }) else {
            throw SinterError.runtime(message: "learner '\(name)' has no phase '\(phase)'; its phases: \(phases.map(\.name).joined(separator: ", "))")
        }
        return found
    }
}

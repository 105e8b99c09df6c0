import Foundation
import SinterIR
import SinterRuntime

/// One step of a training iteration, before it meets a dataset: a name and the graph traced for
/// a batch size (a whole training step with its optimizer). A GAN has two (discriminator, then
/// generator); the phases share weights by name.
public struct FitPhase {
    public var name: String
    public var trace: (_ batch: Int) throws -> Graph

    public init(_ name: String, trace: @escaping (_ batch: Int) throws -> Graph) {
        self.name = name
        self.trace = trace
    }
}

/// A model with its training step, ready to `fit`, `evaluate` and `predict` (Keras's compiled
/// model). Made from a `Model`, a loss, an optimizer and metrics (`Learner(model, loss:...)`),
/// or from traced graphs: the training step's phases, a forward graph whose `loss` (and
/// metrics) `evaluate` averages, and one whose `predictionOutput` `predict` collects.
///
/// Graphs are compiled once per batch size, on first use. A pass whose example count the batch
/// size does not divide ends with a short batch: it runs on its own graph, compiled once, and
/// the learner says so in a note (`notes`, printed by `noteHandler`) instead of compiling
/// silently. Training state (weights, optimizer slots, BN statistics, counters, data order)
/// lives in a `Trainer`, so checkpoints resume bit for bit.
public final class Learner {
    /// The model's name in checkpoints.
    public let name: String
    public let seed: UInt64
    /// Scalar outputs of the graphs averaged per epoch and by `evaluate`, besides `loss`.
    public let metrics: [String]
    public let predictionOutput: String
    let phases: [(name: String, family: StepFamily)]
    let evaluation: StepFamily?
    let prediction: StepFamily?
    let afterInitialization: ((Executable) throws -> Void)?
    /// For graphs traced from the data (`Learner(model, loss:...)`): the example types of `x`
    /// and `y`, fixed by the first dataset seen. Nil when the graphs were given.
    let examples: ExampleTypes?
    public private(set) var trainer: Trainer?
    /// A checkpoint loaded before any training: what evaluation and the first `fit` start from.
    private var loaded: (checkpoint: Checkpoint, path: String)?
    /// The batch size of the last `fit` (what `evaluate` and `predict` default to).
    public internal(set) var batchSize: Int?
    public private(set) var notes: [String] = []
    private var notedKeys: Set<String> = []
    /// Receives each note once (stderr by default).
    public var noteHandler: (String) -> Void = { FileHandle.standardError.write(Data("note: \($0)\n".utf8)) }

    /// `afterInitialization` runs on the first phase's executable once its parameters are
    /// initialised from `seed` (load frozen weights there); `metrics` name scalar outputs of
    /// the phases' and the evaluation graph.
    public convenience init(name: String, phases: [FitPhase], evaluation: ((_ batch: Int) throws -> Graph)? = nil,
                            prediction: ((_ batch: Int) throws -> Graph)? = nil, predictionOutput: String = "prediction",
                            metrics: [String] = [], seed: UInt64 = 0,
                            afterInitialization: ((Executable) throws -> Void)? = nil) throws {
        try self.init(name: name, phases: phases, evaluation: evaluation, prediction: prediction, predictionOutput: predictionOutput,
                      metrics: metrics, seed: seed, afterInitialization: afterInitialization, examples: nil)
    }

    init(name: String, phases: [FitPhase], evaluation: ((Int) throws -> Graph)?, prediction: ((Int) throws -> Graph)?,
         predictionOutput: String, metrics: [String], seed: UInt64, afterInitialization: ((Executable) throws -> Void)?,
         examples: ExampleTypes?) throws {
        guard !phases.isEmpty else { throw SinterError.runtime(message: "learner '\(name)': no training phases") }
        if let repeated = phases.map(\.name).firstRepeated {
            throw SinterError.runtime(message: "learner '\(name)': two phases are named '\(repeated)'")
        }
        if let bad = metrics.first(where: { $0 == "loss" || $0.isEmpty }) ?? metrics.firstRepeated {
            throw SinterError.runtime(message: "learner '\(name)': metric name '\(bad)' is empty, 'loss' or repeated")
        }
        self.name = name
        self.seed = seed
        self.metrics = metrics
        self.predictionOutput = predictionOutput
        self.phases = phases.map { ($0.name, StepFamily(trace: $0.trace)) }
        self.evaluation = evaluation.map(StepFamily.init)
        self.prediction = prediction.map(StepFamily.init)
        self.afterInitialization = afterInitialization
        self.examples = examples
    }

    /// The executable holding the newest trained state (nil before the first `fit`).
    public var state: Executable? { trainer?.state }

    /// Everything needed to continue exactly here (nil before the first `fit`).
    public func checkpoint() -> Checkpoint? { trainer?.checkpoint() ?? loaded?.checkpoint }

    /// Writes `checkpoint()` to `path` (atomically).
    public func save(to path: String) throws {
        guard let checkpoint = checkpoint() else {
            throw SinterError.runtime(message: "learner '\(name)' has nothing to save yet: fit or load it first")
        }
        try checkpoint.write(to: path)
    }

    /// Continues from the checkpoint at `path`: at once when training has begun, else for
    /// `evaluate`, `predict` and the first `fit`. Everything is checked before anything loads.
    public func load(_ path: String) throws {
        let checkpoint = try Checkpoint.read(path: path)
        try checkpoint.checkModel(name, path: path)
        if let trainer { try trainer.restore(checkpoint, path: path) } else { loaded = (checkpoint, path) }
    }

    /// Passes `text` on unless a note with the same `key` was (one per graph compiled).
    func note(_ text: String, key: String) {
        guard notedKeys.insert(key).inserted else { return }
        notes.append(text)
        noteHandler(text)
    }

    /// The note for `count` examples in batches of `batch` when the last one is short: its
    /// graph is compiled once, so it is noted once per graph and size (and returned each time).
    func notePartialBatch(count: Int, batch: Int, what: String, graph: String) -> String? {
        let rest = count % batch
        guard rest != 0 else { return nil }
        let text = count < batch
            ? "the \(count) \(what) examples are fewer than the batch size \(batch): they run as one batch of \(count) on their own compiled \(graph)"
            : "\(count) \(what) examples in batches of \(batch) leave \(rest) for the last batch\(what == "training" ? " of each pass" : ""): it runs on its own compiled \(graph) for batch \(rest), compiled once"
        note(text, key: "\(graph) \(rest)")
        return text
    }

    /// Fills `executable`'s persistent state before any training: a loaded checkpoint's, or the
    /// seeded initial values (as `fit` would start from).
    func loadState(into executable: Executable) throws {
        if let loaded {
            try loaded.checkpoint.restore(into: executable, model: name, path: loaded.path)
        } else {
            try executable.initializeParameters(seed: seed)
            try afterInitialization?(executable)
        }
    }

    /// The trainer for `data` in batches of `batchSize`: the current one, or a new one (each
    /// phase compiled, its inputs checked against the data) that carries the weights and state
    /// on from the current one or from a loaded checkpoint.
    func trainer(for data: any Dataset, batchSize: Int) throws -> Trainer {
        if let trainer, trainer.batchSize == batchSize, trainer.datasetCount == data.count { return trainer }
        guard data.count >= 1 else { throw SinterError.runtime(message: "learner '\(name)': the training data has no examples") }
        // Another dataset size or batch size: the same weights and state, a new data order.
        let carried = trainer.map { old -> Checkpoint in
            var checkpoint = old.checkpoint()
            checkpoint.tensors = checkpoint.tensors.filter { !$0.key.hasPrefix("trainer.") }
            return checkpoint
        }
        let sample = data.feeds(for: [0])
        let taken = Set(try phases.flatMap { phase in try phase.family.executable(batch: batchSize).inputNames })
        // Each phase is fed only the names it takes (below): a misspelt one must fail here.
        try UntakenFeeds.check(sample.keys, taken: taken, owner: "learner '\(name)'", takers: "phases")
        let trainingPhases = try phases.map { phase -> TrainingPhase in
            let inputs = try phase.family.executable(batch: batchSize).program.inputs
            if let missing = inputs.first(where: { sample[$0.name] == nil }) {
                let given = sample.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
                throw SinterError.runtime(message: "learner '\(name)': phase '\(phase.name)' takes '\(missing.name)' (\(missing.type)) but the training data gives \(given.isEmpty ? "nothing" : given)")
            }
            let names = Set(inputs.map(\.name))
            return TrainingPhase(name: phase.name, family: phase.family) { indices in
                data.feeds(for: indices).filter { names.contains($0.key) }
            }
        }
        let new = try Trainer(model: name, phases: trainingPhases, datasetCount: data.count, batchSize: batchSize, seed: seed)
        if let state = new.state { try afterInitialization?(state) }
        if let carried {
            try new.restore(carried, path: "the state of learner '\(name)'")
        } else if let loaded {
            try new.restore(loaded.checkpoint, path: loaded.path)
            self.loaded = nil
        }
        trainer = new
        return new
    }
}

extension Array where Element: Hashable {
    /// The first element that appears a second time.
    var firstRepeated: Element? {
        var seen: Set<Element> = []
        return first { !seen.insert($0).inserted }
    }
}

import Foundation
import SinterIO
import SinterIR
import SinterRuntime

/// One step of a training iteration: a compiled-per-batch-size graph and how to feed it from a
/// batch of dataset indices. A GAN has two (discriminator, then generator); the phases share
/// weights by name.
public struct TrainingPhase {
    public var name: String
    public var family: StepFamily
    /// Inputs of the phase's graph for the images at these dataset indices. Phases may share one
    /// feed (a GAN's batch of real images): each is given the names its graph takes, and a name
    /// that no phase takes is an error.
    public var feeds: (_ indices: ArraySlice<Int>) -> [String: HostTensor]

    public init(name: String, family: StepFamily, feeds: @escaping (ArraySlice<Int>) -> [String: HostTensor]) {
        self.name = name
        self.family = family
        self.feeds = feeds
    }
}

/// Runs training steps over a dataset with seeded shuffling, keeps every phase's persistent state
/// in step, and saves or restores all of it (weights, optimizer slots, BN statistics, counters,
/// data order) so that N steps, a checkpoint, then N more equal 2N steps at once, bit for bit.
public final class Trainer {
    public let model: String
    public let phases: [TrainingPhase]
    public let batchSize: Int
    public let seed: UInt64
    public private(set) var step = 0
    /// The number of examples the data order shuffles.
    public let datasetCount: Int
    /// Each step's feeds (one set per phase), packed on the loader thread while the step
    /// before runs, so the data work overlaps the compiled step instead of stalling it.
    private let loader: BatchLoader<[[String: HostTensor]]>
    /// The executable whose persistent state is newest (the last phase run).
    private var newest: Executable?

    public init(model: String, phases: [TrainingPhase], datasetCount: Int, batchSize: Int, seed: UInt64) throws {
        guard !phases.isEmpty else { throw SinterError.runtime(message: "trainer for '\(model)': no training phases") }
        guard datasetCount >= 1 else { throw SinterError.runtime(message: "trainer for '\(model)': the dataset has no images") }
        guard batchSize >= 1 else { throw SinterError.runtime(message: "trainer for '\(model)': batch size \(batchSize), expected at least 1") }
        self.model = model
        self.phases = phases
        self.batchSize = batchSize
        self.seed = seed
        self.datasetCount = datasetCount
        loader = BatchLoader(order: Batcher(count: datasetCount, batchSize: batchSize, seed: seed)) { indices in
            phases.map { $0.feeds(indices) }
        }
        // Initialise once, in the first phase, then hand the state on.
        let first = try phases[0].family.executable(batch: batchSize)
        try first.initializeParameters(seed: seed)
        newest = first
    }

    /// Runs one training iteration (every phase on the same batch). Returns each phase's outputs
    /// and the batch's indices. A phase whose `loss` comes out NaN or Inf stops the step with an
    /// error naming the step and the phase (the loss is read anyway, so the check is free); the
    /// trainer then holds the failed step's state, which a caller must not save.
    @discardableResult
    public func runStep() throws -> (outputs: [String: [String: HostTensor]], indices: ArraySlice<Int>) {
        let (indices, feeds) = loader.next()
        // Every feed name must be some phase's input, checked before any phase changes state.
        let executables = try phases.map { try $0.family.executable(batch: indices.count) }
        let taken = Set(executables.flatMap(\.inputNames))
        try UntakenFeeds.check(feeds.flatMap(\.keys), taken: taken, owner: "trainer for '\(model)'", takers: "phases")
        var outputs: [String: [String: HostTensor]] = [:]
        for ((phase, phaseFeeds), executable) in zip(zip(phases, feeds), executables) {
            if let newest, newest !== executable { executable.copyPersistent(from: newest) }
            let inputs = Set(executable.inputNames)
            let phaseOutputs = try executable.run(phaseFeeds.filter { inputs.contains($0.key) })
            newest = executable
            if let loss = phaseOutputs["loss"], let (_, value) = Checkpoint.firstNonFinite(loss) {
                throw SinterError.runtime(message: "training diverged at step \(step + 1)"
                    + (phases.count > 1 ? " in phase '\(phase.name)'" : "") + ": the loss is \(value.isNaN ? "NaN" : value > 0 ? "+Inf" : "-Inf")")
            }
            outputs[phase.name] = phaseOutputs
        }
        step += 1
        return (outputs, indices)
    }

    /// The newest persistent state (what evaluation graphs copy from).
    public var state: Executable? { newest }

    /// Everything needed to continue exactly where this trainer is.
    public func checkpoint() -> Checkpoint {
        // Phases run in order each step, each starting from the previous one's state, so a
        // later phase's copy of a shared tensor is the newer one; state only one phase owns
        // (its optimizer slots) comes from that phase.
        var tensors: [String: HostTensor] = [:]
        for phase in phases {
            guard let executable = phase.family.current else { continue }
            tensors.merge(executable.persistentSnapshot()) { _, later in later }
        }
        // The data order as of the next step to run: before any batch drawn ahead.
        for (name, tensor) in loader.position.stateTensors() { tensors["trainer.\(name)"] = tensor }
        return Checkpoint(model: model, step: step, tensors: tensors,
                          metadata: ["seed": String(seed), "batch": String(batchSize)])
    }

    /// Continues from a checkpoint written by `checkpoint()` (same model, same dataset size).
    /// All or nothing: every tensor (name, dtype, shape, finite values) and the data order are
    /// checked against this trainer's phases before anything is loaded, so a refused checkpoint
    /// leaves the trainer exactly as it was.
    public func restore(_ checkpoint: Checkpoint, path: String) throws {
        try checkpoint.checkModel(model, path: path)
        // Looking up the executables hands the current state on to them; it changes no values.
        let executables = try phases.map { try $0.family.executable(batch: batchSize) }
        var known: Set<String> = ["trainer.batcher", "trainer.order"]
        for executable in executables {
            try checkpoint.validate(slots: executable.program.persistent, path: path)
            known.formUnion(executable.program.persistent.map(\.name))
        }
        try checkpoint.validateNoUnknownTensors(known: known, model: model, path: path)
        // A batch drawn ahead belongs to the old order.
        loader.waitForPending()
        let orderNow = loader.position
        // A checkpoint made by `sinter import` has weights only: the data order continues as it is.
        let restoredOrder = try checkpoint.validatedBatcher(continuing: orderNow, path: path) ?? orderNow
        try checkpoint.validateCounters(path: path)

        // Everything is checked: load. loadPersistent cannot fail on validated tensors.
        for executable in executables { try executable.loadPersistent(checkpoint.tensors, requireAll: true) }
        loader.restart(from: restoredOrder)
        step = checkpoint.step
        newest = executables.last
    }
}

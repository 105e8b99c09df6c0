import SinterIR
import SinterRuntime

/// One traced step compiled once per batch size, on demand, with persistent state (weights,
/// optimizer slots, BatchNorm statistics, counters) handed from executable to executable: the
/// final partial batch of a pass runs on its own compiled graph and continues the same training.
public final class StepFamily {
    private let trace: (Int) throws -> Graph
    private var executables: [Int: Executable] = [:]
    /// The batch size whose executable holds the newest persistent state.
    private var owner: Int?
    public private(set) var compileSeconds = 0.0

    public init(trace: @escaping (Int) throws -> Graph) {
        self.trace = trace
    }

    /// The executable for `batch`, compiled if needed, holding the newest persistent state.
    public func executable(batch: Int) throws -> Executable {
        let executable: Executable
        if let existing = executables[batch] {
            executable = existing
        } else {
            executable = try compileGraph(try trace(batch))
            compileSeconds += executable.report.seconds
            executables[batch] = executable
        }
        if let owner, owner != batch, let holder = executables[owner] { executable.copyPersistent(from: holder) }
        owner = batch
        return executable
    }

    /// The graph as traced for `batch`, before any pass: what `executable(batch:)` compiles.
    public func graph(batch: Int) throws -> Graph { try trace(batch) }

    /// The names of the graph's inputs (the same at every batch size): a compiled executable's,
    /// or traced for `batch` when none is compiled yet.
    public func inputNames(batch: Int) throws -> Set<String> {
        if let compiled = executables.values.first { return Set(compiled.inputNames) }
        let traced = try trace(batch)
        return Set(traced.inputs.compactMap { traced[$0].sourceName })
    }

    /// The executable holding the newest state (nil before the first compile).
    public var current: Executable? { owner.flatMap { executables[$0] } }
}

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

    /// The executable holding the newest state (nil before the first compile).
    public var current: Executable? { owner.flatMap { executables[$0] } }
}

import Foundation
import SinterCodegen
import SinterIR
import SinterPasses
import SinterRuntime

/// How compileGraph runs: which passes, and whether to report what they did.
public struct CompileOptions {
    /// Graph passes switched off by name (also `SINTER_DISABLE=a,b`).
    public var disabledPasses: Set<String> = []
    /// Called with each pass's report and the graph after it (dumps).
    public var afterPass: ((PassReport, Graph) throws -> Void)?

    public init() {}

    /// Options from the environment: `SINTER_DISABLE` (comma-separated pass names).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> CompileOptions {
        var options = CompileOptions()
        if let list = environment["SINTER_DISABLE"] {
            options.disabledPasses = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return options
    }
}

/// Verifies `graph` and runs the graph passes on it.
public func optimizeGraph(_ graph: Graph, options: CompileOptions = .fromEnvironment()) throws -> (Graph, [PassReport]) {
    try graph.verify()
    let pipeline = PassPipeline(disabled: options.disabledPasses)
    return try pipeline.run(graph) { report, graph in try options.afterPass?(report, graph) }
}

/// Graph -> verified -> passes -> C -> compiled (cached) -> loaded. The one call most users need.
public func compileGraph(_ graph: Graph, options: CompileOptions = .fromEnvironment()) throws -> Executable {
    let (optimized, _) = try optimizeGraph(graph, options: options)
    return try Runtime.compile(try emitC(optimized))
}

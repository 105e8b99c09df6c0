import Foundation
import SinterCodegen
import SinterIR
import SinterPasses

/// Everything one compile produced before the C compiler runs: the graph as traced, after each
/// pass, the execution plan (fusion, strategies, schedule, memory) and the C it printed as.
/// Dumps read this.
public struct Compilation {
    public let traced: Graph
    /// (report, graph after that pass), in pipeline order.
    public let stages: [(report: PassReport, graph: Graph)]
    public let optimized: Graph
    public let plan: ExecutionPlan
    public let program: CProgram

    public var passReports: [PassReport] { stages.map(\.report) }

    /// IR ops the kernels compute: every node after the graph passes except sources.
    public var opCount: Int { optimized.nodes.filter { !$0.op.isSource }.count }

    /// The one-line reports of every pass, fusion and memory planning included.
    public var reportLines: [String] {
        passReports.map(\.line) + [program.info.fusionLine, program.info.memory.scheduleLine, program.info.memory.line]
            .filter { !$0.isEmpty }
    }

    /// `sinter dump --summary --format json`: one object of headline numbers.
    public var summary: [String: Any] {
        let memory = program.info.memory
        return [
            "graph": optimized.name,
            "nodes_traced": traced.nodes.count,
            "ops": opCount,
            "kernels": program.info.kernels.isEmpty ? opCount : program.info.kernels.count,
            "naive_bytes": memory.naiveBytes,
            "lower_bound_bytes": memory.lowerBoundBytes,
            "arena_bytes": program.arenaBytes,
            "param_block_bytes": program.paramBlockBytes,
            "gflop": Double(Cost.totalFlops(optimized)) / 1e9,
            "passes": reportLines,
        ]
    }

    public var summaryJSON: String {
        let data = (try? JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// `sinter dump --kernels`: one line per kernel: name, fused ops, GFLOP, MB moved, source lines.
    public var kernelsText: String {
        var lines = ["# \(program.info.fusionLine.isEmpty ? "kernels" : program.info.fusionLine)",
                     "# kernel  ops  MFLOP  MB  source"]
        for kernel in program.info.kernels {
            let ops = zip(kernel.nodes, kernel.ops).map { "%\($0) \($1)" }.joined(separator: " + ")
            lines.append(String(format: "%@%@  %@  %.2f MFLOP  %.2f MB  %@", kernel.isEffect ? "effect " : "", kernel.name, ops,
                                Double(kernel.flops) / 1e6, Double(kernel.bytes) / 1e6, kernel.locations.joined(separator: ", ")))
        }
        if !program.info.fusionDecisions.isEmpty {
            lines.append("# fusion decisions")
            lines.append(contentsOf: program.info.fusionDecisions)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Verifies and optimises `graph` and generates its C, without compiling it.
public func compileProgram(_ graph: Graph, options: CompileOptions = .fromEnvironment()) throws -> Compilation {
    var stages: [(report: PassReport, graph: Graph)] = []
    var collecting = options
    collecting.afterPass = { report, after in
        stages.append((report, after))
        try options.afterPass?(report, after)
    }
    try options.checkStrategies()
    let (optimized, _) = try optimizeGraph(graph, options: collecting)
    let plan = try ExecutionPlan(optimized, options: options.codegen)
    let program = try emitC(plan)
    return Compilation(traced: graph, stages: stages, optimized: optimized, plan: plan, program: program)
}

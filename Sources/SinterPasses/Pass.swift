import SinterIR

/// A named graph-to-graph transform. Every pass can be switched off and dumped, and says in one
/// line what it did (`canonicalize: 158 -> 131 nodes (cse 21, dce 4, simplified 2, folded 0)`).
public protocol GraphPass {
    /// The pass's name on the command line (`--after canonicalize`, `SINTER_DISABLE=...`).
    var name: String { get }
    /// One sentence for `sinter passes` and the docs.
    var summary: String { get }
    /// Returns the transformed graph (possibly the same object) and the one-line report.
    func run(_ graph: Graph) throws -> (graph: Graph, report: String)
}

/// What one pass did, kept for dumps.
public struct PassReport: Sendable {
    public var pass: String
    public var line: String
    public var nodesBefore: Int
    public var nodesAfter: Int
    public var skipped: Bool
}

/// The ordered list of graph passes compileGraph runs. Each can be disabled by name; a hook sees
/// the graph after every pass (dumps).
public struct PassPipeline {
    public var passes: [any GraphPass]
    public var disabled: Set<String>

    public init(passes: [any GraphPass] = PassPipeline.standardPasses(), disabled: Set<String> = []) {
        self.passes = passes
        self.disabled = disabled
    }

    /// The graph-level passes, in order. Fusion, memory planning and scheduling work on the
    /// kernel schedule and run inside the code generator (switched off by `CodegenOptions`);
    /// `epilogueFusion` must be that `CodegenOptions.fuse`: bn-fold's cost rule depends on it.
    public static func standardPasses(epilogueFusion: Bool = true) -> [any GraphPass] {
        [Canonicalize(), Decompose(), BatchNormFolding(epilogueFusion: epilogueFusion), ReshapeElimination(), Canonicalize(name: "cleanup")]
    }

    public var names: [String] { passes.map(\.name) }

    /// Throws when `disabled` names a pass this pipeline does not have: a misspelt
    /// `SINTER_DISABLE` would otherwise leave the pass running without a word.
    public func checkDisabledNames() throws {
        let unknown = disabled.subtracting(names).sorted()
        guard !unknown.isEmpty else { return }
        let listed = unknown.map { "'\(SinterError.excerpt($0))'\(NameSuggestions.hint(for: $0, among: names))" }
        throw SinterError.runtime(message: "cannot disable unknown pass\(unknown.count == 1 ? "" : "es") \(listed.joined(separator: ", ")); "
            + "the graph passes are: \(names.joined(separator: ", ")) (fusion, memory planning and scheduling run in the "
            + "code generator: SINTER_NO_FUSE=1, SINTER_NO_PLAN=1 and SINTER_NO_SCHEDULE=1 switch them off)")
    }

    /// Runs every enabled pass, verifying the graph after each one, and calls `afterEach` with
    /// the pass name, the graph and its report. Throws first if a disabled name is unknown.
    public func run(_ graph: Graph, afterEach: (PassReport, Graph) throws -> Void = { _, _ in }) throws -> (Graph, [PassReport]) {
        try checkDisabledNames()
        var current = graph
        var reports: [PassReport] = []
        for pass in passes {
            let before = current.nodes.count
            if disabled.contains(pass.name) {
                let report = PassReport(pass: pass.name, line: "\(pass.name): disabled", nodesBefore: before, nodesAfter: before, skipped: true)
                reports.append(report)
                try afterEach(report, current)
                continue
            }
            let (next, line) = try pass.run(current)
            do { try next.verify() } catch {
                throw SinterError.verify(message: "after pass \(pass.name): \(error)")
            }
            current = next
            let report = PassReport(pass: pass.name, line: line, nodesBefore: before, nodesAfter: next.nodes.count, skipped: false)
            reports.append(report)
            try afterEach(report, current)
        }
        return (current, reports)
    }
}

import Foundation
import SinterIR
import SinterPasses

/// How `emitC` generates code. The defaults come from the environment, so every caller of
/// `compileGraph` honours `SINTER_NO_FUSE=1` without plumbing.
public struct CodegenOptions: Sendable, Equatable {
    /// Fuse nodes into kernels (Docs/fusion.md). Off: one kernel per materialised node.
    public var fuse: Bool
    /// Emit `#define SINTER_PROFILE 1` so the library times every kernel (Docs/abi.md,
    /// "Profiling"). The source differs, so the cache key does too.
    public var profile: Bool
    /// Plan the arena (Docs/memory.md): liveness, in-place reuse, best-fit offsets. Off
    /// (`SINTER_NO_PLAN=1`): the naive plan, one region per buffer, and node order.
    public var plan: Bool
    /// Reorder the pure kernels for a lower peak of live bytes (with `plan`; off:
    /// `SINTER_NO_SCHEDULE=1`).
    public var schedule: Bool
    /// The checking build of `--check-numerics` (CheckBuild.swift): every kernel's output is
    /// scanned for NaN/Inf and the first one stops the run with an error naming the op and its
    /// source line. Fusion is off in this build, so every op writes its own buffer.
    public var checkNumerics: Bool
    /// The checking build of `--check-bounds`: guard zones of `guardBytes` around every arena
    /// buffer, filled before and verified after each kernel that writes the buffer.
    public var checkBounds: Bool

    /// Bytes of each guard zone in a `checkBounds` build (a multiple of the arena alignment).
    public static let guardBytes = 64

    public init(fuse: Bool = true, profile: Bool = false, plan: Bool = true, schedule: Bool = true,
                checkNumerics: Bool = false, checkBounds: Bool = false) {
        self.fuse = fuse
        self.profile = profile
        self.plan = plan
        self.schedule = schedule
        self.checkNumerics = checkNumerics
        self.checkBounds = checkBounds
    }

    /// True for either checking build (the program then carries a `CheckTable`).
    public var isChecking: Bool { checkNumerics || checkBounds }

    /// `SINTER_NO_FUSE=1` (any value but empty, 0, false, no) switches fusion off;
    /// `SINTER_NO_PLAN=1` memory planning, `SINTER_NO_SCHEDULE=1` the scheduling pass.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> CodegenOptions {
        let off = environment["SINTER_NO_FUSE"].map { !["", "0", "false", "no"].contains($0.lowercased()) } ?? false
        func set(_ name: String) -> Bool { environment[name].map { !["", "0", "false", "no"].contains($0.lowercased()) } ?? false }
        return CodegenOptions(fuse: !off, plan: !set("SINTER_NO_PLAN"), schedule: !set("SINTER_NO_SCHEDULE"))
    }
}

/// What the fusion pass decided, kept by the layout for `CompileInfo`.
struct FusionSummary {
    var enabled = false
    /// Why fusion is off, for `fusionLine`.
    var offReason = "SINTER_NO_FUSE"
    var decisions: [String] = []
    var refused = 0
}

extension Layout {
    /// Storage of every live node and the pure kernels: the fusion plan, or (fusion off) one
    /// kernel per node with storage, as before fusion existed.
    mutating func placeNodes(live: Set<Int>, outputs: Set<Int>, options: CodegenOptions) {
        let graph = self.graph
        for (i, input) in graph.inputs.enumerated() { storage[input] = .io(i) }
        for id in graph.nodes.indices where live.contains(id) {
            let node = graph[id]
            switch node.op {
            case .param, .state: storage[id] = .params(paramOffsets[id] ?? 0)
            case .reshape: storage[id] = .alias(node.operands[0])
            case _ where node.op.isEffect: storage[id] = Storage.none
            default: break
            }
        }
        fusion.enabled = options.fuse
        if options.checkNumerics { fusion.offReason = "check-numerics" }
        let facts = FusionFacts(graph, live: live)
        var constants: [Kernel] = []
        for id in graph.nodes.indices where live.contains(id) && graph[id].op == .constant {
            // Inlined as a literal when every reader can take one: with fusion, every pointwise
            // node reads constants through reshapes too.
            let inline: Bool
            if options.fuse {
                inline = !facts.needed(id) && (facts.users[id] ?? []).allSatisfy { fusionClass(of: graph[$0].op).isPointwise }
            } else {
                let readers = graph.nodes.indices.filter { live.contains($0) && graph[$0].operands.contains(id) }
                inline = !outputs.contains(id) && readers.allSatisfy { KernelEmitter.inlinesConstants(graph[$0].op) }
            }
            if inline {
                inlined.insert(id)
                storage[id] = Storage.none
            } else {
                storage[id] = .arena
                constants.append(Kernel(nodes: [id], isEffect: false))
            }
        }
        if options.fuse {
            var planner = FusionPlanner(facts)
            let plan = planner.run()
            for kernel in plan.kernels {
                for m in kernel.nodes { storage[m] = kernel.stored.contains(m) ? .arena : Storage.none }
            }
            pure = constants + plan.kernels
            fusion.decisions = plan.decisions.map(\.line)
            fusion.refused = plan.refused
        } else {
            let values = Set(FusionPlanner.valueNodes(facts)).union(constants.map(\.result))
            for id in values where storage[id] == nil { storage[id] = .arena }
            pure = values.sorted().map { Kernel(nodes: [$0], isEffect: false) }
        }
        for kernel in pure {
            for m in kernel.nodes { scratch[m] = KernelEmitter.scratchBytes(graph, m) }
        }
    }

    /// The fusion pass's one-line report: non-source nodes -> nodes whose value a kernel writes
    /// (stored nodes and effects), kernels (pure and effects), refusals.
    var fusionLine: String {
        let nodes = graph.nodes.filter { !$0.op.isSource }.count
        let materialised = pure.reduce(0) { $0 + $1.stored.filter { !graph[$0].op.isSource }.count } + effects.count
        let kernels = pure.count + effects.count
        return "fuse\(fusion.enabled ? "" : " (off: \(fusion.offReason))"): \(nodes) -> \(materialised) nodes, \(kernels) kernels, \(fusion.refused) refused"
    }
}

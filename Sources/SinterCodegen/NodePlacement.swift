import SinterIR
import SinterPasses

/// What the fusion pass decided, kept by the plan for `CompileInfo`.
struct FusionSummary {
    var enabled = false
    /// Why fusion is off, for `fusionLine`.
    var offReason = "SINTER_NO_FUSE"
    var decisions: [String] = []
    var refused = 0
}

extension ExecutionPlan {
    /// Storage of every live node and the pure kernels (unscheduled), each with its strategy
    /// (`forced`: the ones the options ask for): the fusion plan, or (fusion off) one kernel per
    /// node with storage, as before fusion existed. Kernels the fusion pass planned come with
    /// their group geometry.
    mutating func placeNodes(live: Set<Int>, outputs: Set<Int>, options: CodegenOptions,
                             forced: [KernelKind: String]) throws -> [PlannedKernel] {
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
        guard options.fuse else {
            let values = Set(FusionPlanner.valueNodes(facts)).union(constants.map(\.result))
            for id in values where storage[id] == nil { storage[id] = .arena }
            return try values.sorted().map { try PlannedKernel(Kernel(nodes: [$0], isEffect: false), facts, inlined: inlined, forced: forced, splitWork: options.splitWork) }
        }
        var planner = FusionPlanner(facts)
        let plan = planner.run()
        var kernels = try constants.map { try PlannedKernel($0, facts, inlined: inlined, forced: forced, splitWork: options.splitWork) }
        for group in plan.kernels {
            for m in group.kernel.nodes { storage[m] = group.kernel.stored.contains(m) ? .arena : Storage.none }
            kernels.append(try PlannedKernel(group.kernel, facts, group: group.geometry, inlined: inlined, forced: forced, splitWork: options.splitWork))
        }
        fusion.decisions = plan.decisions.map(\.line)
        fusion.refused = plan.refused
        return kernels
    }

    /// The fusion pass's one-line report: non-source nodes -> nodes whose value a kernel writes
    /// (stored nodes and effects), kernels (pure and effects), refusals.
    var fusionLine: String {
        let nodes = graph.nodes.filter { !$0.op.isSource }.count
        let materialised = pure.reduce(0) { $0 + $1.kernel.stored.filter { !graph[$0].op.isSource }.count } + effects.count
        let kernels = pure.count + effects.count
        return "fuse\(fusion.enabled ? "" : " (off: \(fusion.offReason))"): \(nodes) -> \(materialised) nodes, \(kernels) kernels, \(fusion.refused) refused"
    }
}

import SinterIR
import SinterPasses

/// The fusion pass (Docs/fusion.md): groups the live pure nodes into kernels.
///
/// Nodes are visited consumers first (reverse topological order, as TVM and tinygrad do). An
/// elementwise or broadcast node joins the kernel of its readers: an elementwise loop, the
/// prologue of a reduction, or the epilogue of an anchor or reduction. An anchor or reduction
/// becomes the main op of the elementwise loop that reads its result (that loop becomes its
/// epilogue). A node read outside its kernel (another kernel, an output, an effect) is still
/// computed inside it, and also stored. Nothing is ever computed twice, except cheap
/// elementwise nodes replicated across a broadcast (logged). Every group is checked by
/// `GroupGeometry.analyze`, and joins that would make two kernels wait on each other are refused.
struct FusionPlanner {
    let facts: FusionFacts
    private var graph: Graph { facts.graph }
    /// node -> group index, for nodes visited so far.
    private var groupOf: [Int: Int] = [:]
    private var groups: [(members: Set<Int>, main: Int?)] = []
    private var refusals: [(node: Int, group: Int, reason: String)] = []

    /// Groups of more than this many distinct buffers read are refused (MLX caps fused arrays
    /// at 24 too): more pointers than registers, and long argument lists help nobody.
    static let maxLeaves = 24

    init(_ facts: FusionFacts) { self.facts = facts }

    /// The value nodes fusion places: live, pure, not sources, not reshapes (aliases).
    static func valueNodes(_ facts: FusionFacts) -> [Int] {
        facts.graph.nodes.indices.filter { id in
            let op = facts.graph[id].op
            return facts.live.contains(id) && !op.isSource && !op.isEffect && op != .reshape
        }
    }

    /// Plans every group; returns them in a valid execution order, each with its geometry (the
    /// one analysis the fused emitter uses), and the decision log.
    mutating func run() -> (kernels: [FusedGroup], decisions: [(node: Int, line: String)], refused: Int) {
        for n in FusionPlanner.valueNodes(facts).reversed() { place(n) }
        return finish()
    }

    private func stored(_ m: Int, in group: Int) -> Bool { storedBecause(m, in: group) != nil }

    /// Why m must be written to memory when computed in `group` (nil: it need not be).
    private func storedBecause(_ m: Int, in group: Int) -> String? {
        var kernels = Set<Int>()
        for user in facts.users[m] ?? [] { if let h = groupOf[user], h != group { kernels.insert(h) } }
        var parts: [String] = []
        if !kernels.isEmpty { parts.append("read by \(kernels.count) other kernel\(kernels.count == 1 ? "" : "s")") }
        if facts.outputs.contains(m) { parts.append("an output") }
        if facts.effectRead.contains(m) { parts.append("read by an effect") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    private func readerGroups(_ n: Int) -> [Int] {
        var result: [Int] = []
        for user in facts.users[n] ?? [] { if let g = groupOf[user], !result.contains(g) { result.append(g) } }
        return result
    }

    private mutating func place(_ n: Int) {
        let cls = fusionClass(of: graph[n].op)
        // Loops without a main op first (an anchor may still take them as its epilogue), then
        // the kernel that comes first.
        var candidates = readerGroups(n).sorted { (groups[$0].main != nil ? 1 : 0, name($0)) < (groups[$1].main != nil ? 1 : 0, name($1)) }
        let pointwise = cls.isPointwise
        if !pointwise { candidates.removeAll { groups[$0].main != nil } }  // a kernel has one main op
        if graph[n].type.count == 0 || !(pointwise || cls == .anchor || cls == .reduction) { candidates = [] }
        // A pointwise node that is stored anyway, right after an anchor or reduction read by it
        // alone, is better kept for that op's epilogue than put in another reduction's
        // prologue: the epilogue saves writing and re-reading the big result.
        if pointwise && readerGroups(n).count + (facts.needed(n) ? 1 : 0) > 1 && feedsEpilogue(n) {
            candidates.removeAll { groups[$0].main != nil }
        }
        for g in candidates {
            if pointwise, let main = groups[g].main, fusionClass(of: graph[main].op) != .reduction,
               graph[main].operands.map(facts.base).contains(n) {
                continue  // read by an anchor or opaque op itself, from memory: not an opportunity
            }
            if let reason = tryJoin(n, g) {
                refusals.append((n, g, reason))
            } else {
                return
            }
        }
        groupOf[n] = groups.count
        groups.append(([n], pointwise ? nil : n))
    }

    private func feedsEpilogue(_ n: Int) -> Bool {
        graph[n].operands.map(facts.base).contains { a in
            let c = fusionClass(of: graph[a].op)
            return (c == .anchor || c == .reduction) && graph[a].type.dtype.isFloat && facts.users[a] == [n]
                && !facts.needed(a) && graph[a].type.count == graph[n].type.count
        }
    }

    /// Adds n to group g if legal; returns the reason when not.
    private mutating func tryJoin(_ n: Int, _ g: Int) -> String? {
        var members = groups[g].members
        members.insert(n)
        let main = groups[g].main ?? (fusionClass(of: graph[n].op).isPointwise ? nil : n)
        groupOf[n] = g
        defer { if groups[g].members.contains(n) == false { groupOf[n] = nil } }
        let analysis = GroupGeometry.analyze(facts, members: members, main: main) { self.storedBecause($0, in: g) }
        if case let .failure(refusal) = analysis { return refusal.reason }
        let leaves = Set(members.flatMap { m in graph[m].operands.map(facts.base) }.filter { !members.contains($0) && !facts.isConstant($0) })
        if leaves.count > FusionPlanner.maxLeaves { return "the kernel would read \(leaves.count) buffers (limit \(FusionPlanner.maxLeaves))" }
        // Other kernels reading n will wait for g; refuse if g already waits for one of them.
        for h in readerGroups(n) where h != g && depends(g, on: h) {
            return "k\(name(g)) would wait for k\(name(h)), which reads %\(n)"
        }
        groups[g].members = members
        groups[g].main = main
        return nil
    }

    /// Whether group g reads (transitively) something group h computes.
    private func depends(_ g: Int, on h: Int) -> Bool {
        var stack = [g], seen: Set<Int> = [g]
        while let current = stack.popLast() {
            for m in groups[current].members {
                for o in graph[m].operands {
                    guard let p = groupOf[facts.base(o)], p != current else { continue }
                    if p == h { return true }
                    if seen.insert(p).inserted { stack.append(p) }
                }
            }
        }
        return false
    }

    private func name(_ g: Int) -> Int { groups[g].main ?? groups[g].members.max()! }

    /// Kernels in dependency order (ties: the group whose last node comes first) and the log.
    private func finish() -> (kernels: [FusedGroup], decisions: [(node: Int, line: String)], refused: Int) {
        let geometries = groups.indices.map { g in
            GroupGeometry.analyze(facts, members: groups[g].members, main: groups[g].main) { self.storedBecause($0, in: g) }
        }
        var kernels: [FusedGroup] = []
        var predecessors = [Set<Int>](repeating: [], count: groups.count)
        for (g, group) in groups.enumerated() {
            for m in group.members {
                for o in graph[m].operands { if let p = groupOf[facts.base(o)], p != g { predecessors[g].insert(p) } }
            }
        }
        var done = Set<Int>()
        while done.count < groups.count {
            let ready = groups.indices.filter { !done.contains($0) && predecessors[$0].isSubset(of: done) }
            // tryJoin refuses every join that would close a cycle, so something is always ready.
            guard let g = ready.min(by: { groups[$0].members.max()! < groups[$1].members.max()! }) else {
                preconditionFailure("fusion: kernels depend on each other in a cycle")
            }
            done.insert(g)
            let group = groups[g]
            let nodes = group.members.sorted()
            var stored = nodes.filter { self.stored($0, in: g) }
            // An anchor writes its GEMM result into a stored member of its dtype; without one it
            // keeps its own buffer.
            if let main = group.main, fusionClass(of: graph[main].op) == .anchor, nodes.count > 1, !stored.contains(main),
               !stored.contains(where: { graph[$0].type.dtype == graph[main].type.dtype }) {
                stored.append(main)
                stored.sort()
            }
            kernels.append(FusedGroup(kernel: Kernel(nodes: nodes, stored: stored, main: group.main), geometry: geometries[g]))
        }

        var decisions: [(node: Int, line: String)] = []
        for (g, group) in groups.enumerated() where group.members.count > 1 {
            let kernel = "k\(name(g))"
            let geometry = try? geometries[g].get()
            for m in group.members.sorted() where m != group.main && !(group.main == nil && m == name(g)) {
                var line = "fused %\(m) \(graph[m].op.rawValue) into \(kernel)"
                if let main = group.main {
                    let role = geometry?.phase[m] == .prologue ? "prologue" : "epilogue"
                    line += " (\(role) of \(graph[main].op.rawValue) %\(main))"
                } else {
                    line += " (elementwise loop over \(graph[name(g)].type))"
                }
                if let space = geometry?.space(of: m).reduce(1, *), graph[m].type.count < space {
                    line += "; replicated over \(space / max(graph[m].type.count, 1)) elements each (cheap)"
                }
                if stored(m, in: g) { line += "; also stored: " + readersText(m, outside: g) }
                decisions.append((m, line))
            }
            if let main = group.main, stored(main, in: g) {
                decisions.append((main, "kept %\(main) \(graph[main].op.rawValue) stored in \(kernel): " + readersText(main, outside: g)))
            }
        }
        for refusal in refusals {
            let g = refusal.group
            let target = groups[g].main.map { "k\(name(g)) (\(graph[$0].op.rawValue))" } ?? "k\(name(g))"
            decisions.append((refusal.node, "refused %\(refusal.node) \(graph[refusal.node].op.rawValue) into \(target): \(refusal.reason)"))
        }
        decisions.sort { $0.node < $1.node }
        return (kernels, decisions, refusals.count)
    }

    private func readersText(_ m: Int, outside g: Int) -> String {
        var parts: [String] = []
        var kernels: [String] = []
        for user in facts.users[m] ?? [] {
            if let h = groupOf[user], h != g, !kernels.contains("k\(name(h))") { kernels.append("k\(name(h))") }
        }
        if !kernels.isEmpty { parts.append("read by " + kernels.joined(separator: ", ")) }
        if facts.outputs.contains(m) { parts.append("an output") }
        if facts.effectRead.contains(m) { parts.append("read by an effect") }
        return parts.joined(separator: ", ")
    }
}

/// One kernel the fusion pass planned, with the analysis of where its members are evaluated
/// (the failure is kept for the error the plan raises if the kernel turns out not to be legal).
struct FusedGroup {
    var kernel: Kernel
    var geometry: Result<GroupGeometry, FusionRefusal>
}

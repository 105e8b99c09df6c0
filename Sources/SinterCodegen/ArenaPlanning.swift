import SinterIR

/// Scheduling and memory planning of an execution plan (Docs/memory.md).
extension ExecutionPlan {
    /// Memory planning (Docs/memory.md): the scheduling pass reorders the pure kernels for a
    /// lower peak, then every arena buffer gets its lifetime and in-place candidates, the planner
    /// gives offsets, the verifier checks them, and `memory` reports them. `SINTER_NO_PLAN=1`:
    /// node order and the naive plan (still verified).
    mutating func planArena(_ options: CodegenOptions) throws {
        var scheduleLine = options.plan ? "schedule: off (SINTER_NO_SCHEDULE)" : "schedule: off (SINTER_NO_PLAN)"
        if options.plan && options.schedule { scheduleLine = schedulePure(inPlace: true) }
        requests = bufferRequests(pure, inPlace: options.plan)
        let plan: ([BufferRequest]) -> ArenaPlan = options.plan ? MemoryPlanner.plan : MemoryPlanner.naive
        arena = options.checkBounds ? MemoryPlanner.guarded(requests, guardBytes: CodegenOptions.guardBytes, plan: plan) : plan(requests)
        try MemoryPlanner.verify(requests, arena)
        inPlace = Set(arena.inPlace.keys.compactMap { key -> Int? in
            if case let .node(id) = key { return id }
            return nil
        })
        let graph = self.graph
        memory = MemoryPlanner.report(requests, arena, steps: pure.count + 2 + effects.count, planned: options.plan) { key in
            switch key {
            case let .node(id): return ("%\(id) \(graph[id].op.rawValue)", "\(graph[id].location)")
            case let .scratch(id): return ("scratch of %\(id) \(graph[id].op.rawValue)", "\(graph[id].location)")
            case let .snapshot(id): return ("snapshot of %\(id) \(graph[id].sourceName ?? graph[id].op.rawValue)", "\(graph[id].location)")
            }
        }
        memory.scheduleLine = scheduleLine
    }

    /// Every arena buffer with its lifetime for the pure kernels run in `order`: node values,
    /// kernel scratch (one step), snapshots (taken at step P + 1, live until the last effect that
    /// reads them). With `inPlace`, results of elementwise kernels list the operands they may
    /// overwrite.
    private func bufferRequests(_ order: [PlannedKernel], inPlace allowInPlace: Bool) -> [BufferRequest] {
        let p = order.count
        var first: [Int: Int] = [:], last: [Int: Int] = [:]
        func markRead(_ id: Int, at step: Int) {
            let r = root(id)
            if isArena(r) { last[r] = max(last[r] ?? step, step) }
        }
        for (step, kernel) in order.map(\.kernel).enumerated() {
            for id in arenaWrites(kernel) {
                first[id] = step
                last[id] = max(last[id] ?? step, step)
            }
            for read in externalReads(kernel) { markRead(read.operand, at: step) }
        }
        for output in graph.outputs { markRead(output.node, at: p) }
        for (e, kernel) in effects.map(\.kernel).enumerated() {
            for read in externalReads(kernel) { markRead(read.operand, at: p + 2 + e) }
        }
        let outputRoots = Set(graph.outputs.map { root($0.node) })

        // In place (ggml's rules): the kernel is an elementwise loop (every node elementwise or
        // broadcast_to, one pass over the result's shape that reads every operand element of
        // index i before it stores element i of any stored node; FusedEmitter and the unfused
        // elementwise emitter both do); the buffer is a stored node of that shape; the operand
        // is an arena buffer (not a param, input, output or snapshot) of its dtype and size,
        // this kernel is its last reader, and every read of it in the kernel is at the loop's
        // own index (operand and reading node both of the result's shape: no broadcasting).
        func candidates(_ kernel: Kernel, _ id: Int, step: Int) -> [BufferKey] {
            let space = graph[kernel.result].type.shape
            func fits(_ shape: [Int]) -> Bool {
                shape.count <= space.count && zip(shape.reversed(), space.reversed()).allSatisfy { $0 == $1 || $0 == 1 }
            }
            guard allowInPlace, !kernel.isEffect, graph[id].type.shape == space,
                  kernel.nodes.allSatisfy({ (graph[$0].op.isElementwise || graph[$0].op == .broadcastTo) && fits(graph[$0].type.shape) })
            else { return [] }
            let type = graph[id].type
            let reads = externalReads(kernel)
            var found: [Int] = []
            for read in reads {
                let r = root(read.operand)
                guard isArena(r), !found.contains(r), !outputRoots.contains(r), last[r] == step,
                      graph[r].type.dtype == type.dtype, graph[r].type.byteSize == type.byteSize else { continue }
                let sameIndex = reads.allSatisfy { other in
                    root(other.operand) != r
                        || (graph[other.operand].type.shape == type.shape && graph[other.reader].type.shape == type.shape)
                }
                if sameIndex { found.append(r) }
            }
            return found.map { .node($0) }
        }

        var requests: [BufferRequest] = []
        for (step, planned) in order.enumerated() {
            for id in arenaWrites(planned.kernel) {
                requests.append(BufferRequest(key: .node(id), bytes: graph[id].type.byteSize, firstUse: first[id] ?? step,
                                              lastUse: last[id] ?? step, inPlaceCandidates: candidates(planned.kernel, id, step: step)))
            }
            if planned.scratchBytes > 0 {
                requests.append(BufferRequest(key: .scratch(planned.anchor), bytes: planned.scratchBytes, firstUse: step, lastUse: step))
            }
        }
        for root in snapshots.sorted() {
            let lastRead = effects.indices.last(where: { externalReads(effects[$0].kernel).contains { self.root($0.operand) == root } }) ?? 0
            requests.append(BufferRequest(key: .snapshot(root), bytes: graph[root].type.byteSize, firstUse: p + 1,
                                          lastUse: p + 2 + lastRead))
        }
        return requests
    }

    /// The scheduling pass (Schedule.swift): tries greedy orders of the pure kernels and keeps
    /// one only if its peak of live bytes is lower than node order's. Returns its report line.
    private mutating func schedulePure(inPlace: Bool) -> String {
        let before = MemoryPlanner.peak(bufferRequests(pure, inPlace: inPlace)).bytes
        var best = (order: pure, peak: before)
        if pure.count > 2 {
            for order in Scheduler.candidates(scheduleProblem()) {
                let kernels = order.map { pure[$0] }
                let peak = MemoryPlanner.peak(bufferRequests(kernels, inPlace: inPlace)).bytes
                if peak < best.peak { best = (kernels, peak) }
            }
        }
        pure = best.order
        if best.peak < before {
            return "schedule: peak \(MemoryPlanner.megabytes(before)) -> \(MemoryPlanner.megabytes(best.peak))"
        }
        return "schedule: peak \(MemoryPlanner.megabytes(before)), node order kept"
    }

    /// The pure kernels as a scheduling problem: dependencies through the buffers they read.
    private func scheduleProblem() -> ScheduleProblem {
        var producer: [Int: Int] = [:]
        for (k, planned) in pure.enumerated() { for id in planned.kernel.nodes { producer[id] = k } }
        var index: [Int: Int] = [:]
        var bytes: [Int] = []
        func buffer(_ id: Int) -> Int {
            if let b = index[id] { return b }
            index[id] = bytes.count
            bytes.append(MemoryPlanner.align(max(graph[id].type.byteSize, 1)))
            return bytes.count - 1
        }
        var problem = ScheduleProblem(predecessors: [], reads: [], writes: [], bytes: [], pinned: [])
        for kernel in pure.map(\.kernel) {
            var predecessors: [Int] = [], reads: [Int] = []
            for read in externalReads(kernel) {
                let r = root(read.operand)
                if let k = producer[read.operand] ?? producer[r] { predecessors.append(k) }
                if isArena(r) && !reads.contains(buffer(r)) { reads.append(buffer(r)) }
            }
            problem.predecessors.append(predecessors)
            problem.reads.append(reads)
            problem.writes.append(arenaWrites(kernel).map(buffer))
        }
        var pinned = [Bool](repeating: false, count: bytes.count)
        for id in graph.outputs.map(\.node) + effects.flatMap({ externalReads($0.kernel).map(\.operand) }) {
            if let b = index[root(id)] { pinned[b] = true }
        }
        problem.bytes = bytes
        problem.pinned = pinned
        return problem
    }
}

import SinterIR

/// Where every live node's value lives at run time, which kernels run, and the arena plan.
///
/// - inputs: `io[i]` (read only), in `graph.inputs` order;
/// - param / state: the parameter block at `paramOffsets` (64-byte aligned, graph.persistent order);
/// - reshape: aliases its operand's storage (no copy);
/// - constants read only by elementwise ops: inlined as literals, no storage;
/// - everything else: its own arena region (see `MemoryPlanner.naive`).
struct Layout {
    enum Storage {
        case io(Int)
        case params(Int)
        case arena
        case alias(Int)
        case none
    }

    let graph: Graph
    var storage: [Int: Storage] = [:]
    var paramOffsets: [Int: Int] = [:]
    var paramBytes = 0
    var inlined = Set<Int>()
    var pure: [Kernel] = []
    var effects: [Kernel] = []
    var scratch: [Int: Int] = [:]
    /// Persistent nodes whose pre-effect value an effect reads after an earlier effect wrote them.
    var snapshots = Set<Int>()
    var requests: [BufferRequest] = []
    var arena = ArenaPlan(offsets: [:], bytes: 0)

    init(_ graph: Graph) throws {
        self.graph = graph
        let live = graph.liveNodes()
        (paramOffsets, paramBytes) = MemoryPlanner.parameterBlock(graph)
        let outputs = Set(graph.outputs.map(\.node))

        // Constants every consumer can inline need no storage.
        var consumers: [Int: [Int]] = [:]
        for id in graph.nodes.indices where live.contains(id) {
            for operand in graph[id].operands { consumers[operand, default: []].append(id) }
        }
        for (i, input) in graph.inputs.enumerated() { storage[input] = .io(i) }
        for id in graph.nodes.indices where live.contains(id) {
            let node = graph[id]
            switch node.op {
            case .input: break
            case .param, .state: storage[id] = .params(paramOffsets[id] ?? 0)
            case .reshape: storage[id] = .alias(node.operands[0])
            case _ where node.op.isEffect: storage[id] = Storage.none
            case .constant:
                let readers = consumers[id] ?? []
                if !outputs.contains(id) && readers.allSatisfy({ KernelEmitter.inlinesConstants(graph[$0].op) }) {
                    inlined.insert(id)
                    storage[id] = Storage.none
                } else {
                    storage[id] = .arena
                }
            default: storage[id] = .arena
            }
            if case .arena = storage[id]! {
                pure.append(Kernel(nodes: [id], isEffect: false))
                scratch[id] = KernelEmitter.scratchBytes(graph, id)
            }
        }

        // Effects: check their targets, find state read after being written.
        var written = Set<Int>()
        for id in graph.effects {
            let node = graph[id]
            let targets = KernelEmitter.writtenOperands(node.op)
            for (i, operand) in node.operands.enumerated() {
                if targets.contains(i) {
                    guard graph[operand].op.isPersistent else {
                        throw SinterError.verify(message: "%\(id) \(node.op.rawValue) @ \(node.location): operand \(i) must be a param or state node, found %\(operand) \(graph[operand].op.rawValue)")
                    }
                } else if written.contains(root(operand)) {
                    snapshots.insert(root(operand))
                }
            }
            for i in targets { written.insert(node.operands[i]) }
            effects.append(Kernel(nodes: [id], isEffect: true))
        }
        planArena()
    }

    /// The node whose storage `id` uses (follows reshape aliases).
    func root(_ id: Int) -> Int {
        var current = id
        while case let .alias(of)? = storage[current] { current = of }
        return current
    }

    /// Lifetimes of every arena buffer, then the plan.
    private mutating func planArena() {
        let p = pure.count
        var first: [Int: Int] = [:], last: [Int: Int] = [:]
        func read(_ id: Int, at step: Int) {
            let r = root(id)
            if case .arena? = storage[r] { last[r] = max(last[r] ?? step, step) }
        }
        for (step, kernel) in pure.enumerated() {
            first[kernel.result] = step
            last[kernel.result] = step
            for operand in graph[kernel.result].operands { read(operand, at: step) }
        }
        for output in graph.outputs { read(output.node, at: p) }
        for (e, kernel) in effects.enumerated() {
            for operand in graph[kernel.result].operands { read(operand, at: p + 2 + e) }
        }
        for (step, kernel) in pure.enumerated() {
            let id = kernel.result
            requests.append(BufferRequest(key: .node(id), bytes: graph[id].type.byteSize, firstUse: first[id] ?? step,
                                          lastUse: last[id] ?? step))
            if let bytes = scratch[id], bytes > 0 {
                requests.append(BufferRequest(key: .scratch(id), bytes: bytes, firstUse: step, lastUse: step))
            }
        }
        for root in snapshots.sorted() {
            let lastRead = effects.indices.last(where: { graph[effects[$0].result].operands.contains { self.root($0) == root } }) ?? 0
            requests.append(BufferRequest(key: .snapshot(root), bytes: graph[root].type.byteSize, firstUse: p + 1,
                                          lastUse: p + 2 + lastRead))
        }
        arena = MemoryPlanner.naive(requests)
    }

    /// `float *n12 = (float *)(arena + 128);` for a node with storage.
    func pointerDeclaration(_ id: Int) -> String {
        let t = graph[id].type.dtype.cType
        let r = root(id)
        switch storage[r] {
        case let .io(index)?:
            return "const \(t) *n\(id) = (const \(t) *)io[\(index)];"
        case let .params(offset)?:
            return "\(t) *n\(id) = (\(t) *)(params + \(offset));"
        default:
            return "\(t) *n\(id) = (\(t) *)(arena + \(arena.offsets[.node(r)] ?? 0));"
        }
    }
}

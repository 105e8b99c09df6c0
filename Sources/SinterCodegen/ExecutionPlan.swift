import SinterIR

/// Everything lowering decided about a graph before any C is written: which kernels run in which
/// order, what each one computes and how (its kind, geometry, strategy and scratch), where every
/// value lives, and the arena plan. Fusion (NodePlacement.swift), strategy choice
/// (StrategyRegistry.swift), scheduling and memory planning (ArenaPlanning.swift) build it; the
/// C emitter (CEmitter.swift) only prints it, and `sinter dump --after plan` shows it
/// (ExecutionPlanText.swift).
///
/// Where values live:
/// - inputs: `io[i]` (read only), in `graph.inputs` order;
/// - param / state: the parameter block at `paramOffsets` (64-byte aligned, graph.persistent order);
/// - reshape: aliases its operand's storage (no copy);
/// - constants read only by elementwise ops: inlined as literals, no storage;
/// - nodes computed inside a fused kernel and read by nothing outside it: no storage (Docs/fusion.md);
/// - everything else: an arena region at the offset the memory plan gives it (MemoryPlan.swift).
public struct ExecutionPlan {
    enum Storage {
        case io(Int)
        case params(Int)
        case arena
        case alias(Int)
        case none
    }

    public let graph: Graph
    /// Graph facts fusion and the fused emitter share (users through reshapes, outputs, ...).
    let facts: FusionFacts
    var storage: [Int: Storage] = [:]
    var paramOffsets: [Int: Int] = [:]
    public internal(set) var paramBytes = 0
    var inlined = Set<Int>()
    /// Pure kernels in execution order (as scheduled), then effects in graph order.
    public internal(set) var pure: [PlannedKernel] = []
    public internal(set) var effects: [PlannedKernel] = []
    /// Persistent nodes whose pre-effect value an effect reads after an earlier effect wrote them.
    var snapshots = Set<Int>()
    var requests: [BufferRequest] = []
    public internal(set) var arena = ArenaPlan(offsets: [:], bytes: 0)
    /// Results of kernels that write over an operand's bytes (in-place; no `restrict` on `y`).
    var inPlace = Set<Int>()
    /// The plan as dumps show it (`CompileInfo.memory`).
    public internal(set) var memory = MemoryReport()
    /// What the fusion pass decided (NodePlacement.swift, Fusion.swift).
    var fusion = FusionSummary()
    /// The options the plan was built with (fusion off in a check-numerics build: `forPlan`).
    public let options: CodegenOptions

    /// Plans `graph`: fusion, a strategy per kernel, effects, schedule and arena.
    public init(_ graph: Graph, options: CodegenOptions = CodegenOptions()) throws {
        let options = options.forPlan
        self.graph = graph
        self.options = options
        // Sizes are trusted from here on (planner offsets, C index arithmetic): refuse a graph
        // whose nodes overflow them, whether or not it went through the verifier.
        try graph.checkTotalBytes()
        let live = graph.liveNodes()
        facts = FusionFacts(graph, live: live)
        (paramOffsets, paramBytes) = MemoryPlanner.parameterBlock(graph)
        let outputs = Set(graph.outputs.map(\.node))

        // Storage of every node and the pure kernels: the fusion pass (internal nodes of a
        // kernel and constants every reader inlines get no storage).
        let forced = try StrategyRegistry.overrides(options.strategies)
        pure = try placeNodes(live: live, outputs: outputs, options: options, forced: forced)

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
            effects.append(try PlannedKernel(Kernel(nodes: [id], isEffect: true), facts, inlined: inlined, forced: forced, splitWork: options.splitWork))
        }
        try planArena(options)
    }

    /// Every kernel in execution order: the pure kernels as scheduled, then the effects.
    public var kernels: [PlannedKernel] { pure + effects }

    /// The fusion pass's decisions, one line each (`fused %4 add into k2 (epilogue of conv2d %2)`).
    public var fusionDecisions: [String] { fusion.decisions }

    /// The node whose storage `id` uses (follows reshape aliases).
    func root(_ id: Int) -> Int {
        var current = id
        while case let .alias(of)? = storage[current] { current = of }
        return current
    }

    func isArena(_ id: Int) -> Bool {
        if case .arena? = storage[id] { return true }
        return false
    }

    /// What a kernel reads from outside itself, as (operand, node of the kernel that reads it).
    /// Operands computed by the kernel's own nodes (fused kernels) are internal and not listed.
    func externalReads(_ kernel: Kernel) -> [(operand: Int, reader: Int)] {
        let inside = Set(kernel.nodes)
        var reads: [(operand: Int, reader: Int)] = []
        for node in kernel.nodes {
            for operand in graph[node].operands where !inside.contains(operand) && !inside.contains(root(operand)) {
                reads.append((operand, node))
            }
        }
        return reads
    }

    /// Arena buffers a kernel writes: those of its nodes that have arena storage.
    func arenaWrites(_ kernel: Kernel) -> [Int] { kernel.nodes.filter(isArena) }
}

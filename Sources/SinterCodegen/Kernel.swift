import SinterIR

/// A group of nodes computed by one generated C function (the fusion pass, Fusion.swift, decides
/// the groups; Docs/fusion.md). Reshapes are aliases and never appear in a kernel.
public struct Kernel: Sendable, Equatable {
    /// The nodes computed, in order; the last one is the kernel's result.
    public var nodes: [Int]
    /// True for kernels of effect nodes (run after every pure kernel).
    public var isEffect: Bool
    /// The nodes whose values the kernel writes to memory (its arena buffers), in order. The
    /// others are internal: computed in registers, no storage.
    public var stored: [Int]
    /// The op the kernel is built around and named after: an anchor or reduction with its fused
    /// prologue/epilogue, or the only node of an unfused kernel. nil for an elementwise loop.
    public var main: Int?

    /// An unfused kernel: every node stored, the first node its main.
    public init(nodes: [Int], isEffect: Bool) {
        self.nodes = nodes
        self.isEffect = isEffect
        self.stored = isEffect ? [] : nodes
        self.main = nodes.first
    }

    /// A kernel planned by the fusion pass.
    public init(nodes: [Int], stored: [Int], main: Int?) {
        self.nodes = nodes
        self.isEffect = false
        self.stored = stored
        self.main = main
    }

    public var result: Int { nodes[nodes.count - 1] }
    /// The C function name: `k` and the main node (the last node for elementwise loops).
    public var name: String { "k\(main ?? result)" }
}

/// What a per-op emitter needs to write the body of one kernel function.
struct KernelContext {
    let graph: Graph
    let id: Int
    /// The kernel as planned: its geometry and scratch (PlannedKernel.swift).
    let planned: PlannedKernel
    /// C names of the operand pointers, `nil` for a constant operand that is inlined as a literal.
    let operandNames: [String?]
    /// Name of the result pointer (`y`; a fused kernel's anchor writes into a stored member).
    var out = "y"
    /// Name of the scratch pointer (`uint8_t *`), when the kernel asked for scratch.
    let scratch = "scratch"
    /// Fused work around the main op (prologue reads, epilogue writes); empty when unfused.
    var hooks = FusionHooks()

    var node: Node { graph[id] }
    /// The sizes the kernel is specialised to, computed when the plan was built.
    var geometry: KernelGeometry { planned.geometry }
    var type: TensorType { node.type }
    var dtype: DType { node.type.dtype }
    /// C element type of the result.
    var t: String { node.type.dtype.cType }
    var attrs: Attributes { node.attrs }
    /// The plan's threading decision (Threading.swift): whether the kernel's parallel loops split
    /// over threads. Emitters ask it only where splitting changes more than the pragma (a
    /// different loop structure); the writer drops the pragmas of a kernel that does not split.
    var splits: Bool { planned.threading.splits }

    func operandType(_ i: Int) -> TensorType { graph[node.operands[i]].type }

    /// The error when the plan holds another geometry than the emitter of `what` needs (a bug:
    /// the plan computes the geometry from the same kind that picks the emitter).
    func missingGeometry(_ what: String) -> SinterError {
        .verify(message: "C emitter: %\(id) \(node.op.rawValue) was planned without a \(what) geometry")
    }

    /// Pointer name of operand i (it must not be an inlined constant).
    func x(_ i: Int) -> String { operandNames[i] ?? "x\(i)" }

    /// The value of operand i at C index expression `index`: the literal for an inlined constant.
    func element(_ i: Int, _ index: String) -> String {
        if operandNames[i] == nil {
            let constant = graph[node.operands[i]]
            return cLiteral(constant.attrs.float("value", default: 0), constant.type.dtype)
        }
        return "\(x(i))[\(index)]"
    }
}

enum KernelEmitter {
    /// Whether this consumer op can read a constant operand as an inline literal.
    static func inlinesConstants(_ op: Op) -> Bool {
        op.isElementwise || op == .broadcastTo
    }

    /// Operand positions an effect writes (its state slots).
    static func writtenOperands(_ op: Op) -> Range<Int> {
        switch op {
        case .assign: return 0..<1
        case .adamUpdate: return 0..<3
        case .rmspropUpdate, .sgdUpdate: return 0..<2
        default: return 0..<0
        }
    }

    /// The whole C function of a one-node kernel: comment, signature, body.
    /// `inPlace`: the memory plan gives the result the bytes of an operand (elementwise kernels
    /// only), so `y` must not be `restrict`.
    static func emitFunction(_ planned: PlannedKernel, plan: ExecutionPlan, inPlace: Bool = false) throws -> [String] {
        let kernel = planned.kernel, graph = plan.graph, inlined = plan.inlined
        let id = kernel.result
        let node = graph[id]
        var names: [String?] = []
        var params: [String] = []
        let written = writtenOperands(node.op)
        if !node.op.isEffect {
            params.append("\(node.type.dtype.cType) *\(inPlace ? "" : "restrict ")y")
        }
        for (i, operand) in node.operands.enumerated() {
            if inlinesConstants(node.op) && inlined.contains(operand) {
                names.append(nil)
                continue
            }
            let name = "x\(i)"
            names.append(name)
            let ctype = graph[operand].type.dtype.cType
            params.append(written.contains(i) ? "\(ctype) *restrict \(name)" : "const \(ctype) *\(name)")
        }
        if planned.scratchBytes > 0 { params.append("uint8_t *restrict scratch") }
        if params.isEmpty { params.append("void") }
        let ctx = KernelContext(graph: graph, id: id, planned: planned, operandNames: names)
        var w = CWriter(splits: planned.threading.splits)
        w.line("/* \(describe(id, node)) */")
        try w.block("static void \(kernel.name)(\(params.joined(separator: ", ")))") { w in
            try planned.strategy.emit(ctx, &w)
        }
        return w.lines
    }
}

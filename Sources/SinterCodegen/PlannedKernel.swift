import SinterIR
import SinterPasses

/// What a kernel computes, named after the op it is built around: the key of the strategy
/// registry (StrategyRegistry.swift) and of `CodegenOptions.strategies` (`conv2d:gemm-window`).
public enum KernelKind: String, CaseIterable, Sendable {
    /// One pass over an index space: a constant fill, an elementwise or broadcast node, or a
    /// fused elementwise loop.
    case loop
    /// reduce_sum / reduce_mean / reduce_max, with any fused prologue and epilogue.
    case reduction
    case matmul
    case conv2d
    case conv2dInputGrad = "conv2d_input_grad"
    case conv2dFilterGrad = "conv2d_filter_grad"
    /// transpose, slice, reverse, concat, pad, an unaliased reshape.
    case dataMovement = "data_movement"
    /// max_pool, avg_pool and their gradients.
    case pool
    /// resize_bilinear and its gradient.
    case resize
    /// random_normal, random_uniform.
    case random
    /// argmax, one_hot.
    case index
    /// assign and the optimizer updates (run after every pure kernel).
    case effect

    /// The kind of a kernel built around `op`; nil for an op no kernel computes.
    public init?(op: Op) {
        switch op {
        case .constant, .broadcastTo: self = .loop
        case _ where op.isElementwise: self = .loop
        case .reduceSum, .reduceMean, .reduceMax: self = .reduction
        case .transpose, .slice, .reverse, .concat, .pad, .reshape: self = .dataMovement
        case .matmul: self = .matmul
        case .conv2d: self = .conv2d
        case .conv2dInputGrad: self = .conv2dInputGrad
        case .conv2dFilterGrad: self = .conv2dFilterGrad
        case .maxPool, .maxPoolGrad, .avgPool, .avgPoolGrad: self = .pool
        case .resizeBilinear, .resizeBilinearGrad: self = .resize
        case .randomNormal, .randomUniform: self = .random
        case .argmax, .oneHot: self = .index
        case .assign, .adamUpdate, .rmspropUpdate, .sgdUpdate: self = .effect
        default: return nil
        }
    }
}

/// The sizes a kernel's code is specialised to, computed once when the plan is built: what
/// strategies are chosen by and what their emitters loop over.
enum KernelGeometry {
    /// A loop over this index space (the result's shape, or a fused loop's output space).
    case loop([Int])
    case reduction(ReductionKernels.Geometry)
    case matmul(MatmulKernels.Dims)
    case conv(ConvKernels.Geometry)
    /// Other kernels: the result's shape (an effect: the state it updates); their emitters read
    /// windows and the like from the attributes.
    case shape([Int])

    init(_ graph: Graph, _ id: Int, kind: KernelKind, group: GroupGeometry?) throws {
        let node = graph[id]
        switch kind {
        case .loop: self = .loop(group?.outputSpace ?? node.type.shape)
        case .reduction: self = .reduction(try ReductionKernels.geometry(graph, node))
        case .matmul: self = .matmul(MatmulKernels.dims(graph, node))
        case .conv2d, .conv2dInputGrad, .conv2dFilterGrad: self = .conv(try ConvKernels.geometry(graph, node))
        case .dataMovement, .pool, .resize, .random, .index: self = .shape(node.type.shape)
        case .effect: self = .shape(node.operands.first.map { graph[$0].type.shape } ?? [])
        }
    }
}

/// One kernel of the plan: its nodes, kind and geometry, the strategy that computes it and why,
/// and the arena scratch it asks for.
public struct PlannedKernel {
    /// The nodes computed, which of them are stored, the main op (Fusion.swift).
    public let kernel: Kernel
    public let kind: KernelKind
    let geometry: KernelGeometry
    /// Where each member is evaluated, for kernels the fused emitter writes (FusedKernels.swift);
    /// nil for one-node kernels, which get their own signature (KernelEmitter.emitFunction).
    let group: GroupGeometry?
    /// How it is computed (StrategyRegistry.swift) and why that way: `the only conv2d strategy`.
    let strategy: any KernelStrategy
    public let reason: String
    /// Bytes of arena scratch the kernel needs during its call: one region, shared by its threads.
    public let scratchBytes: Int
    /// Whether its parallel loops split over the OpenMP team, and why (Threading.swift).
    public let threading: ThreadingDecision
    /// The nodes whose pointers the call passes, in parameter order: what it writes (a pure
    /// kernel's result or stored nodes), then `reads`.
    public let arguments: [Int]
    /// The buffers it reads: a one-node kernel's operands in order (inlined constants left out),
    /// a fused kernel's distinct leaves ascending (reshapes resolved to their base).
    public let reads: [Int]

    /// A kernel of `facts.graph`; `group` is the fusion pass's analysis of a fused kernel,
    /// `inlined` the constants written as literals, `forced` the strategies
    /// `CodegenOptions.strategies` asks for, `splitWork` the work from which a kernel splits over
    /// threads (`CodegenOptions.splitWork`).
    init(_ kernel: Kernel, _ facts: FusionFacts, group: Result<GroupGeometry, FusionRefusal>? = nil, inlined: Set<Int>,
         forced: [KernelKind: String], splitWork: Int) throws {
        let graph = facts.graph
        self.kernel = kernel
        let anchor = kernel.main ?? kernel.result
        let node = graph[anchor]
        guard let kind = KernelKind(op: node.op) else {
            if [.input, .param, .state].contains(node.op) { throw SinterError.verify(message: "%\(anchor) \(node.op.rawValue) has no kernel") }
            throw SinterError.verify(message: "C emitter: no kernel for op \(node.op.rawValue) (%\(anchor) @ \(node.location))")
        }
        self.kind = kind
        if PlannedKernel.hasOwnFrame(kernel) {
            self.group = nil
            reads = node.operands.filter { !(KernelEmitter.inlinesConstants(node.op) && inlined.contains($0)) }
            arguments = (node.op.isEffect ? [] : [kernel.result]) + reads
        } else {
            // Leaves: what the members read from memory. Constants read by anything but the
            // main op are literals in a fused kernel.
            let members = Set(kernel.nodes)
            var leaves = Set<Int>()
            for m in kernel.nodes {
                for o in graph[m].operands {
                    let b = facts.base(o)
                    if members.contains(b) || (m != kernel.main && facts.isConstant(b)) { continue }
                    leaves.insert(b)
                }
            }
            reads = leaves.sorted()
            arguments = kernel.stored + reads
            // The fusion pass's analysis when it planned this kernel, else (a kernel it did not plan)
            // the same analysis now: the stored members are the kernel's.
            let stored = Set(kernel.stored)
            let analysis = group ?? GroupGeometry.analyze(facts, members: Set(kernel.nodes), main: kernel.main) {
                stored.contains($0) ? "stored" : nil
            }
            switch analysis {
            case let .success(geometry): self.group = geometry
            case let .failure(refusal): throw SinterError.verify(message: "fusion: \(kernel.name) is not a legal group: \(refusal.reason)")
            }
        }
        geometry = try KernelGeometry(graph, anchor, kind: kind, group: self.group)
        threading = ThreadingRule.decide(graph, kernel, kind: kind, geometry: geometry, splitWork: splitWork)
        let input = StrategyInput(graph: graph, kernel: kernel, geometry: geometry, splits: threading.splits)
        let choice = try StrategyChoice(input, kind: kind, forced: forced[kind])
        strategy = choice.strategy
        reason = choice.reason
        scratchBytes = choice.strategy.scratchBytes(input)
    }

    /// One-node kernels whose main op is their node, and effects, get a signature of their own
    /// (`y`, `x0`, `x1`, ...); every other kernel is written by the fused emitter.
    static func hasOwnFrame(_ kernel: Kernel) -> Bool {
        kernel.isEffect || (kernel.nodes.count == 1 && kernel.main != nil)
    }

    /// The C function name (`k12`).
    public var name: String { kernel.name }
    /// The node the kernel is built around: its main op, or the result of a loop.
    public var anchor: Int { kernel.main ?? kernel.result }
    /// The chosen strategy's name (`gemm-window`).
    public var strategyName: String { strategy.name }
    /// The choice as logged: `conv2d %17: gemm-window, the only conv2d strategy`.
    public var decision: String { "\(kind.rawValue) %\(anchor): \(strategy.name), \(reason)" }
}

import SinterIR

/// What the code generator decided, for dumps and benchmarks (`sinter dump --kernels/--memory`,
/// `SINTER_DUMP`, `sinter bench`). Not part of the ABI: the runtime ignores it.
public struct CompileInfo: Sendable {
    /// One entry per generated kernel function, in execution order.
    public var kernels: [KernelInfo] = []
    /// The fusion pass's one-line report (`fuse: 58 -> 21 nodes, 14 kernels, 3 refused`).
    public var fusionLine = ""
    /// One line per fusion decision: what was fused into what and why, or why it was refused.
    public var fusionDecisions: [String] = []
    /// One line per kernel, in execution order: the strategy chosen and why
    /// (`conv2d %17: gemm-window, the only conv2d strategy`; StrategyRegistry.swift).
    public var strategyDecisions: [String] = []
    /// The arena plan.
    public var memory = MemoryReport()

    public init() {}
}

public struct KernelInfo: Sendable, Equatable {
    /// C function name (`k12`).
    public var name: String
    /// IR nodes computed by this kernel, in order; the last is its result.
    public var nodes: [Int]
    /// Op names of those nodes.
    public var ops: [String]
    public var flops: Int
    /// Bytes read from buffers outside the kernel plus bytes written.
    public var bytes: Int
    /// Distinct source lines (`File.swift:12`) of the nodes.
    public var locations: [String]
    public var isEffect: Bool
    /// The strategy that computes it (`gemm-window`).
    public var strategy: String

    public init(name: String, nodes: [Int], ops: [String], flops: Int, bytes: Int, locations: [String], isEffect: Bool,
                strategy: String = "") {
        self.name = name
        self.nodes = nodes
        self.ops = ops
        self.flops = flops
        self.bytes = bytes
        self.locations = locations
        self.isEffect = isEffect
        self.strategy = strategy
    }
}

/// The arena plan as a user sees it.
public struct MemoryReport: Sendable {
    /// `plan: naive 419.0 MB, lower bound 61.2 MB, arena 63.0 MB (1.03x lower bound, fragmentation 2.9%), 12 in place`.
    public var line = ""
    /// Sum of every arena buffer (what no reuse would need).
    public var naiveBytes = 0
    /// Peak of the bytes live at any one schedule step.
    public var lowerBoundBytes = 0
    public var arenaBytes = 0
    /// Schedule step with the most live bytes.
    public var peakStep = 0
    /// Number of schedule steps (kernels, output copy, snapshots, effects).
    public var steps = 0
    public var buffers: [PlannedBuffer] = []
    /// The scheduling pass's one-line report (`schedule: peak 61.2 MB -> 55.0 MB`).
    public var scheduleLine = ""
    /// False when planning was switched off (`SINTER_NO_PLAN=1`: the naive plan, node order).
    public var planned = true
    /// Buffers written in place of an operand.
    public var inPlaceCount = 0

    public init() {}
}

public struct PlannedBuffer: Sendable, Equatable {
    /// `%12 conv2d`, `scratch of %40`, `snapshot of %3`.
    public var label: String
    public var bytes: Int
    public var offset: Int
    public var firstUse: Int
    public var lastUse: Int
    /// Source line of the node.
    public var location: String
    /// The buffer whose bytes this one reuses in place, if any.
    public var inPlaceOf: String?

    public init(label: String, bytes: Int, offset: Int, firstUse: Int, lastUse: Int, location: String, inPlaceOf: String? = nil) {
        self.label = label
        self.bytes = bytes
        self.offset = offset
        self.firstUse = firstUse
        self.lastUse = lastUse
        self.location = location
        self.inPlaceOf = inPlaceOf
    }
}

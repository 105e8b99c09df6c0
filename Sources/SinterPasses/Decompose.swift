import SinterIR

/// Rewrites ops into simpler primitives where that lets another pass or the emitter do less work.
///
/// Losses and normalisations are not IR ops (the DSL already builds them from primitives), so the
/// only composite left is `reduce_mean`. The rewrite it supports is
///
///     reduce_mean(x, axes) -> reduce_sum(x, axes) * (1/n)       n = elements per result
///
/// and by default it is applied **only where it saves work**: when the graph also has a
/// `reduce_sum` of the same operand over the same axes (same `keepdims`). The two then become one
/// reduction (one pass over `x` instead of two) plus a multiply on the reduced result.
///
/// Elsewhere `reduce_mean` is kept, because with our emitter the rewrite saves nothing and adds a
/// node: the reduction kernel (ReductionKernels.swift) already divides by n in its final store
/// (`y[o] = acc / n`, once per *result* element), so a separate multiply is one more kernel and
/// one more buffer, and it rounds differently (`acc * (1/n)` is not `acc / n`). With fusion a
/// reduction takes its elementwise consumers as an epilogue (Docs/fusion.md), so the two forms
/// cost the same. `reduceMean: .always` rewrites every mean, for experiments.
///
/// Not done, and why:
/// - `square(x) -> mul(x, x)`: the emitter already writes `(x * x)`; nothing to gain.
/// - `clip`, `rsqrt`, `softplus`, `selu`, `sigmoid`: one C expression each, already fusable.
/// - `resize_bilinear`: exact factor-2 bilinear is expressible with slice/concat/pad/reshape and
///   elementwise weights, but those are data-movement nodes the emitter materialises one buffer
///   each; the resize kernel reads its input once. (No zoo model uses it.)
public struct Decompose: GraphPass {
    public enum ReduceMeanPolicy: Sendable, Equatable {
        /// Rewrite only when a `reduce_sum` of the same operand and axes exists (the default).
        case whenShared
        /// Rewrite every floating-point `reduce_mean`.
        case always
    }

    public let name: String
    public var reduceMean: ReduceMeanPolicy
    public var summary: String { "reduce_mean -> reduce_sum * 1/n where a reduce_sum over the same operand and axes can be shared" }

    public init(name: String = "decompose", reduceMean: ReduceMeanPolicy = .whenShared) {
        self.name = name
        self.reduceMean = reduceMean
    }

    /// A reduction's identity: operand, normalised axes, keepdims.
    struct ReductionKey: Hashable {
        let operand: Int
        let axes: [Int]
        let keepdims: Bool
    }

    static func key(_ graph: Graph, _ id: Int) -> ReductionKey? {
        let node = graph[id]
        guard node.op.isReduction, let x = node.operands.first, let axes = try? node.attrs.ints("axes"),
              let normalized = try? ShapeInference.normalizedAxes(axes, rank: graph[x].type.rank) else { return nil }
        return ReductionKey(operand: x, axes: normalized, keepdims: node.attrs.bool("keepdims", default: false))
    }

    public func run(_ graph: Graph) throws -> (graph: Graph, report: String) {
        var sums = Set<ReductionKey>()
        var means = 0
        for id in graph.nodes.indices {
            if graph[id].op == .reduceSum, let key = Self.key(graph, id) { sums.insert(key) }
            if graph[id].op == .reduceMean { means += 1 }
        }
        var rewritten = 0, shared = 0
        var rebuilder = GraphRebuilder(graph)
        var originalSums: [ReductionKey: Int] = [:]    // first reduce_sum of the input graph, per key (new id)
        var sumsFromMeans: [ReductionKey: Int] = [:]   // reduce_sum created for a mean, per key (new id)
        for id in graph.nodes.indices {
            let node = graph[id]
            if node.op == .reduceSum, let key = Self.key(graph, id) {
                if let existing = sumsFromMeans[key] {
                    rebuilder.alias(id, to: existing)
                    shared += 1
                } else if let newID = try rebuilder.copy(id), originalSums[key] == nil {
                    originalSums[key] = newID
                }
                continue
            }
            guard node.op == .reduceMean, node.type.dtype.isFloat, let key = Self.key(graph, id),
                  reduceMean == .always || sums.contains(key), let x = rebuilder.mapped(node.operands[0]) else {
                try rebuilder.copy(id)
                continue
            }
            let xType = graph[node.operands[0]].type
            let n = key.axes.reduce(1) { $0 * xType.shape[$1] }
            let sum: Int
            if let existing = originalSums[key] ?? sumsFromMeans[key] {
                sum = existing
                shared += 1
            } else {
                var attrs = node.attrs
                attrs["axes"] = .ints(key.axes)
                sum = try rebuilder.add(.reduceSum, [x], attrs, type: node.type, at: node.location)
                sumsFromMeans[key] = sum
            }
            let reciprocal = 1 / Double(n)
            let value = node.type.dtype == .f32 ? Double(Float(reciprocal)) : reciprocal
            let scale = try rebuilder.add(.constant, [], Attributes(["value": .float(value)]),
                                          type: TensorType(node.type.dtype, []), at: node.location)
            rebuilder.alias(id, to: try rebuilder.add(.mul, [sum, scale], Attributes(), type: node.type, at: node.location))
            rewritten += 1
        }
        let kept = means - rewritten
        var line = "\(name): \(rewritten) reduce_mean -> reduce_sum*1/n"
        if shared > 0 { line += " (\(shared) sharing a reduce_sum)" }
        if kept > 0 { line += ", \(kept) kept (\(reduceMean == .always ? "not floating point" : "no reduce_sum to share"))" }
        if rewritten == 0 { return (graph, line) }
        return (try rebuilder.finish(), line)
    }
}

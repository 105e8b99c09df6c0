import SinterIR

/// Arithmetic and memory traffic of nodes, for `--kernels` dumps and `sinter bench` GFLOP/s.
/// FLOPs count a multiply-add as two; elementwise ops count one per element (transcendentals
/// too: this is a throughput yardstick, not a cycle model).
public enum Cost {
    public static func flops(_ graph: Graph, _ id: Int) -> Int {
        let node = graph[id]
        let out = node.type.count
        switch node.op {
        case .matmul:
            let a = graph[node.operands[0]].type.shape
            let transposeA = node.attrs.bool("transpose_a", default: false)
            let k = transposeA ? a[a.count - 2] : a[a.count - 1]
            return product(2, out, k)
        case .conv2d:
            let w = graph[node.operands[1]].type.shape
            return product(2, out, w[0], w[1], w[2])
        case .conv2dInputGrad:
            // Same multiply-adds as the forward conv producing the gradient's shape.
            let dy = graph[node.operands[0]].type, w = graph[node.operands[1]].type.shape
            return product(2, dy.count, w[0], w[1], w[2])
        case .conv2dFilterGrad:
            let dy = graph[node.operands[1]].type
            return product(2, dy.count, node.type.shape[0], node.type.shape[1], node.type.shape[2])
        case .maxPool, .avgPool:
            let window = (try? node.attrs.ints("window")) ?? [1, 1]
            return product(out, window[0], window[1])
        case .maxPoolGrad, .avgPoolGrad:
            return product(graph[node.operands[node.op == .maxPoolGrad ? 1 : 0]].type.count, 4)
        case .reduceSum, .reduceMean, .reduceMax, .argmax:
            return graph[node.operands[0]].type.count
        case .adamUpdate: return product(out, 10)
        case .rmspropUpdate: return product(out, 6)
        case .sgdUpdate: return product(out, 3)
        case _ where node.op.isElementwise: return out
        default: return 0
        }
    }

    /// Bytes read from operands plus bytes written, assuming each operand is read once.
    public static func bytes(_ graph: Graph, _ id: Int) -> Int {
        let node = graph[id]
        if node.op.isSource { return 0 }
        let reads = node.operands.map { graph[$0].op == .constant ? 0 : graph[$0].type.byteSize }.reduce(0, +)
        return reads + (node.op.isEffect ? graph[node.operands[0]].type.byteSize : node.type.byteSize)
    }

    /// Flop counts of a huge (hostile or not) graph can exceed Int: they saturate at Int.max.
    private static func product(_ factors: Int...) -> Int { factors.reduce(1, SizeLimits.saturatingProduct) }

    public static func totalFlops(_ graph: Graph) -> Int {
        graph.nodes.indices.map { flops(graph, $0) }.reduce(0, SizeLimits.saturatingSum)
    }
}

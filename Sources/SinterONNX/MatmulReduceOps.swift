import SinterIR

/// MatMul (numpy semantics: 1-D operands, broadcast batch axes), Gemm, the Reduce family and
/// Softmax/LogSoftmax.
enum MatmulReduceOps {
    typealias Handler = (NodeContext) throws -> [ImportedValue]

    static let table: [String: Handler] = [
        "MatMul": { c in [try matmul(c)] },
        "Gemm": { c in [try gemm(c)] },
        "ReduceMean": { c in [try reduce(c, .reduceMean, axesInputFrom: 18)] },
        "ReduceSum": { c in [try reduce(c, .reduceSum, axesInputFrom: 13)] },
        "ReduceMax": { c in [try reduce(c, .reduceMax, axesInputFrom: 18)] },
        "ReduceSumSquare": { c in [try reduce(c, .reduceSum, axesInputFrom: 18, before: .square)] },
        "ReduceL1": { c in [try reduce(c, .reduceSum, axesInputFrom: 18, before: .abs)] },
        "ReduceL2": { c in [try reduce(c, .reduceSum, axesInputFrom: 18, before: .square, after: .sqrt)] },
        "ReduceLogSum": { c in [try reduce(c, .reduceSum, axesInputFrom: 18, after: .log)] },
        // min(x) = -max(-x).
        "ReduceMin": { c in [try reduce(c, .reduceMax, axesInputFrom: 18, before: .neg, after: .neg)] },
        "ReduceLogSumExp": { c in [try reduceLogSumExp(c)] },
        "Softmax": { c in [try softmax(c, log: false)] },
        "LogSoftmax": { c in [try softmax(c, log: true)] },
    ]

    static func matmul(_ c: NodeContext) throws -> ImportedValue {
        let a = try c.required(0), b = try c.required(1)
        var sa = c.shape(a), sb = c.shape(b)
        guard a.elementType.isFloat, b.elementType.isFloat else { throw ONNXNodeFailure("needs float inputs") }
        guard !sa.isEmpty, !sb.isEmpty else { throw ONNXNodeFailure("operands must have rank 1 or more") }
        let i = c.importer
        var x = try c.node(a, hint: c.node.inputs[0]), y = try c.node(b, hint: c.node.inputs[1])
        // 1-D operands gain an axis that is dropped from the result again.
        let vectorA = sa.count == 1, vectorB = sb.count == 1
        if vectorA { sa = [1] + sa; x = try i.reshape(x, sa) }
        if vectorB { sb = sb + [1]; y = try i.reshape(y, sb) }
        let (m, k) = (sa[sa.count - 2], sa[sa.count - 1]), (k2, n) = (sb[sb.count - 2], sb[sb.count - 1])
        guard k == k2, let batch = broadcastShapes(Array(sa.dropLast(2)), Array(sb.dropLast(2))) else {
            throw ONNXNodeFailure("shapes \(shapeText(c.shape(a))) and \(shapeText(c.shape(b))) do not multiply")
        }
        let count = batch.reduce(1, *)
        var result: Int
        if sb.count == 2 {
            // [.., m, k] x [k, n]: one rank-2 product over all rows.
            result = try i.add(.matmul, [i.reshape(x, [count * m, k]), y])
        } else {
            let xa = try i.reshape(i.broadcast(x, to: batch + [m, k]), [count, m, k])
            let yb = try i.reshape(i.broadcast(y, to: batch + [k, n]), [count, k, n])
            result = try i.add(.matmul, [xa, yb])
        }
        var outShape = batch + [m, n]
        if vectorA { outShape.remove(at: outShape.count - 2) }
        if vectorB { outShape.removeLast() }
        result = try i.reshape(result, outShape)
        return c.runtime(result, .asONNX, a.elementType)
    }

    static func gemm(_ c: NodeContext) throws -> ImportedValue {
        let a = try c.required(0), b = try c.required(1)
        guard c.shape(a).count == 2, c.shape(b).count == 2 else { throw ONNXNodeFailure("A and B must be 2-D") }
        let alpha = try c.float("alpha", 1), beta = try c.float("beta", 1)
        let transA = try c.int("transA", 0) != 0, transB = try c.int("transB", 0) != 0
        let i = c.importer
        var attrs = Attributes()
        if transA { attrs["transpose_a"] = .bool(true) }
        if transB { attrs["transpose_b"] = .bool(true) }
        var y = try i.add(.matmul, [c.inputNode(0), c.inputNode(1)], attrs)
        if alpha != 1 { y = try i.add(.mul, [y, ElementwiseOps.scalar(c, alpha, like: y)]) }
        if let bias = try c.input(2), beta != 0 {
            let term: Int
            if let constant = bias.constant, beta != 1 {
                // Scaled at import: only the scaled bias becomes a weight.
                term = try c.node(.constant(ONNXConstant(type: constant.type, shape: constant.shape, values: constant.values.map { $0 * beta })),
                                  hint: c.node.inputs[2] + ".beta")
            } else if beta != 1 {
                let unscaled = try c.inputNode(2)
                term = try i.add(.mul, [unscaled, ElementwiseOps.scalar(c, beta, like: unscaled)])
            } else {
                term = try c.inputNode(2)
            }
            y = try i.add(.add, [y, term])
        }
        return c.runtime(y, .asONNX, a.elementType)
    }

    /// The reduced axes (sorted, normalised), whether they are kept, and the input; nil axes
    /// when the node is a no-op (empty axes with noop_with_empty_axes).
    static func reduction(_ c: NodeContext, axesInputFrom: Int) throws -> (x: ImportedValue, axes: [Int]?, keep: Bool) {
        let x = try c.required(0)
        let shape = c.shape(x)
        let keep = try c.int("keepdims", 1) != 0
        let given = try c.opset < axesInputFrom ? c.ints("axes") : c.constant(1, "axes")?.ints
        var axes: [Int]
        if let given, !given.isEmpty {
            axes = try given.map { try c.axis($0, rank: shape.count) }
        } else {
            if try c.int("noop_with_empty_axes", 0) != 0 { return (x, nil, keep) }
            axes = Array(shape.indices)
        }
        axes = Array(Set(axes)).sorted()
        guard axes.allSatisfy({ shape[$0] > 0 }) else { throw ONNXNodeFailure("reducing an empty axis is not supported") }
        guard x.elementType.isFloat else { throw ONNXNodeFailure("needs a float input, got \(x.elementType)") }
        return (x, axes, keep)
    }

    /// `after(op(before(x)))` over the node's axes; a kept-dims reduction keeps a channels-last layout.
    static func reduce(_ c: NodeContext, _ op: Op, axesInputFrom: Int, before: Op? = nil, after: Op? = nil) throws -> ImportedValue {
        let (x, reduced, keep) = try reduction(c, axesInputFrom: axesInputFrom)
        guard let axes = reduced else { return x }
        let (have, type) = PoolNormOps.runtimeLayout(x)
        let layout: ONNXLayout = keep && c.shape(x).count == 4 ? have : .asONNX
        let i = c.importer
        var input = try c.node(x, layout)
        if let before { input = try i.add(before, [input]) }
        var y = try i.add(op, [input], Attributes(["axes": .ints(axes.map(layout.axis)), "keepdims": .bool(keep)]))
        if let after { y = try i.add(after, [y]) }
        return c.runtime(y, layout, type)
    }

    /// log(sum(exp(x - max))) + max, the max taken first so exp cannot overflow.
    static func reduceLogSumExp(_ c: NodeContext) throws -> ImportedValue {
        let (x, reduced, keep) = try reduction(c, axesInputFrom: 18)
        guard let axes = reduced else { return x }
        let i = c.importer
        let input = try c.node(x)
        let kept = Attributes(["axes": .ints(axes), "keepdims": .bool(true)])
        let peak = try i.add(.reduceMax, [input], kept)
        let sum = try i.add(.reduceSum, [i.add(.exp, [i.add(.sub, [input, peak])])], kept)
        var y = try i.add(.add, [i.add(.log, [sum]), peak])
        if !keep { y = try i.reshape(y, c.shape(x).indices.filter { !axes.contains($0) }.map { c.shape(x)[$0] }) }
        return c.runtime(y, .asONNX, x.elementType)
    }

    /// exp(x - max) / sum(exp(x - max)) over `axis` (opset 13+) or, before opset 13, over every
    /// axis from `axis` on (the input seen as 2-D).
    static func softmax(_ c: NodeContext, log: Bool) throws -> ImportedValue {
        let x = try c.required(0)
        let shape = c.shape(x)
        guard x.elementType.isFloat else { throw ONNXNodeFailure("needs a float input") }
        let (have, type) = PoolNormOps.runtimeLayout(x)
        let axis = try c.axis(c.int("axis", c.opset < 13 ? 1 : -1), rank: shape.count)
        let onnxAxes = c.opset < 13 ? Array(axis..<shape.count) : [axis]
        let layout: ONNXLayout = shape.count == 4 ? have : .asONNX
        let axes = Attributes(["axes": .ints(onnxAxes.map(layout.axis)), "keepdims": .bool(true)])
        let i = c.importer
        let input = try c.node(x, layout)
        let shifted = try i.add(.sub, [input, i.add(.reduceMax, [input], axes)])
        let e = try i.add(.exp, [shifted])
        let sum = try i.add(.reduceSum, [e], axes)
        let y = log ? try i.add(.sub, [shifted, i.add(.log, [sum])]) : try i.add(.div, [e, sum])
        return c.runtime(y, layout, type)
    }
}

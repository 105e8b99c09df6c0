import SinterIR

/// Per-element C expressions of the elementwise ops. Composable: an expression is built from its
/// operands' element expressions, so a fused kernel can nest them (`expf(-(x0[i]))`). Operand
/// expressions are pasted more than once for some ops (square, relu, clip, ...), so callers pass
/// simple operands: array elements, literals or local variable names.
public enum ElementwiseExpr {
    /// The C expression of one element of a node of op `op` with attributes `attrs`, result type
    /// `dtype` and operands of type `operandTypes`, given its operands' element expressions `x`.
    public static func expression(op: Op, attrs: Attributes, dtype: DType, operandTypes: [DType], _ x: [String]) throws -> String {
        let t = dtype.cType
        let s = dtype.helperSuffix
        func lit(_ v: Double) -> String { cLiteral(v, dtype) }
        func m(_ name: String) -> String { dtype.math(name) }
        /// ` || a != a` (a is NaN) for float types; integers have no NaN.
        func orNaN(_ a: String) -> String { dtype.isFloat ? " || \(a) != \(a)" : "" }
        func need(_ n: Int) throws {
            guard x.count == n else {
                throw SinterError.verify(message: "\(op.rawValue) takes \(n) operand(s), got \(x.count)")
            }
        }
        switch op {
        case .broadcastTo, .reshape:
            try need(1)
            return x[0]
        case .cast:
            try need(1)
            return "(\(t))(\(x[0]))"
        case _ where op.isUnaryElementwise:
            try need(1)
            guard dtype.isFloat else { throw SinterError.verify(message: "\(op.rawValue) needs a floating-point type, got \(dtype)") }
            let a = x[0]
            switch op {
            case .stopGradient: return a
            case .neg: return "(-(\(a)))"
            case .exp: return "\(m("exp"))(\(a))"
            case .log: return "\(m("log"))(\(a))"
            case .sqrt: return "\(m("sqrt"))(\(a))"
            case .rsqrt: return "(\(lit(1)) / \(m("sqrt"))(\(a)))"
            case .square: return "(\(a) * \(a))"
            case .abs: return "\(m("fabs"))(\(a))"
            case .sign: return "sinter_sign_\(s)(\(a))"
            // NaN propagates as in TF (relu(NaN) = NaN): each comparison is written so that NaN,
            // for which every comparison is false, falls through to `a`. One compare per bound,
            // so the loops still vectorise; -0 still gives +0.
            case .relu: return "(\(a) <= \(lit(0)) ? \(lit(0)) : \(a))"
            case .relu6:
                return "(\(a) <= \(lit(0)) ? \(lit(0)) : (\(a) >= \(lit(6)) ? \(lit(6)) : \(a)))"
            case .sigmoid: return "sinter_sigmoid_\(s)(\(a))"
            case .tanh: return "\(m("tanh"))(\(a))"
            case .softplus: return "sinter_softplus_\(s)(\(a))"
            case .selu: return "sinter_selu_\(s)(\(a))"
            case .leakyRelu:
                let alpha = attrs.float("alpha", default: 0.2)
                return "(\(a) > \(lit(0)) ? \(a) : \(lit(alpha)) * \(a))"
            case .clip:
                // tf.clip_by_value: maximum(minimum(x, high), low), and NaN stays NaN (both
                // comparisons false for NaN select `a`).
                let low = lit(try attrs.float("low")), high = lit(try attrs.float("high"))
                let upper = "(\(a) > \(high) ? \(high) : \(a))"
                return "(\(upper) < \(low) ? \(low) : \(upper))"
            default: break
            }
        case _ where op.isBinaryElementwise:
            try need(2)
            let a = x[0], b = x[1]
            if op.isComparison {
                let c: String
                switch op {
                case .greater: c = ">"
                case .greaterEqual: c = ">="
                case .less: c = "<"
                case .lessEqual: c = "<="
                default: c = "=="
                }
                return "(\(a) \(c) \(b) ? \(lit(1)) : \(lit(0)))"
            }
            switch op {
            case .add: return "(\(a) + \(b))"
            case .sub: return "(\(a) - \(b))"
            case .mul: return "(\(a) * \(b))"
            case .div: return "(\(a) / \(b))"
            // tf.maximum/minimum propagate a NaN from either side (Eigen PropagateNaN): a NaN
            // `b` loses every comparison and is selected; a NaN `a` is caught by `a != a`.
            case .maximum: return "(\(a) > \(b)\(orNaN(a)) ? \(a) : \(b))"
            case .minimum: return "(\(a) < \(b)\(orNaN(a)) ? \(a) : \(b))"
            case .pow: return dtype == .i32 ? "sinter_pow_i32(\(a), \(b))" : "\(m("pow"))(\(a), \(b))"
            default: break
            }
        case .select:
            try need(3)
            return "(\(x[0]) != 0 ? \(x[1]) : \(x[2]))"
        default: break
        }
        throw SinterError.verify(message: "\(op.rawValue) is not an elementwise op")
    }

    /// The expression of graph node `id` given its operands' element expressions.
    public static func expression(_ graph: Graph, _ id: Int, _ x: [String]) throws -> String {
        let node = graph[id]
        return try expression(op: node.op, attrs: node.attrs, dtype: node.type.dtype,
                              operandTypes: node.operands.map { graph[$0].type.dtype }, x)
    }
}

enum ElementwiseKernels {
    /// `constant {value}`: fill.
    static func emitConstant(_ ctx: KernelContext, _ w: inout CWriter) {
        let value = cLiteral(ctx.attrs.float("value", default: 0), ctx.dtype)
        let n = ctx.type.count
        if n == 1 {
            w.line("y[0] = \(value);")
        } else {
            w.loop("i", n, parallel: true) { w in w.line("y[i] = \(value);") }
        }
    }

    /// Any elementwise op (and broadcast_to) with numpy broadcasting: one loop nest over the
    /// result, operands indexed with stride 0 along broadcast dimensions.
    static func emitElementwise(_ ctx: KernelContext, _ w: inout CWriter) throws {
        let shape = ctx.type.shape
        var accesses = [StridedAccess(name: ctx.out, offset: 0, strides: rowMajorStrides(shape))]
        var operandAccess: [Int?] = []
        for (i, operand) in ctx.node.operands.enumerated() {
            if ctx.operandNames[i] == nil {
                operandAccess.append(nil)
                continue
            }
            operandAccess.append(accesses.count)
            accesses.append(StridedAccess(name: ctx.x(i), offset: 0,
                                          strides: broadcastStrides(ctx.graph[operand].type.shape, to: shape)))
        }
        let nest = LoopNest(shape: shape, accesses: accesses).coalesced()
        var failure: Error?
        nest.emit(&w) { refs in
            let operands = ctx.node.operands.indices.map { i -> String in
                if let a = operandAccess[i] { return refs[a] }
                return ctx.element(i, "0")
            }
            do {
                return ["\(refs[0]) = \(try ElementwiseExpr.expression(ctx.graph, ctx.id, operands));"]
            } catch {
                failure = error
                return []
            }
        }
        if let failure { throw failure }
    }
}

/// `loop:loop-nest`: one pass over the index space (a coalesced LoopNest): a constant fill, one
/// elementwise or broadcast node, or a fused loop as FusedEmitter builds it (`ctx.hooks.loop`).
struct LoopNestStrategy: KernelStrategy {
    var kind: KernelKind { .loop }
    var name: String { "loop-nest" }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        if let loop = ctx.hooks.loop { return try loop(&w) }
        if ctx.node.op == .constant { return ElementwiseKernels.emitConstant(ctx, &w) }
        try ElementwiseKernels.emitElementwise(ctx, &w)
    }
}

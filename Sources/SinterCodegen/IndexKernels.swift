import SinterIR

/// argmax {axis} and one_hot: the index ops classification needs (Docs/ir.md, "Indices").
///
/// argmax follows `keras.ops.argmax` on the TensorFlow backend: the first maximum wins ties, a
/// NaN never wins (every comparison with it is false, as in `tf.argmax`), and -0 ranks just below
/// +0 (Keras replaces -0 by minus the smallest normal number first). A row with no comparable
/// value (all NaN) gives 0.
enum IndexKernels {
    static func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        switch ctx.node.op {
        case .argmax: try emitArgmax(ctx, &w)
        case .oneHot: emitOneHot(ctx, &w)
        default: throw SinterError.verify(message: "not an index op: \(ctx.node.op.rawValue)")
        }
    }

    private static func emitArgmax(_ ctx: KernelContext, _ w: inout CWriter) throws {
        let input = ctx.operandType(0)
        let axis = try ShapeInference.normalizedAxes([try ctx.attrs.int("axis")], rank: input.rank)[0]
        let n = input.shape[axis]
        let inner = input.shape[(axis + 1)...].reduce(1, *)
        let results = ctx.type.count
        let t = input.dtype.cType
        let x = ctx.x(0)
        guard results > 0 else { return }
        /// The value compared: -0 moved below +0 for floats.
        func key(_ v: String) -> String {
            switch input.dtype {
            case .f32: return "(\(v) == 0.0f && signbit(\(v)) ? \(cLiteral(-Double(Float.leastNormalMagnitude), .f32)) : \(v))"
            case .f64: return "(\(v) == 0.0 && signbit(\(v)) ? \(cLiteral(-Double.leastNormalMagnitude, .f64)) : \(v))"
            case .i32: return v
            }
        }
        let lowest = input.dtype == .i32 ? "INT32_MIN" : (input.dtype == .f32 ? "(-INFINITY)" : "(-(double)INFINITY)")
        w.loop("o", results, parallel: true) { w in
            w.line("const \(t) *row = \(x) + (o / \(inner)) * \(n * inner) + o % \(inner);")
            w.line("int32_t best = 0;")
            // Starting below every value: the first comparable element is taken, NaN never is.
            w.line("\(t) top = \(lowest);")
            w.block("for (long j = 0; j < \(n); j++)") { w in
                w.line("const \(t) v = \(key("row[j * \(inner)]"));")
                w.line("if (v > top) { top = v; best = (int32_t)j; }")
            }
            w.line("\(ctx.out)[o] = best;")
        }
    }

    /// y[i, j] = x[i] == j ? 1 : 0 (an index outside [0, depth) gives a row of zeros, as tf.one_hot).
    private static func emitOneHot(_ ctx: KernelContext, _ w: inout CWriter) {
        let depth = ctx.type.shape.last ?? 1
        let rows = ctx.operandType(0).count
        let one = cLiteral(1, ctx.dtype), zero = cLiteral(0, ctx.dtype)
        let x = ctx.x(0)
        w.loop("i", rows, parallel: true) { w in
            w.line("const int32_t k = \(x)[i];")
            w.line("for (long j = 0; j < \(depth); j++) \(ctx.out)[i * \(depth) + j] = k == j ? \(one) : \(zero);")
        }
    }
}

/// `index:loops`: one pass over the rows (argmax) or the indices (one_hot).
struct IndexLoopStrategy: KernelStrategy {
    var kind: KernelKind { .index }
    var name: String { "loops" }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try IndexKernels.emit(ctx, &w) }
}

import SinterIR

/// transpose, slice, reverse, concat, pad (constant and reflect), and reshape when it is not
/// aliased. All but reflect padding are strided copies through `LoopNest`, whose coalescing turns
/// contiguous runs into flat inner loops.
enum DataMovementKernels {
    static func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        let input = ctx.operandType(0)
        let out = ctx.type.shape
        let outStrides = rowMajorStrides(out)
        let inStrides = rowMajorStrides(input.shape)
        let x = ctx.x(0)
        switch ctx.node.op {
        case .reshape:
            w.line("memcpy(y, \(x), \(ctx.type.byteSize));")
        case .transpose:
            let perm = try ctx.attrs.ints("perm")
            copy(out, y: (0, outStrides), x: x, (0, perm.map { inStrides[$0] }), &w)
        case .slice:
            let begin = try ctx.attrs.ints("begin")
            let offset = zip(begin, inStrides).reduce(0) { $0 + $1.0 * $1.1 }
            copy(out, y: (0, outStrides), x: x, (offset, inStrides), &w)
        case .reverse:
            let axes = try ShapeInference.normalizedAxes(try ctx.attrs.ints("axes"), rank: input.rank)
            var offset = 0
            var strides = inStrides
            for axis in axes {
                offset += (input.shape[axis] - 1) * inStrides[axis]
                strides[axis] = -inStrides[axis]
            }
            copy(out, y: (0, outStrides), x: x, (offset, strides), &w)
        case .concat:
            let axis = try ShapeInference.normalizedAxes([try ctx.attrs.int("axis")], rank: input.rank)[0]
            var start = 0
            for i in ctx.node.operands.indices {
                let shape = ctx.operandType(i).shape
                w.line("/* operand \(i): \(shapeText(shape)) at \(start) along axis \(axis) */")
                copy(shape, y: (start * outStrides[axis], outStrides), x: ctx.x(i), (0, rowMajorStrides(shape)), &w)
                start += shape[axis]
            }
        case .pad:
            let pads = try ctx.attrs.ints("pads")
            let mode = try ctx.attrs.string("mode")
            if mode == "reflect" {
                emitReflect(ctx, pads: pads, &w)
            } else {
                let offset = input.shape.indices.reduce(0) { $0 + pads[2 * $1] * outStrides[$1] }
                if offset != 0 || ctx.type.count != input.count {
                    w.line("memset(y, 0, \(ctx.type.byteSize));")
                }
                copy(input.shape, y: (offset, outStrides), x: x, (0, inStrides), &w)
            }
        default:
            throw SinterError.verify(message: "not a data movement op: \(ctx.node.op.rawValue)")
        }
    }

    /// y[yo + sum i_d*ys_d] = x[xo + sum i_d*xs_d] over `shape`.
    private static func copy(_ shape: [Int], y: (Int, [Int]), x: String, _ xs: (Int, [Int]), _ w: inout CWriter) {
        let nest = LoopNest(shape: shape, accesses: [
            StridedAccess(name: "y", offset: y.0, strides: y.1),
            StridedAccess(name: x, offset: xs.0, strides: xs.1),
        ]).coalesced()
        // A contiguous copy is a memcpy.
        if nest.shape.count <= 1, nest.accesses.allSatisfy({ $0.strides.first ?? 1 == 1 }) {
            let n = nest.shape.first ?? 1
            w.line("memcpy(y + \(y.0), \(x) + \(xs.0), sizeof(*y) * \(n));")
            return
        }
        nest.emit(&w) { refs in ["\(refs[0]) = \(refs[1]);"] }
    }

    /// TF REFLECT padding (the edge is not repeated): source index of output index o along an
    /// axis of size n padded by `before` is |o - before| mirrored at n - 1. The trailing axes
    /// that are not padded are one contiguous run in both tensors (the channels of an NHWC
    /// image), copied by a flat loop the compiler vectorises; the loops above it mirror their
    /// index, the outermost of more than one iteration split over threads (an image's rows
    /// when its batch is 1).
    private static func emitReflect(_ ctx: KernelContext, pads: [Int], _ w: inout CWriter) {
        let input = ctx.operandType(0)
        let out = ctx.type.shape
        let inStrides = rowMajorStrides(input.shape)
        let outStrides = rowMajorStrides(out)
        let rank = out.count
        if rank == 0 {
            w.line("y[0] = \(ctx.x(0))[0];")
            return
        }
        // Loop over the axes up to the last padded one; the rest is a run of `run` elements.
        let looped = (out.indices.last { pads[2 * $0] != 0 || pads[2 * $0 + 1] != 0 } ?? -1) + 1
        let run = out[looped...].reduce(1, *)
        let parallelAxis = out[..<looped].firstIndex { $0 > 1 }
        func level(_ d: Int, _ w: inout CWriter, yOff: String, xOff: String) {
            if d == looped {
                let (y, x) = (yOff == "0" ? "y" : "y + \(yOff)", xOff == "0" ? ctx.x(0) : "\(ctx.x(0)) + \(xOff)")
                if run == 1 {
                    w.line("*(\(y)) = *(\(x));")
                } else {
                    w.block("") { w in
                        w.line("\(ctx.t) *restrict yr = \(y);")
                        w.line("const \(ctx.t) *restrict xr = \(x);")
                        w.line("for (long c = 0; c < \(run); c++) yr[c] = xr[c];")
                    }
                }
                return
            }
            let n = input.shape[d], before = pads[2 * d]
            w.loop("o\(d)", out[d], parallel: d == parallelAxis) { w in
                if before == 0 && pads[2 * d + 1] == 0 {
                    w.line("const long s\(d) = o\(d);")
                } else {
                    w.line("long s\(d) = o\(d) - \(before);")
                    w.line("if (s\(d) < 0) s\(d) = -s\(d);")
                    w.line("if (s\(d) >= \(n)) s\(d) = \(2 * (n - 1)) - s\(d);")
                }
                let y = yOff == "0" ? "o\(d) * \(outStrides[d])" : "\(yOff) + o\(d) * \(outStrides[d])"
                let x = xOff == "0" ? "s\(d) * \(inStrides[d])" : "\(xOff) + s\(d) * \(inStrides[d])"
                level(d + 1, &w, yOff: y, xOff: x)
            }
        }
        level(0, &w, yOff: "0", xOff: "0")
    }
}

/// `data_movement:strided-copy`: the copies above.
struct StridedCopyStrategy: KernelStrategy {
    var kind: KernelKind { .dataMovement }
    var name: String { "strided-copy" }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try DataMovementKernels.emit(ctx, &w) }
}

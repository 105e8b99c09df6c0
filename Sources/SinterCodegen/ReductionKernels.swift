import SinterIR

/// reduce_sum / reduce_mean / reduce_max {axes, keepdims}.
///
/// The input's dimensions are grouped into runs of reduced (R) and kept (K) axes (size-1 axes
/// dropped, neighbours of one kind merged). Two shapes of loop nest:
/// - innermost run reduced (`[.., K, R]`, e.g. a mean over H,W,C): each result element sums
///   contiguous runs with `sinter_sum_*` (16 interleaved partial sums, tree-combined);
/// - innermost run kept (`[R, K]`, e.g. a bias gradient or BatchNorm statistics over N,H,W):
///   rows are added into a tile of accumulators, vectorised along the kept axis, flushed into
///   the total every 256 rows so long reductions stay accurate.
/// Each result element is summed in one fixed order (independent of threads); the parallel loop
/// is over result elements only.
enum ReductionKernels {
    private struct Group { var reduced: Bool; var size: Int; var stride: Int }

    static func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        let input = ctx.operandType(0)
        let axes = try ShapeInference.normalizedAxes(try ctx.attrs.ints("axes"), rank: input.rank)
        let op = ctx.node.op
        let x = ctx.x(0)
        let t = ctx.t
        let reducedCount = axes.reduce(1) { $0 * input.shape[$1] }
        let outCount = ctx.type.count
        let isMax = op == .reduceMax
        let zero = cLiteral(0, ctx.dtype)
        let lowest = ctx.dtype == .i32 ? "INT32_MIN" : (ctx.dtype == .f32 ? "(-INFINITY)" : "(-(double)INFINITY)")
        func finish(_ acc: String) -> String {
            op == .reduceMean ? "(\(acc)) / (\(t))\(reducedCount)" : acc
        }

        // Group the input axes.
        let strides = rowMajorStrides(input.shape)
        var groups: [Group] = []
        for d in input.shape.indices where input.shape[d] != 1 {
            let reduced = axes.contains(d)
            if let last = groups.last, last.reduced == reduced {
                groups[groups.count - 1].size *= input.shape[d]
                groups[groups.count - 1].stride = strides[d]
            } else {
                groups.append(Group(reduced: reduced, size: input.shape[d], stride: strides[d]))
            }
        }
        if reducedCount == 0 || outCount == 0 { return }
        if !groups.contains(where: \.reduced) {
            // Nothing to reduce (all reduced axes have size 1): a copy (mean divides by 1).
            w.loop("i", outCount, parallel: outCount >= parallelWorkThreshold) { w in
                w.line("y[i] = \(x)[i];")
            }
            return
        }
        let kept = groups.filter { !$0.reduced }

        if groups.last!.reduced {
            // [.., K, R]: contiguous runs of length L.
            let inner = groups.last!
            let outerReduced = groups.dropLast().filter(\.reduced)
            let parallel = outCount > 1 && outCount * reducedCount >= parallelWorkThreshold
            emitKeptLoops(kept, &w, parallel: parallel) { w, keptIndex, keptOffset in
                w.line("\(t) acc = \(isMax ? lowest : zero);")
                emitLoops(outerReduced, prefix: "r", &w) { w, offset in
                    let base = [keptOffset, offset].filter { $0 != "0" }.joined(separator: " + ")
                    let start = base.isEmpty ? "0" : base
                    if isMax {
                        w.block("for (long l = 0; l < \(inner.size); l++)") { w in
                            w.line("const \(t) v = \(x)[\(start) + l];")
                            w.line("if (v > acc) acc = v;")
                        }
                    } else {
                        w.line("acc += sinter_sum_\(ctx.dtype.helperSuffix)(\(x) + \(start), \(inner.size), 1);")
                    }
                }
                w.line("y[\(keptIndex)] = \(finish("acc"));")
            }
            return
        }

        // [.., R, K]: the innermost kept run (length C, contiguous) is vectorised over.
        let innerKept = groups.last!
        let outerKept = Array(kept.dropLast())
        let reducedGroups = groups.filter(\.reduced)
        let tile = min(innerKept.size, 1024)
        let tiles = (innerKept.size + tile - 1) / tile
        let parallel = outCount / innerKept.size * tiles > 1 && outCount * reducedCount >= parallelWorkThreshold
        let outerCount = outerKept.reduce(1) { $0 * $1.size }
        let total = outerCount * tiles
        if parallel { w.line("SINTER_PARALLEL_FOR") }
        w.loop("task", total) { w in
            w.line("const long o = task / \(tiles), c0 = (task % \(tiles)) * \(tile);")
            w.line("const long cn = \(innerKept.size) - c0 < \(tile) ? \(innerKept.size) - c0 : \(tile);")
            // Offset of the outer kept index o in the input.
            var rem = "o"
            var terms: [String] = []
            let outerStrides = rowMajorStrides(outerKept.map(\.size))
            for (g, group) in outerKept.enumerated() {
                terms.append("((\(rem)) / \(outerStrides[g])) * \(group.stride)")
                rem = "(\(rem)) % \(outerStrides[g])"
            }
            w.line("const long base = \(terms.isEmpty ? "0" : terms.joined(separator: " + ")) + c0;")
            w.line("SINTER_ALIGNED \(t) acc[\(tile)];")
            if isMax {
                w.line("for (long c = 0; c < cn; c++) acc[c] = \(lowest);")
            } else {
                w.line("SINTER_ALIGNED \(t) part[\(tile)];")
                w.line("for (long c = 0; c < cn; c++) { acc[c] = \(zero); part[c] = \(zero); }")
                w.line("int rows = 0;")
            }
            emitLoops(reducedGroups, prefix: "r", &w) { w, offset in
                let start = offset == "0" ? "base" : "base + \(offset)"
                w.line("const \(t) *row = \(x) + \(start);")
                if isMax {
                    w.line("for (long c = 0; c < cn; c++) if (row[c] > acc[c]) acc[c] = row[c];")
                } else {
                    w.line("for (long c = 0; c < cn; c++) part[c] += row[c];")
                    w.block("if (++rows == 256)") { w in
                        w.line("for (long c = 0; c < cn; c++) { acc[c] += part[c]; part[c] = 0; }")
                        w.line("rows = 0;")
                    }
                }
            }
            if !isMax { w.line("for (long c = 0; c < cn; c++) acc[c] += part[c];") }
            w.line("for (long c = 0; c < cn; c++) y[o * \(innerKept.size) + c0 + c] = \(finish("acc[c]"));")
        }
    }

    /// Loops over the kept groups; the body gets the result index and the input offset.
    private static func emitKeptLoops(_ kept: [Group], _ w: inout CWriter, parallel: Bool,
                                      body: (inout CWriter, String, String) -> Void) {
        let count = kept.reduce(1) { $0 * $1.size }
        if kept.isEmpty {
            body(&w, "0", "0")
            return
        }
        let strides = rowMajorStrides(kept.map(\.size))
        w.loop("o", count, parallel: parallel) { w in
            var rem = "o"
            var terms: [String] = []
            for (g, group) in kept.enumerated() {
                terms.append(g == kept.count - 1 ? "(\(rem)) * \(group.stride)" : "((\(rem)) / \(strides[g])) * \(group.stride)")
                rem = "(\(rem)) % \(strides[g])"
            }
            w.line("const long xo = \(terms.joined(separator: " + "));")
            body(&w, "o", "xo")
        }
    }

    /// Nested loops over groups; the body gets the input offset expression.
    private static func emitLoops(_ groups: [Group], prefix: String, _ w: inout CWriter,
                                  body: (inout CWriter, String) -> Void) {
        func level(_ g: Int, _ w: inout CWriter) {
            if g == groups.count {
                let terms = groups.indices.map { "\(prefix)\($0) * \(groups[$0].stride)" }
                body(&w, terms.isEmpty ? "0" : terms.joined(separator: " + "))
                return
            }
            w.loop("\(prefix)\(g)", groups[g].size) { w in level(g + 1, &w) }
        }
        level(0, &w)
    }
}

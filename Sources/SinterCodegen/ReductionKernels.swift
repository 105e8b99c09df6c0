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
///
/// Fused (Docs/fusion.md): a prologue computes each input element in registers instead of
/// reading it (`ctx.hooks.load`), and an epilogue receives each result element
/// (`ctx.hooks.store`). A prologue summed with `sinter_sum_*` goes through a stack block of
/// 4096 values and `sinter_sum_block_*`, which is exactly the order `sinter_sum_*` uses.
enum ReductionKernels {
    struct Group { var reduced: Bool; var size: Int; var stride: Int }

    /// What a reduction loops over: its input, the axes it reduces (normalised), and the input's
    /// dimensions grouped into runs of reduced and kept axes.
    struct Geometry {
        var input: TensorType
        var axes: [Int]
        var groups: [Group]
        /// Elements summed into each result element.
        var reducedCount: Int { axes.reduce(1) { $0 * input.shape[$1] } }
    }

    static func geometry(_ graph: Graph, _ node: Node) throws -> Geometry {
        let input = graph[node.operands[0]].type
        let axes = try ShapeInference.normalizedAxes(try node.attrs.ints("axes"), rank: input.rank)
        // Group the input axes: size-1 axes dropped, neighbours of one kind merged.
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
        return Geometry(input: input, axes: axes, groups: groups)
    }

    static func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        guard case let .reduction(geometry) = ctx.geometry else { throw ctx.missingGeometry("reduction") }
        let groups = geometry.groups
        let op = ctx.node.op
        let x = ctx.x(0)
        let t = ctx.t
        let reducedCount = geometry.reducedCount
        let outCount = ctx.type.count
        let isMax = op == .reduceMax
        // reduce_max propagates NaN (TF's MaxReducer<PropagateNaN>): a NaN element always wins.
        func orNaN(_ v: String) -> String { ctx.dtype.isFloat ? " || \(v) != \(v)" : "" }
        let zero = cLiteral(0, ctx.dtype)
        let lowest = ctx.dtype == .i32 ? "INT32_MIN" : (ctx.dtype == .f32 ? "(-INFINITY)" : "(-(double)INFINITY)")
        func finish(_ acc: String) -> String {
            op == .reduceMean ? "(\(acc)) / (\(t))\(reducedCount)" : acc
        }
        let fusedInput = ctx.hooks.load != nil
        /// The input element at flat index `index` (statements of a prologue go to `w`).
        func load(_ w: inout CWriter, _ index: String) throws -> String {
            if let hook = ctx.hooks.load { return try hook(&w, index) }
            return "\(x)[\(index)]"
        }
        func store(_ w: inout CWriter, _ index: String, _ value: String) throws {
            if let hook = ctx.hooks.store { try hook(&w, index, value) } else { w.line("\(ctx.out)[\(index)] = \(value);") }
        }

        if reducedCount == 0 || outCount == 0 { return }
        if !groups.contains(where: \.reduced) {
            // Nothing to reduce (all reduced axes have size 1): a copy (mean divides by 1).
            try w.loop("i", outCount, parallel: true) { w in
                try store(&w, "i", try load(&w, "i"))
            }
            return
        }
        let kept = groups.filter { !$0.reduced }

        if groups.last!.reduced {
            // [.., K, R]: contiguous runs of length L.
            let inner = groups.last!
            let outerReduced = groups.dropLast().filter(\.reduced)
            let parallel = outCount > 1
            try emitKeptLoops(kept, &w, parallel: parallel) { w, keptIndex, keptOffset in
                w.line("\(t) acc = \(isMax ? lowest : zero);")
                try emitLoops(outerReduced, prefix: "r", &w) { w, offset in
                    let base = [keptOffset, offset].filter { $0 != "0" }.joined(separator: " + ")
                    let start = base.isEmpty ? "0" : base
                    if isMax {
                        try w.block("for (long l = 0; l < \(inner.size); l++)") { w in
                            w.line("const \(t) v = \(try load(&w, "\(start) + l"));")
                            w.line("if (v > acc\(orNaN("v"))) acc = v;")
                        }
                    } else if fusedInput {
                        // A whole-tensor reduction is split over threads by 4096-blocks: the
                        // block sums are then added in order, as sinter_sum does.
                        let parallelBlocks = kept.isEmpty && outerReduced.isEmpty && inner.size > 4096
                            && inner.size <= 4096 * 4096 && ctx.splits
                        try emitFusedSum(ctx, &w, start: start, count: inner.size, parallel: parallelBlocks, load: load)
                    } else {
                        w.line("acc += sinter_sum_\(ctx.dtype.helperSuffix)(\(x) + \(start), \(inner.size), 1);")
                    }
                }
                try store(&w, keptIndex, finish("acc"))
            }
            return
        }

        // [.., R, K]: the innermost kept run (length C, contiguous) is vectorised over.
        if let blocks = rowBlocks(geometry, op: op, splits: ctx.splits) {
            return try emitRowBlocks(ctx, geometry, blocks: blocks, &w, load: load, store: store, finish: finish)
        }
        let innerKept = groups.last!
        let outerKept = Array(kept.dropLast())
        let reducedGroups = groups.filter(\.reduced)
        let outerCount = outerKept.reduce(1) { $0 * $1.size }
        var tile = min(innerKept.size, 1024)
        // One task would leave all threads but one idle (a bias gradient: 64 columns over N*H*W
        // rows): split the columns into two 128-byte aligned halves. Each column still sums its
        // rows in the same order, so the results do not change. Not with a fused prologue:
        // measured slower there (two threads streaming halves of every row of three arrays).
        if !fusedInput && outerCount == 1 && tile == innerKept.size && tile >= 64 && ctx.splits {
            tile = (innerKept.size / 2 + 31) / 32 * 32
        }
        let tiles = (innerKept.size + tile - 1) / tile
        let parallel = outCount / innerKept.size * tiles > 1
        let total = outerCount * tiles
        if parallel { w.line("SINTER_PARALLEL_FOR") }
        try w.loop("task", total) { w in
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
            try emitLoops(reducedGroups, prefix: "r", &w) { w, offset in
                let start = offset == "0" ? "base" : "base + \(offset)"
                if fusedInput {
                    try w.block("for (long c = 0; c < cn; c++)") { w in
                        let value = try load(&w, "\(start) + c")
                        w.line(isMax ? "if (\(value) > acc[c]\(orNaN(value))) acc[c] = \(value);" : "part[c] += \(value);")
                    }
                } else {
                    w.line("const \(t) *row = \(x) + \(start);")
                }
                if isMax {
                    if !fusedInput { w.line("for (long c = 0; c < cn; c++) if (row[c] > acc[c]\(orNaN("row[c]"))) acc[c] = row[c];") }
                } else {
                    if !fusedInput { w.line("for (long c = 0; c < cn; c++) part[c] += row[c];") }
                    w.block("if (++rows == 256)") { w in
                        w.line("for (long c = 0; c < cn; c++) { acc[c] += part[c]; part[c] = 0; }")
                        w.line("rows = 0;")
                    }
                }
            }
            if !isMax { w.line("for (long c = 0; c < cn; c++) acc[c] += part[c];") }
            if ctx.hooks.store == nil {
                w.line("for (long c = 0; c < cn; c++) \(ctx.out)[o * \(innerKept.size) + c0 + c] = \(finish("acc[c]"));")
            } else {
                try w.block("for (long c = 0; c < cn; c++)") { w in
                    try store(&w, "o * \(innerKept.size) + c0 + c", finish("acc[c]"))
                }
            }
        }
    }

    /// Rows summed into one partial sum before it is added to the total (the [R, K] loop nest).
    static let rowsPerPart = 256

    /// The number of row blocks when a sum over [R, K] (an instance norm's mean over H and W:
    /// few columns, many rows) is split over threads by blocks of rows rather than by columns,
    /// which leaves one task when the columns are few; nil when it is not. Only for kernels that
    /// split (the blocks' partial sums take scratch).
    static func rowBlocks(_ g: Geometry, op: Op, splits: Bool) -> Int? {
        guard splits, op != .reduceMax, g.groups.count == 2, g.groups[0].reduced, !g.groups[1].reduced,
              g.groups[1].size <= 1024, g.groups[0].size > rowsPerPart else { return nil }
        return (g.groups[0].size + rowsPerPart - 1) / rowsPerPart
    }

    /// [R, K] by row blocks: each block of `rowsPerPart` rows sums into its own partial sums in
    /// scratch (in parallel), then the partial sums are added into the total block by block, in
    /// order. That is the arithmetic of the one-task loop nest (`part` flushed into `acc` every
    /// `rowsPerPart` rows), so the values are the same bits as with one thread.
    private static func emitRowBlocks(_ ctx: KernelContext, _ g: Geometry, blocks: Int, _ w: inout CWriter,
                                      load: (inout CWriter, String) throws -> String,
                                      store: (inout CWriter, String, String) throws -> Void,
                                      finish: (String) -> String) throws {
        let (rows, columns, stride) = (g.groups[0].size, g.groups[1].size, g.groups[0].stride)
        let t = ctx.t, zero = cLiteral(0, ctx.dtype)
        w.line("\(t) *parts = (\(t) *)scratch; /* [\(blocks)][\(columns)] partial sums */")
        try w.loop("bk", blocks, parallel: true) { w in
            w.line("\(t) *restrict part = parts + bk * \(columns);")
            w.line("for (long c = 0; c < \(columns); c++) part[c] = \(zero);")
            w.line("const long r1 = (bk + 1) * \(rowsPerPart) < \(rows) ? (bk + 1) * \(rowsPerPart) : \(rows);")
            try w.block("for (long r = bk * \(rowsPerPart); r < r1; r++)") { w in
                if ctx.hooks.load != nil {
                    try w.block("for (long c = 0; c < \(columns); c++)") { w in
                        w.line("part[c] += \(try load(&w, "r * \(stride) + c"));")
                    }
                } else {
                    w.line("const \(t) *row = \(ctx.x(0)) + r * \(stride);")
                    w.line("for (long c = 0; c < \(columns); c++) part[c] += row[c];")
                }
            }
        }
        try w.block("for (long c = 0; c < \(columns); c++)") { w in
            w.line("\(t) acc = \(zero);")
            w.line("for (long bk = 0; bk < \(blocks); bk++) acc += parts[bk * \(columns) + c];")
            // The one-task nest adds its (empty) last partial sum once more when the rows are a
            // whole number of blocks: 0 + (-0) is +0, so do the same.
            if rows % rowsPerPart == 0 { w.line("acc += \(zero);") }
            try store(&w, "c", finish("acc"))
        }
    }

    /// `acc += ` the sum of `count` prologue values from flat index `start`, in sinter_sum's
    /// order: 4096-blocks through `sinter_sum_block_*`, block sums added left to right. With
    /// `parallel` the blocks are spread over threads and their sums added in order afterwards.
    private static func emitFusedSum(_ ctx: KernelContext, _ w: inout CWriter, start: String, count: Int, parallel: Bool,
                                     load: (inout CWriter, String) throws -> String) throws {
        let t = ctx.t, s = ctx.dtype.helperSuffix
        let block = 4096
        func fill(_ w: inout CWriter, _ offset: String, _ n: String) throws {
            try w.block("for (long l = 0; l < \(n); l++)") { w in
                w.line("buf[l] = \(try load(&w, "\(start) + \(offset)l"));")
            }
        }
        try w.block("") { w in
            if count <= block {
                w.line("SINTER_ALIGNED \(t) buf[\(count)];")
                try fill(&w, "", "\(count)")
                w.line("acc += sinter_sum_block_\(s)(buf, \(count), 1);")
                return
            }
            let blocks = (count + block - 1) / block
            if parallel {
                w.line("SINTER_ALIGNED \(t) sums[\(blocks)];")
                w.line("SINTER_PARALLEL_FOR")
            } else {
                w.line("\(t) run = 0;")
            }
            try w.loop("bk", blocks) { w in
                w.line("const long bl = bk * \(block), bn = \(count) - bl < \(block) ? \(count) - bl : \(block);")
                w.line("SINTER_ALIGNED \(t) buf[\(block)];")
                try fill(&w, "bl + ", "bn")
                w.line(parallel ? "sums[bk] = sinter_sum_block_\(s)(buf, bn, 1);" : "run += sinter_sum_block_\(s)(buf, bn, 1);")
            }
            if parallel {
                w.line("\(t) run = 0;")
                w.line("for (long bk = 0; bk < \(blocks); bk++) run += sums[bk];")
            }
            w.line("acc += run;")
        }
    }

    /// Loops over the kept groups; the body gets the result index and the input offset.
    private static func emitKeptLoops(_ kept: [Group], _ w: inout CWriter, parallel: Bool,
                                      body: (inout CWriter, String, String) throws -> Void) throws {
        let count = kept.reduce(1) { $0 * $1.size }
        if kept.isEmpty {
            try body(&w, "0", "0")
            return
        }
        let strides = rowMajorStrides(kept.map(\.size))
        try w.loop("o", count, parallel: parallel) { w in
            var rem = "o"
            var terms: [String] = []
            for (g, group) in kept.enumerated() {
                terms.append(g == kept.count - 1 ? "(\(rem)) * \(group.stride)" : "((\(rem)) / \(strides[g])) * \(group.stride)")
                rem = "(\(rem)) % \(strides[g])"
            }
            w.line("const long xo = \(terms.joined(separator: " + "));")
            try body(&w, "o", "xo")
        }
    }

    /// Nested loops over groups; the body gets the input offset expression.
    private static func emitLoops(_ groups: [Group], prefix: String, _ w: inout CWriter,
                                  body: (inout CWriter, String) throws -> Void) throws {
        func level(_ g: Int, _ w: inout CWriter) throws {
            if g == groups.count {
                let terms = groups.indices.map { "\(prefix)\($0) * \(groups[$0].stride)" }
                try body(&w, terms.isEmpty ? "0" : terms.joined(separator: " + "))
                return
            }
            try w.loop("\(prefix)\(g)", groups[g].size) { w in try level(g + 1, &w) }
        }
        try level(0, &w)
    }
}

/// `reduction:axis-runs`: the two loop nests above, chosen by whether the innermost run of the
/// input is reduced or kept.
struct AxisRunsReductionStrategy: KernelStrategy {
    var kind: KernelKind { .reduction }
    var name: String { "axis-runs" }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try ReductionKernels.emit(ctx, &w) }

    /// The row blocks' partial sums, when the kernel is split by blocks of rows.
    func scratchBytes(_ kernel: StrategyInput) -> Int {
        guard case let .reduction(g) = kernel.geometry,
              let blocks = ReductionKernels.rowBlocks(g, op: kernel.node.op, splits: kernel.splits) else { return 0 }
        return blocks * g.groups[1].size * kernel.node.type.dtype.byteSize
    }
}

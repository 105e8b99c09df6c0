import SinterIR

/// matmul(a, b) {transpose_a, transpose_b}, rank 2 or batched rank 3. Two strategies:
/// - `gemm` (floats): through `sinter_gemm_*` (Codegen/sinter_gemm.h). The gemm reads B rows
///   contiguously, so a transposed b is first copied into scratch as [batch, K, N]; a transposed
///   a is just read with other strides. Parallel over (batch, blocks of 48 rows of the result);
///   each result element is one reduction over k in ascending order. A fused epilogue
///   (`ctx.hooks.tile`) runs on each block of rows right after its GEMM.
/// - `loops` (any dtype; the only one for integers): plain loops, one scalar multiply-add per
///   term, k ascending; a fused epilogue runs on each batch's result.
enum MatmulKernels {
    struct Dims { var batch: Int; var m: Int; var n: Int; var k: Int; var ta: Bool; var tb: Bool }

    static func dims(_ graph: Graph, _ node: Node) -> Dims {
        let a = graph[node.operands[0]].type.shape, b = graph[node.operands[1]].type.shape
        let ta = node.attrs.bool("transpose_a", default: false), tb = node.attrs.bool("transpose_b", default: false)
        let r = a.count
        let batch = r == 3 ? a[0] : 1
        let (m, k) = ta ? (a[r - 1], a[r - 2]) : (a[r - 2], a[r - 1])
        let n = tb ? b[r - 2] : b[r - 1]
        return Dims(batch: batch, m: m, n: n, k: k, ta: ta, tb: tb)
    }

    /// The plan's dims of the matmul `ctx` writes.
    static func planned(_ ctx: KernelContext) throws -> Dims {
        guard case let .matmul(d) = ctx.geometry else { throw ctx.missingGeometry("matmul") }
        return d
    }

    static func emitGemm(_ ctx: KernelContext, _ w: inout CWriter) throws {
        let d = try planned(ctx)
        let t = ctx.t
        guard ctx.dtype.isFloat else {
            throw SinterError.verify(message: "C emitter: the gemm matmul needs f32 or f64, not \(ctx.dtype) (%\(ctx.id) @ \(ctx.node.location))")
        }
        var bName = ctx.x(1)
        if d.tb {
            // b is [batch, N, K]: copy to [batch, K, N].
            w.line("\(t) *bt = (\(t) *)scratch;")
            w.loop("bb", d.batch) { w in
                w.loop("nn", d.n) { w in
                    w.loop("kk", d.k) { w in
                        w.line("bt[(bb * \(d.k) + kk) * \(d.n) + nn] = \(bName)[(bb * \(d.n) + nn) * \(d.k) + kk];")
                    }
                }
            }
            bName = "bt"
        }
        // A element (m, k) of batch bb: a[bb*M*K + m*rsa + k*a0].
        let (rsa, a0) = d.ta ? (1, d.m) : (d.k, 1)
        let block = 48
        let mBlocks = (d.m + block - 1) / block
        let tasks = d.batch * mBlocks
        let parallel = tasks > 1 && workCount(d.batch, d.m, d.n, d.k) >= parallelWorkThreshold
        w.line("const sinter_kdims kd = {1, 1, \(d.k), 0, 0, \(a0), 0, 0, \(d.n)};")
        try w.loop("task", tasks, parallel: parallel) { w in
            w.line("const long bb = task / \(mBlocks), m0 = (task % \(mBlocks)) * \(block);")
            w.line("const long mn = \(d.m) - m0 < \(block) ? \(d.m) - m0 : \(block);")
            w.line("sinter_gemm_\(ctx.dtype.helperSuffix)(mn, \(d.n), &kd, \(ctx.x(0)) + bb * \(d.m * d.k) + m0 * \(rsa), \(rsa), "
                   + "\(bName) + bb * \(d.k * d.n), \(ctx.out) + bb * \(d.m * d.n) + m0 * \(d.n), \(d.n), 0);")
            let rows: [Tile.Dim] = [.range(start: "m0", count: "mn"), .range(start: "0", count: "\(d.n)")]
            try ctx.hooks.tile?(&w, Tile(dims: (ctx.type.rank == 3 ? [.at("bb")] : []) + rows))
        }
    }

    /// Plain loops (integers, or a forced `loops` strategy).
    static func emitLoops(_ ctx: KernelContext, _ w: inout CWriter) throws {
        let d = try planned(ctx)
        let aIndex = d.ta ? "kk * \(d.m) + mm" : "mm * \(d.k) + kk"
        let bIndex = d.tb ? "nn * \(d.k) + kk" : "kk * \(d.n) + nn"
        try w.loop("bb", d.batch) { w in
            w.loop("mm", d.m) { w in
                w.loop("nn", d.n) { w in
                    w.line("\(ctx.t) acc = 0;")
                    w.loop("kk", d.k) { w in
                        w.line("acc += \(ctx.x(0))[bb * \(d.m * d.k) + \(aIndex)] * \(ctx.x(1))[bb * \(d.k * d.n) + \(bIndex)];")
                    }
                    w.line("\(ctx.out)[(bb * \(d.m) + mm) * \(d.n) + nn] = acc;")
                }
            }
            let rows: [Tile.Dim] = [.range(start: "0", count: "\(d.m)"), .range(start: "0", count: "\(d.n)")]
            try ctx.hooks.tile?(&w, Tile(dims: (ctx.type.rank == 3 ? [.at("bb")] : []) + rows))
        }
    }
}

/// The matmul cost rule counts multiply-add instructions: `loops` issues one per term of the
/// sum, `gemm` a vector of them (`costLanes` wide; the packing of a transposed b is not counted).
private func matmulTerms(_ kernel: StrategyInput) -> Int? {
    guard case let .matmul(d) = kernel.geometry else { return nil }
    return workCount(d.batch, d.m, d.n, d.k)
}

/// `matmul:gemm`: register-tiled `sinter_gemm_*` (floats only).
struct GemmMatmulStrategy: KernelStrategy {
    var kind: KernelKind { .matmul }
    var name: String { "gemm" }

    func assess(_ kernel: StrategyInput) -> StrategyFit {
        let dtype = kernel.node.type.dtype
        guard dtype.isFloat, let terms = matmulTerms(kernel) else { return .cannot("needs f32 or f64, not \(dtype)") }
        let lanes = costLanes(dtype)
        return .fits(cost: Double(terms) / Double(lanes), basis: "multiply-adds in \(lanes)-lane \(dtype) vectors")
    }

    func scratchBytes(_ kernel: StrategyInput) -> Int {
        guard case let .matmul(d) = kernel.geometry, d.tb, kernel.node.type.dtype.isFloat else { return 0 }
        return d.batch * d.k * d.n * kernel.node.type.dtype.byteSize
    }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try MatmulKernels.emitGemm(ctx, &w) }
}

/// `matmul:loops`: plain scalar loops (any dtype).
struct LoopsMatmulStrategy: KernelStrategy {
    var kind: KernelKind { .matmul }
    var name: String { "loops" }

    func assess(_ kernel: StrategyInput) -> StrategyFit {
        .fits(cost: Double(matmulTerms(kernel) ?? 0), basis: "one scalar multiply-add per term")
    }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try MatmulKernels.emitLoops(ctx, &w) }
}

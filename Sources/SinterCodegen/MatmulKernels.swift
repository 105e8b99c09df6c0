import SinterIR

/// matmul(a, b) {transpose_a, transpose_b}, rank 2 or batched rank 3, through `sinter_gemm_*`
/// (Codegen/sinter_gemm.h). The gemm reads B rows contiguously, so a transposed b is first
/// copied into scratch as [batch, K, N]; a transposed a is just read with other strides.
/// Parallel over (batch, blocks of 48 rows of the result); each result element is one reduction
/// over k in ascending order. A fused epilogue (`ctx.hooks.tile`) runs on each block of rows
/// right after its GEMM.
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

    static func scratchBytes(_ graph: Graph, _ node: Node) -> Int {
        let d = dims(graph, node)
        guard d.tb, node.type.dtype.isFloat else { return 0 }
        return d.batch * d.k * d.n * node.type.dtype.byteSize
    }

    static func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        guard case let .matmul(d) = ctx.geometry else { throw ctx.missingGeometry("matmul") }
        let t = ctx.t
        guard ctx.dtype.isFloat else {
            emitNaive(ctx, d, &w)
            return
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

    /// Integer matmul: plain loops.
    private static func emitNaive(_ ctx: KernelContext, _ d: Dims, _ w: inout CWriter) {
        let aIndex = d.ta ? "kk * \(d.m) + mm" : "mm * \(d.k) + kk"
        let bIndex = d.tb ? "nn * \(d.k) + kk" : "kk * \(d.n) + nn"
        w.loop("bb", d.batch) { w in
            w.loop("mm", d.m) { w in
                w.loop("nn", d.n) { w in
                    w.line("\(ctx.t) acc = 0;")
                    w.loop("kk", d.k) { w in
                        w.line("acc += \(ctx.x(0))[bb * \(d.m * d.k) + \(aIndex)] * \(ctx.x(1))[bb * \(d.k * d.n) + \(bIndex)];")
                    }
                    w.line("\(ctx.out)[(bb * \(d.m) + mm) * \(d.n) + nn] = acc;")
                }
            }
        }
    }
}

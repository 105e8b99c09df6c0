import SinterIR

/// conv2d (NHWC x HWIO), conv2d_input_grad (also Keras Conv2DTranspose) and conv2d_filter_grad.
/// All three are written as calls of `sinter_gemm_*` (Codegen/sinter_gemm.h) whose reduction
/// index spans a whole window, so every output element is produced by one register accumulation
/// and written once; padding is handled by clipping the window (no padded copy, no im2col).
///
/// Window clipping is static along W (the columns of a row are split at compile time into groups
/// with the same valid taps) and computed at run time along H (per output row).
///
/// A fused epilogue (`ctx.hooks.tile`, Docs/fusion.md) runs on each output row (conv2d,
/// conv2d_input_grad) or block of rows (conv2d_filter_grad) right after its GEMMs, while it is
/// still in cache.
enum ConvKernels {
    struct Geometry {
        var n, h, w, ci: Int        // x
        var kh, kw, co: Int         // w (HWIO: kh, kw, ci, co)
        var oh, ow: Int             // y
        var sh, sw, top, left: Int
        /// Multiply-adds of the full (unclipped) convolution.
        var work: Int { workCount(n, oh, ow, co, kh, kw, ci) }
    }

    static func geometry(x: [Int], w: [Int], y: [Int], attrs: Attributes) throws -> Geometry {
        let strides = try attrs.ints("strides"), pads = try attrs.ints("pads")
        guard x.count == 4, w.count == 4, y.count == 4, strides.count == 2, pads.count == 4 else {
            throw SinterError.verify(message: "convolution needs NHWC/HWIO operands, 2 strides and 4 pads")
        }
        return Geometry(n: x[0], h: x[1], w: x[2], ci: x[3], kh: w[0], kw: w[1], co: w[3], oh: y[1], ow: y[2],
                        sh: strides[0], sw: strides[1], top: pads[0], left: pads[2])
    }

    /// Multiply-adds over the clipped windows (taps on padding skipped): what gemm-window computes
    /// for the convolution and for each of its gradients, the unit of the convolutions' cost rule.
    static func clippedWork(_ g: Geometry) -> Int {
        func taps(_ outputs: Int, _ kernel: Int, _ stride: Int, _ pad: Int, _ size: Int) -> Int {
            (0..<outputs).reduce(0) { sum, i in sum + (0..<kernel).filter { (0..<size).contains(i * stride + $0 - pad) }.count }
        }
        return workCount(g.n, taps(g.oh, g.kh, g.sh, g.top, g.h), taps(g.ow, g.kw, g.sw, g.left, g.w), g.ci, g.co)
    }

    /// The geometry of a conv2d, conv2d_input_grad or conv2d_filter_grad node: x, w and y are
    /// the forward convolution's input, kernel and output, whichever of them the node computes.
    static func geometry(_ graph: Graph, _ node: Node) throws -> Geometry {
        let a = graph[node.operands[0]].type.shape, b = graph[node.operands[1]].type.shape, r = node.type.shape
        switch node.op {
        case .conv2dInputGrad: return try geometry(x: r, w: b, y: a, attrs: node.attrs)
        case .conv2dFilterGrad: return try geometry(x: a, w: r, y: b, attrs: node.attrs)
        default: return try geometry(x: a, w: b, y: r, attrs: node.attrs)
        }
    }

    /// The plan's geometry of the kernel `ctx` writes.
    private static func planned(_ ctx: KernelContext) throws -> Geometry {
        guard case let .conv(g) = ctx.geometry else { throw ctx.missingGeometry("convolution") }
        return g
    }

    static func requireFloat(_ ctx: KernelContext) throws {
        guard ctx.dtype.isFloat else {
            throw SinterError.verify(message: "C emitter: \(ctx.node.op.rawValue) on \(ctx.dtype) is not supported (%\(ctx.id) @ \(ctx.node.location))")
        }
    }

    // MARK: conv2d

    /// y[b,i,j,o] = sum_{a,c,ch} x[b, i*sh+a-top, j*sw+c-left, ch] * w[a,c,ch,o]. Per output row, a
    /// gemm per column group: M = columns (A rows sw*ci apart), K = (taps a) x (taps c, channels)
    /// (contiguous in both x and w), N = co (contiguous in w and y).
    static func emitForward(_ ctx: KernelContext, _ w: inout CWriter) throws {
        try requireFloat(ctx)
        let g = try planned(ctx)
        // Column groups: consecutive j with the same valid tap range [cLo, cHi).
        var groups: [(j0: Int, j1: Int, cLo: Int, cHi: Int)] = []
        for j in 0..<g.ow {
            let cLo = max(0, g.left - j * g.sw)
            let cHi = max(cLo, min(g.kw, g.w + g.left - j * g.sw))
            if let last = groups.last, last.cLo == cLo, last.cHi == cHi, last.j1 == j {
                groups[groups.count - 1].j1 = j + 1
            } else {
                groups.append((j, j + 1, cLo, cHi))
            }
        }
        let s = ctx.dtype.helperSuffix
        let rows = g.n * g.oh
        try w.loop("r", rows, parallel: g.work >= parallelWorkThreshold) { w in
            w.line("const long b = r / \(g.oh), i = r % \(g.oh);")
            w.line("long a_lo = sinter_maxl(0, \(g.top) - i * \(g.sh)), a_hi = sinter_minl(\(g.kh), \(g.h + g.top) - i * \(g.sh));")
            w.line("if (a_hi < a_lo) a_hi = a_lo;")
            w.line("const long xr = a_hi > a_lo ? i * \(g.sh) + a_lo - \(g.top) : 0;")
            w.line("const \(ctx.t) *xrow = \(ctx.x(0)) + b * \(g.h * g.w * g.ci) + xr * \(g.w * g.ci);")
            w.line("const \(ctx.t) *wrow = \(ctx.x(1)) + a_lo * \(g.kw * g.ci * g.co);")
            w.line("\(ctx.t) *yrow = \(ctx.out) + r * \(g.ow * g.co);")
            for group in groups {
                let nc = group.cHi - group.cLo
                let col = nc > 0 ? group.j0 * g.sw + group.cLo - g.left : 0
                w.block("") { w in
                    w.line("/* columns \(group.j0)..<\(group.j1): taps c in \(group.cLo)..<\(group.cHi) */")
                    w.line("const sinter_kdims kd = {a_hi - a_lo, 1, \(nc * g.ci), \(g.w * g.ci), 0, 1, \(g.kw * g.ci * g.co), 0, \(g.co)};")
                    w.line("sinter_gemm_\(s)(\(group.j1 - group.j0), \(g.co), &kd, xrow + \(col * g.ci), \(g.sw * g.ci), "
                           + "wrow + \(group.cLo * g.ci * g.co), yrow + \(group.j0 * g.co), \(g.co), 0);")
                }
            }
            try ctx.hooks.tile?(&w, Tile(dims: [.at("b"), .at("i"), .range(start: "0", count: "\(g.ow)"), .range(start: "0", count: "\(g.co)")]))
        }
    }

    // MARK: conv2d_input_grad

    /// dx[b,h,wc,ch] = sum over (i, j, o) with h = i*sh+a-top, wc = j*sw+c-left of
    /// dy[b,i,j,o] * w[a,c,ch,o], computed as a gather so each dx row is owned by one thread.
    /// w is first transposed to [kh,kw,co,ci] in scratch so gemm B rows (over ch) are contiguous.
    /// Columns wc, wc+sw, ... with the same valid taps form one gemm (M rows sw*ci apart in dx);
    /// K = (i: a steps by -sh) x (j: c steps by -sw) x (o).
    static func emitInputGrad(_ ctx: KernelContext, _ w: inout CWriter) throws {
        try requireFloat(ctx)
        let g = try planned(ctx)
        let t = ctx.t
        w.line("\(t) *wt = (\(t) *)scratch; /* w as [kh, kw, co, ci] */")
        w.loop("tap", g.kh * g.kw) { w in
            w.loop("ch", g.ci) { w in
                w.loop("o", g.co) { w in
                    w.line("wt[(tap * \(g.co) + o) * \(g.ci) + ch] = \(ctx.x(1))[(tap * \(g.ci) + ch) * \(g.co) + o];")
                }
            }
        }
        // Column groups.
        struct Group { var wc0: Int; var count: Int; var jLo: Int; var nj: Int; var cStart: Int }
        var groups: [Group] = []
        for residue in 0..<min(g.sw, g.w) {
            var wc = residue
            while wc < g.w {
                let jLo = max(0, ceilDiv(wc + g.left - g.kw + 1, g.sw))
                let jHi = min(g.ow - 1, floorDiv(wc + g.left, g.sw))
                let nj = max(0, jHi - jLo + 1)
                let cStart = nj > 0 ? wc + g.left - jLo * g.sw : 0
                if let last = groups.last, last.wc0 % g.sw == residue, last.nj == nj, last.cStart == cStart,
                   last.wc0 + last.count * g.sw == wc, nj == 0 || last.jLo + last.count == jLo {
                    groups[groups.count - 1].count += 1
                } else {
                    groups.append(Group(wc0: wc, count: 1, jLo: nj > 0 ? jLo : 0, nj: nj, cStart: cStart))
                }
                wc += g.sw
            }
        }
        let s = ctx.dtype.helperSuffix
        try w.loop("r", g.n * g.h, parallel: g.work >= parallelWorkThreshold) { w in
            w.line("const long b = r / \(g.h), h = r % \(g.h);")
            w.line("long i_lo = sinter_maxl(0, sinter_ceildiv(h + \(g.top - g.kh + 1), \(g.sh)));")
            w.line("const long i_hi = sinter_minl(\(g.oh - 1), sinter_floordiv(h + \(g.top), \(g.sh)));")
            w.line("long ni = i_hi - i_lo + 1;")
            w.line("if (ni <= 0) { ni = 0; i_lo = 0; }")
            w.line("const long a_start = ni > 0 ? h + \(g.top) - i_lo * \(g.sh) : 0;")
            w.line("const \(t) *dyrow = \(ctx.x(0)) + (b * \(g.oh) + i_lo) * \(g.ow * g.co);")
            w.line("const \(t) *wtrow = wt + a_start * \(g.kw * g.co * g.ci);")
            w.line("\(t) *dxrow = \(ctx.out) + r * \(g.w * g.ci);")
            for group in groups {
                w.block("") { w in
                    w.line("/* columns \(group.wc0), \(group.wc0)+\(g.sw)k, k < \(group.count): \(group.nj) tap(s) c from \(group.cStart) down by \(g.sw) */")
                    w.line("const sinter_kdims kd = {ni, \(group.nj), \(g.co), \(g.ow * g.co), \(g.co), 1, "
                           + "\(-g.sh * g.kw * g.co * g.ci), \(-g.sw * g.co * g.ci), \(g.ci)};")
                    w.line("sinter_gemm_\(s)(\(group.count), \(g.ci), &kd, dyrow + \(group.jLo * g.co), \(g.co), "
                           + "wtrow + \(group.cStart * g.co * g.ci), dxrow + \(group.wc0 * g.ci), \(g.sw * g.ci), 0);")
                }
            }
            try ctx.hooks.tile?(&w, Tile(dims: [.at("b"), .at("h"), .range(start: "0", count: "\(g.w)"), .range(start: "0", count: "\(g.ci)")]))
        }
    }

    // MARK: conv2d_filter_grad

    /// dw[a,c,ch,o] = sum_{b,i,j} x[b,i*sh+a-top,j*sw+c-left,ch] * dy[b,i,j,o]: per tap one gemm
    /// with M = ch (A rows adjacent channels of x), N = o, K = (b) x (valid i) x (valid j).
    /// Parallel over taps x blocks of input channels.
    static func emitFilterGrad(_ ctx: KernelContext, _ w: inout CWriter) throws {
        try requireFloat(ctx)
        let g = try planned(ctx)
        let taps = g.kh * g.kw
        var blocks = max(1, min(ceilDiv(g.ci, 6), ceilDiv(16, taps)))
        var mb = ceilDiv(g.ci, blocks)
        mb = ceilDiv(mb, 6) * 6
        blocks = ceilDiv(g.ci, mb)
        let s = ctx.dtype.helperSuffix
        if g.work >= parallelWorkThreshold && taps * blocks > 1 { w.line("SINTER_PARALLEL_FOR_DYNAMIC") }
        try w.loop("task", taps * blocks) { w in
            w.line("const long tap = task / \(blocks), m0 = (task % \(blocks)) * \(mb);")
            w.line("const long a = tap / \(g.kw), c = tap % \(g.kw);")
            w.line("const long mn = \(g.ci) - m0 < \(mb) ? \(g.ci) - m0 : \(mb);")
            w.line("long i_lo = sinter_maxl(0, sinter_ceildiv(\(g.top) - a, \(g.sh)));")
            w.line("const long i_hi = sinter_minl(\(g.oh - 1), sinter_floordiv(\(g.h - 1 + g.top) - a, \(g.sh)));")
            w.line("long j_lo = sinter_maxl(0, sinter_ceildiv(\(g.left) - c, \(g.sw)));")
            w.line("const long j_hi = sinter_minl(\(g.ow - 1), sinter_floordiv(\(g.w - 1 + g.left) - c, \(g.sw)));")
            w.line("long ni = i_hi - i_lo + 1, nj = j_hi - j_lo + 1;")
            w.line("if (ni <= 0 || nj <= 0) { ni = 0; nj = 0; i_lo = 0; j_lo = 0; }")
            w.line("const long xoff = ni > 0 ? ((i_lo * \(g.sh) + a - \(g.top)) * \(g.w) + (j_lo * \(g.sw) + c - \(g.left))) * \(g.ci) : 0;")
            w.line("const sinter_kdims kd = {\(g.n), ni, nj, \(g.h * g.w * g.ci), \(g.sh * g.w * g.ci), \(g.sw * g.ci), "
                   + "\(g.oh * g.ow * g.co), \(g.ow * g.co), \(g.co)};")
            w.line("sinter_gemm_\(s)(mn, \(g.co), &kd, \(ctx.x(0)) + xoff + m0, 1, \(ctx.x(1)) + (i_lo * \(g.ow) + j_lo) * \(g.co), "
                   + "\(ctx.out) + tap * \(g.ci * g.co) + m0 * \(g.co), \(g.co), 0);")
            try ctx.hooks.tile?(&w, Tile(dims: [.at("a"), .at("c"), .range(start: "m0", count: "mn"), .range(start: "0", count: "\(g.co)")]))
        }
    }
}

/// `conv2d:gemm-window` (and the two gradients): the window-as-reduction GEMM calls above.
struct GemmWindowConvStrategy: KernelStrategy {
    let kind: KernelKind
    var name: String { "gemm-window" }

    init(_ kind: KernelKind) { self.kind = kind }

    func assess(_ kernel: StrategyInput) -> StrategyFit {
        guard case let .conv(g) = kernel.geometry else { return .cannot("has no convolution geometry") }
        return .fits(cost: Double(ConvKernels.clippedWork(g)), basis: "multiply-adds of the clipped windows")
    }

    /// conv2d_input_grad copies w, transposed, into scratch.
    func scratchBytes(_ kernel: StrategyInput) -> Int {
        kind == .conv2dInputGrad ? kernel.graph[kernel.node.operands[1]].type.byteSize : 0
    }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        switch kind {
        case .conv2dInputGrad: try ConvKernels.emitInputGrad(ctx, &w)
        case .conv2dFilterGrad: try ConvKernels.emitFilterGrad(ctx, &w)
        default: try ConvKernels.emitForward(ctx, &w)
        }
    }
}

import SinterIR

/// Winograd F(m x m, 3 x 3) convolution, m = 2 or 4 (Codegen/sinter_winograd.h has the transforms
/// and their points; Docs/strategies.md "Winograd" the error bound and when it is chosen), for
/// conv2d and conv2d_input_grad with a 3x3 kernel and stride 1. The data gradient of such a
/// convolution is itself one: a correlation of dy with the kernel flipped in both taps and with
/// its channel axes swapped, padded by 2 - pad.
///
/// A kernel call: the filter transform U (once, parallel over input channels), then the output
/// tiles, (image, tile row, tile column) flattened, cut into blocks of `block` tiles; per block the
/// input transform V, one GEMM over channels per transform position (sinter_wino_gemm_*), and
/// the output transform straight into the result, where the fused epilogue (`ctx.hooks.tile`)
/// runs on each finished tile. The blocks are shared between `slots` scratch slots, consecutive
/// runs of blocks each, and the slots between threads, one at a time; every value's summation
/// order is fixed by the shapes, so neither the blocks nor the thread count change a bit of it.
enum WinogradKernels {
    /// The kernel as a stride-1 3x3 correlation: out[b, i, j, o] = sum over taps (a, c) and input
    /// channels kk of input[b, i - top + a, j - left + c, kk] * filter(a, c, kk, o), input zero
    /// outside its h x w; filter(a, c, kk, o) = w[base + a*sa + c*sc + kk*sk + o*so].
    struct Problem: Equatable {
        var n, h, w, k: Int
        var oh, ow, out: Int
        var top, left: Int
        var base, sa, sc, sk, so: Int
    }

    static func problem(_ kind: KernelKind, _ g: ConvKernels.Geometry) -> Problem {
        let sa = g.kw * g.ci * g.co, sc = g.ci * g.co
        if kind == .conv2dInputGrad {
            // dx[b, h, wc, ch] = sum dy[b, h + top - a, wc + left - c, o] w[a, c, ch, o]; with a = 2 - a':
            // dy read at h - (2 - top) + a', filter(a', c', o, ch) = w[2 - a', 2 - c', ch, o].
            return Problem(n: g.n, h: g.oh, w: g.ow, k: g.co, oh: g.h, ow: g.w, out: g.ci, top: g.kh - 1 - g.top, left: g.kw - 1 - g.left,
                           base: (g.kh - 1) * sa + (g.kw - 1) * sc, sa: -sa, sc: -sc, sk: 1, so: g.co)
        }
        return Problem(n: g.n, h: g.h, w: g.w, k: g.ci, oh: g.oh, ow: g.ow, out: g.co, top: g.top, left: g.left,
                       base: 0, sa: sa, sc: sc, sk: g.co, so: 1)
    }

    /// How a call is cut up, from the shapes alone.
    struct Tiling {
        /// Output tile m x m, input tile n x n.
        let m: Int
        var n: Int { m + 2 }
        var positions: Int { n * n }
        let tilesH, tilesW, tiles: Int
        /// Tiles per block and blocks.
        let block, blocks: Int
        /// Scratch slots (at most `maxSlots`), each holding one block's V and M.
        let slots: Int
        /// Elements of U and of one slot, each a whole number of 64-byte lines.
        let filterElements, slotElements: Int

        /// Scratch slots a call may use; threads beyond them idle. The plan has no thread count:
        /// four slots keep two cores balanced (two slots each).
        static let maxSlots = 4
        /// Bytes of one slot's V and M that a block aims for: enough tiles that U, streamed once per
        /// block, is reused by a few dozen GEMM rows, with four slots still a few MB.
        static let slotBudget = 1 << 20
        /// At most this many tiles per block (the GEMM's rows).
        static let maxBlock = 64

        init(_ p: Problem, m: Int, elementBytes: Int) {
            self.m = m
            let n = m + 2
            tilesH = ceilDiv(p.oh, m)
            tilesW = ceilDiv(p.ow, m)
            tiles = p.n * tilesH * tilesW
            let perTile = n * n * (p.k + p.out) * elementBytes
            let budget = max(1, Tiling.slotBudget / max(1, perTile))
            block = max(1, min(Tiling.maxBlock, budget, ceilDiv(tiles, Tiling.maxSlots)))
            blocks = ceilDiv(tiles, block)
            slots = min(Tiling.maxSlots, blocks)
            let line = 64 / elementBytes
            filterElements = ceilDiv(n * n * p.k * p.out, line) * line
            slotElements = ceilDiv(n * n * block * (p.k + p.out), line) * line
        }

        var scratchElements: Int { filterElements + slots * slotElements }
    }

    /// Operations per channel of one tile (or one filter) of the transforms in
    /// Codegen/sinter_winograd.h: its vector arithmetic ("Operation counts" there) plus one per
    /// element loaded and stored.
    struct TransformCounts {
        let input, output, filter: Int
        init(m: Int) {
            let n = m + 2
            let (bt, g, at) = m == 2 ? (4, 5, 4) : (21, 13, 13)
            input = 2 * n * bt + 2 * n * n
            output = (n + m) * at + n * n + m * m
            filter = (3 + n) * g + 9 + n * n
        }
    }

    /// The cost in the unit of the convolutions' rule (Docs/strategies.md): lane operations, a
    /// multiply-add one; the transforms' vectors of channels counted whole (`lanes` wide).
    static func cost(_ p: Problem, _ t: Tiling, lanes: Int) -> Double {
        let counts = TransformCounts(m: t.m)
        func padded(_ c: Int) -> Double { Double(ceilDiv(c, lanes) * lanes) }
        let tiles = Double(t.tiles), positions = Double(t.positions)
        let gemm = tiles * positions * Double(p.k) * Double(p.out)
        let input = tiles * padded(p.k) * Double(counts.input)
        let output = tiles * padded(p.out) * Double(counts.output)
        let filter = Double(p.k) * padded(p.out) * Double(counts.filter)
        return gemm + input + output + filter
    }

    static func emit(_ ctx: KernelContext, m: Int, _ w: inout CWriter) throws {
        try ConvKernels.requireFloat(ctx)
        guard case let .conv(g) = ctx.geometry else { throw ctx.missingGeometry("convolution") }
        let p = problem(ctx.planned.kind, g)
        let t = Tiling(p, m: m, elementBytes: ctx.dtype.byteSize)
        let s = ctx.dtype.helperSuffix, ty = ctx.t
        let parallel = ctx.splits
        w.line("/* winograd F(\(m)x\(m),3x3): \(t.tiles) tiles of \(m)x\(m) (\(t.tilesH)x\(t.tilesW) per image) in \(t.blocks) block(s) "
               + "of \(t.block), \(t.slots) scratch slot(s) */")
        w.line("\(ty) *U = (\(ty) *)scratch; /* [\(t.positions)][\(p.k)][\(p.out)] */")
        w.loop("kk", p.k, parallel: parallel) { w in
            w.line("sinter_wino\(m)_filter_\(s)(\(ctx.x(1)) + \(p.base) + kk * \(p.sk), \(p.sa), \(p.sc), \(p.so), \(p.out), "
                   + "U + kk * \(p.out), \(p.k * p.out));")
        }
        let perImage = t.tilesH * t.tilesW
        func tileIndex(_ w: inout CWriter) {
            w.line("const long tile = t0 + t, b = tile / \(perImage), i0 = (tile % \(perImage)) / \(t.tilesW) * \(m), "
                   + "j0 = tile % \(t.tilesW) * \(m);")
        }
        // Slots are handed out one at a time: a thread that the machine delays takes fewer.
        if parallel && t.slots > 1 { w.line("SINTER_PARALLEL_FOR_DYNAMIC") }
        try w.loop("slot", t.slots) { w in
            w.line("\(ty) *V = U + \(t.filterElements) + slot * \(t.slotElements); /* [\(t.positions)][\(t.block)][\(p.k)] */")
            w.line("\(ty) *Mt = V + \(t.positions * t.block * p.k); /* [\(t.positions)][\(t.block)][\(p.out)] */")
            try w.block("for (long blk = slot * \(t.blocks) / \(t.slots); blk < (slot + 1) * \(t.blocks) / \(t.slots); blk++)") { w in
                w.line("const long t0 = blk * \(t.block), nt = \(t.tiles) - t0 < \(t.block) ? \(t.tiles) - t0 : \(t.block);")
                w.block("for (long t = 0; t < nt; t++)") { w in
                    tileIndex(&w)
                    w.line("sinter_wino\(m)_input_\(s)(\(ctx.x(0)) + b * \(p.h * p.w * p.k), \(p.h), \(p.w), \(p.k), "
                           + "i0 - \(p.top), j0 - \(p.left), V + t * \(p.k), \(t.block * p.k));")
                }
                w.line("sinter_wino_gemm_\(s)(\(t.positions), nt, \(p.k), \(p.out), V, \(t.block * p.k), U, Mt, \(t.block * p.out));")
                try w.block("for (long t = 0; t < nt; t++)") { w in
                    tileIndex(&w)
                    w.line("const long mi = \(p.oh) - i0 < \(m) ? \(p.oh) - i0 : \(m), mj = \(p.ow) - j0 < \(m) ? \(p.ow) - j0 : \(m);")
                    w.line("sinter_wino\(m)_output_\(s)(Mt + t * \(p.out), \(t.block * p.out), \(p.out), "
                           + "\(ctx.out) + ((b * \(p.oh) + i0) * \(p.ow) + j0) * \(p.out), \(p.ow * p.out), mi, mj);")
                    try ctx.hooks.tile?(&w, Tile(dims: [.at("b"), .range(start: "i0", count: "mi"), .range(start: "j0", count: "mj"),
                                                       .range(start: "0", count: "\(p.out)")]))
                }
            }
        }
    }
}

/// `conv2d:winograd-f2` / `winograd-f4` (and the same for conv2d_input_grad): F(2x2,3x3) or
/// F(4x4,3x3), for 3x3 stride-1 kernels in f32 or f64. The cost rule picks F(4x4,3x3) only for the
/// data gradient (Docs/strategies.md, "Winograd": why forward convolutions keep F(2x2,3x3)).
struct WinogradConvStrategy: KernelStrategy {
    let kind: KernelKind
    /// The output tile's side: 2 or 4.
    let m: Int
    var name: String { "winograd-f\(m)" }

    init(_ kind: KernelKind, m: Int) {
        self.kind = kind
        self.m = m
    }

    private func problem(_ kernel: StrategyInput) -> (WinogradKernels.Problem, WinogradKernels.Tiling)? {
        guard case let .conv(g) = kernel.geometry else { return nil }
        let p = WinogradKernels.problem(kind, g)
        return (p, WinogradKernels.Tiling(p, m: m, elementBytes: kernel.node.type.dtype.byteSize))
    }

    func assess(_ kernel: StrategyInput) -> StrategyFit {
        let dtype = kernel.node.type.dtype
        guard dtype.isFloat else { return .cannot("needs f32 or f64, not \(dtype)") }
        guard case let .conv(g) = kernel.geometry, let (p, t) = problem(kernel) else { return .cannot("has no convolution geometry") }
        guard g.kh == 3, g.kw == 3, g.sh == 1, g.sw == 1 else {
            return .cannot("needs a 3x3 kernel with stride 1, not \(g.kh)x\(g.kw) stride \(g.sh)x\(g.sw)")
        }
        guard t.tiles > 0, p.k > 0, p.out > 0 else { return .cannot("has nothing to compute") }
        if kind == .conv2d && m == 4 {
            return .onlyWhenForced("rounding from outside each output's window flips ReLU and max-pool ties")
        }
        let cost = WinogradKernels.cost(p, t, lanes: costLanes(dtype))
        let direct = Double(ConvKernels.clippedWork(g))
        return .fits(cost: cost, basis: "F(\(m)x\(m),3x3): " + String(format: "%.1f", direct / cost)
                     + "x fewer operations than the direct sum, transforms counted")
    }

    func scratchBytes(_ kernel: StrategyInput) -> Int {
        guard let (_, t) = problem(kernel) else { return 0 }
        return t.scratchElements * kernel.node.type.dtype.byteSize
    }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try WinogradKernels.emit(ctx, m: m, &w) }
}

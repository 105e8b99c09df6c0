import SinterIR

/// max_pool, max_pool_grad, avg_pool, avg_pool_grad {window, strides, pads} on NHWC.
///
/// Windows are clipped to the input (padding is never read): max pooling then ignores padding
/// (as if it were -inf) and average pooling divides by the number of in-bounds cells (TF SAME).
/// The innermost loop runs over channels (contiguous). Forward ops are parallel over output rows;
/// gradients scatter, so they are parallel over images only (each image's dx is written by one
/// thread, in a fixed order).
enum PoolKernels {
    static func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        let op = ctx.node.op
        let xShape = op == .avgPoolGrad || op == .maxPoolGrad ? ctx.type.shape : ctx.operandType(0).shape
        let yShape = op == .avgPoolGrad ? ctx.operandType(0).shape : (op == .maxPoolGrad ? ctx.operandType(1).shape : ctx.type.shape)
        let window = try ctx.attrs.ints("window"), strides = try ctx.attrs.ints("strides"), pads = try ctx.attrs.ints("pads")
        guard xShape.count == 4, window.count == 2, strides.count == 2, pads.count == 4 else {
            throw SinterError.verify(message: "\(op.rawValue) needs NHWC input, 2 window sizes, 2 strides and 4 pads")
        }
        let (n, h, wd, c) = (xShape[0], xShape[1], xShape[2], xShape[3])
        let (oh, ow) = (yShape[1], yShape[2])
        let (kh, kw, sh, sw, top, left) = (window[0], window[1], strides[0], strides[1], pads[0], pads[2])
        let t = ctx.t
        let zero = cLiteral(0, ctx.dtype)

        func windowRows(_ w: inout CWriter) {
            w.line("const long a_lo = sinter_maxl(0, \(top) - i * \(sh)), a_hi = sinter_minl(\(kh), \(h + top) - i * \(sh));")
        }
        func windowCols(_ w: inout CWriter) {
            w.line("const long c_lo = sinter_maxl(0, \(left) - j * \(sw)), c_hi = sinter_minl(\(kw), \(wd + left) - j * \(sw));")
        }
        /// Offset within an image of cell (a, c) of window (i, j), channel 0.
        func cell(_ a: String, _ cc: String) -> String {
            "((i * \(sh) + \(a) - \(top)) * \(wd) + j * \(sw) + \(cc) - \(left)) * \(c)"
        }

        switch op {
        case .maxPool, .avgPool:
            let isMax = op == .maxPool
            // A NaN in the window wins (TF max_pool of NaN is NaN); integers have none.
            let orNaN = ctx.dtype.isFloat ? " || xp[ch] != xp[ch]" : ""
            let lowest = ctx.dtype == .i32 ? "INT32_MIN" : (ctx.dtype == .f32 ? "(-INFINITY)" : "(-(double)INFINITY)")
                        w.loop("r", n * oh, parallel: true) { w in
                w.line("const long b = r / \(oh), i = r % \(oh);")
                w.line("const \(t) *xb = x0 + b * \(h * wd * c);")
                windowRows(&w)
                w.loop("j", ow) { w in
                    windowCols(&w)
                    w.line("\(t) *yp = y + (r * \(ow) + j) * \(c);")
                    w.block("if (a_hi <= a_lo || c_hi <= c_lo)") { w in
                        w.line("for (long ch = 0; ch < \(c); ch++) yp[ch] = \(isMax ? lowest : zero);")
                        w.line("continue;")
                    }
                    if isMax {
                        w.line("const \(t) *first = xb + \(cell("a_lo", "c_lo"));")
                        w.line("for (long ch = 0; ch < \(c); ch++) yp[ch] = first[ch];")
                    } else {
                        w.line("for (long ch = 0; ch < \(c); ch++) yp[ch] = \(zero);")
                    }
                    w.block("for (long a = a_lo; a < a_hi; a++)") { w in
                        w.block("for (long cc = c_lo; cc < c_hi; cc++)") { w in
                            if isMax { w.line("if (a == a_lo && cc == c_lo) continue;") }
                            w.line("const \(t) *xp = xb + \(cell("a", "cc"));")
                            w.line(isMax ? "for (long ch = 0; ch < \(c); ch++) yp[ch] = xp[ch] > yp[ch]\(orNaN) ? xp[ch] : yp[ch];"
                                         : "for (long ch = 0; ch < \(c); ch++) yp[ch] += xp[ch];")
                        }
                    }
                    if !isMax {
                        w.line("const \(t) count = (\(t))((a_hi - a_lo) * (c_hi - c_lo));")
                        w.line("for (long ch = 0; ch < \(c); ch++) yp[ch] = yp[ch] / count;")
                    }
                }
            }
        case .maxPoolGrad:
            // x0 = x, x1 = dy. Each dy goes to the first maximum of its window (row-major scan).
            w.loop("b", n, parallel: true) { w in
                w.line("const \(t) *xb = x0 + b * \(h * wd * c);")
                w.line("\(t) *dx = y + b * \(h * wd * c);")
                w.line("memset(dx, 0, sizeof(\(t)) * \(h * wd * c));")
                w.loop("i", oh) { w in
                    windowRows(&w)
                    w.loop("j", ow) { w in
                        windowCols(&w)
                        w.line("if (a_hi <= a_lo || c_hi <= c_lo) continue;")
                        w.line("const \(t) *g = x1 + ((b * \(oh) + i) * \(ow) + j) * \(c);")
                        w.loop("ch", c) { w in
                            w.line("long best = \(cell("a_lo", "c_lo")) + ch;")
                            w.line("\(t) top = xb[best];")
                            w.block("for (long a = a_lo; a < a_hi; a++)") { w in
                                w.block("for (long cc = c_lo; cc < c_hi; cc++)") { w in
                                    w.line("const long o = \(cell("a", "cc")) + ch;")
                                    // The gradient goes where the forward value came from: the first NaN, if any.
                                    w.line(ctx.dtype.isFloat ? "if (xb[o] > top || (xb[o] != xb[o] && top == top)) { top = xb[o]; best = o; }"
                                                             : "if (xb[o] > top) { top = xb[o]; best = o; }")
                                }
                            }
                            w.line("dx[best] += g[ch];")
                        }
                    }
                }
            }
        case .avgPoolGrad:
            // x0 = dy. dx[cell] += dy / (number of in-bounds cells of the window).
            w.loop("b", n, parallel: true) { w in
                w.line("\(t) *dx = y + b * \(h * wd * c);")
                w.line("memset(dx, 0, sizeof(\(t)) * \(h * wd * c));")
                w.loop("i", oh) { w in
                    windowRows(&w)
                    w.loop("j", ow) { w in
                        windowCols(&w)
                        w.line("if (a_hi <= a_lo || c_hi <= c_lo) continue;")
                        w.line("const \(t) *g = x0 + ((b * \(oh) + i) * \(ow) + j) * \(c);")
                        w.line("const \(t) count = (\(t))((a_hi - a_lo) * (c_hi - c_lo));")
                        w.block("for (long a = a_lo; a < a_hi; a++)") { w in
                            w.block("for (long cc = c_lo; cc < c_hi; cc++)") { w in
                                w.line("\(t) *dp = dx + \(cell("a", "cc"));")
                                w.line("for (long ch = 0; ch < \(c); ch++) dp[ch] += g[ch] / count;")
                            }
                        }
                    }
                }
            }
        default:
            throw SinterError.verify(message: "not a pooling op: \(op.rawValue)")
        }
    }
}

/// `pool:clipped-window`: the window loops above, windows clipped to the input.
struct ClippedWindowPoolStrategy: KernelStrategy {
    var kind: KernelKind { .pool }
    var name: String { "clipped-window" }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try PoolKernels.emit(ctx, &w) }
}

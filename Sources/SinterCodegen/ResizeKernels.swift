import SinterIR

/// resize_bilinear and resize_bilinear_grad: TF's ResizeBilinear / ResizeBilinearGrad with
/// half_pixel_centers=True, align_corners=False (what tf.image.resize 'bilinear' runs, no
/// antialias). Per output coordinate o along an axis of input size n and output size m:
///
///     scale = n / m;  in = (o + 0.5) * scale - 0.5
///     lower = max(floor(in), 0);  upper = min(ceil(in), n - 1);  lerp = in - floor(in)
///
/// computed here at compile time in the node's precision (Float for f32, exactly as TF's float
/// code does) and emitted as tables. The value is
///     top = tl + (tr - tl) * xl;  bottom = bl + (br - bl) * xl;  out = top + (bottom - top) * yl
/// and the gradient scatters dy * (1-yl)(1-xl), dy * (1-yl) xl, dy * yl (1-xl), dy * yl xl to the
/// four corners, in that order (parallel over images).
enum ResizeKernels {
    struct Axis { var lower: [Int]; var upper: [Int]; var lerp: [Double] }

    static func axis(in n: Int, out m: Int, dtype: DType) -> Axis {
        var result = Axis(lower: [], upper: [], lerp: [])
        for o in 0..<m {
            if dtype == .f32 {
                let scale = Float(n) / Float(m)
                let v = (Float(o) + 0.5) * scale - 0.5
                let f = v.rounded(.down)
                result.lower.append(max(Int(f), 0))
                result.upper.append(min(Int(v.rounded(.up)), n - 1))
                result.lerp.append(Double(v - f))
            } else {
                let scale = Double(n) / Double(m)
                let v = (Double(o) + 0.5) * scale - 0.5
                let f = v.rounded(.down)
                result.lower.append(max(Int(f), 0))
                result.upper.append(min(Int(v.rounded(.up)), n - 1))
                result.lerp.append(v - f)
            }
        }
        return result
    }

    static func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        let isGrad = ctx.node.op == .resizeBilinearGrad
        let small = isGrad ? ctx.type.shape : ctx.operandType(0).shape   // the input image x
        let large = isGrad ? ctx.operandType(0).shape : ctx.type.shape   // the resized image y
        guard small.count == 4, large.count == 4, ctx.dtype.isFloat else {
            throw SinterError.verify(message: "\(ctx.node.op.rawValue) needs float NHWC tensors")
        }
        let (n, h, wd, c) = (small[0], small[1], small[2], small[3])
        let (oh, ow) = (large[1], large[2])
        let t = ctx.t
        let ys = axis(in: h, out: oh, dtype: ctx.dtype), xs = axis(in: wd, out: ow, dtype: ctx.dtype)
        func table(_ name: String, _ values: [Int]) {
            w.line("static const long \(name)[\(values.count)] = {\(values.map(String.init).joined(separator: ", "))};")
        }
        func lerpTable(_ name: String, _ values: [Double]) {
            w.line("static const \(t) \(name)[\(values.count)] = {\(values.map { cLiteral($0, ctx.dtype) }.joined(separator: ", "))};")
        }
        table("y_lo", ys.lower); table("y_hi", ys.upper); lerpTable("y_lerp", ys.lerp)
        table("x_lo", xs.lower); table("x_hi", xs.upper); lerpTable("x_lerp", xs.lerp)
        let one = cLiteral(1, ctx.dtype)
        if !isGrad {
            w.loop("r", n * oh, parallel: true) { w in
                w.line("const long b = r / \(oh), i = r % \(oh);")
                w.line("const \(t) *top = x0 + (b * \(h) + y_lo[i]) * \(wd * c);")
                w.line("const \(t) *bot = x0 + (b * \(h) + y_hi[i]) * \(wd * c);")
                w.line("const \(t) yl = y_lerp[i];")
                w.loop("j", ow) { w in
                    w.line("const long l = x_lo[j] * \(c), u = x_hi[j] * \(c);")
                    w.line("const \(t) xl = x_lerp[j];")
                    w.line("\(t) *yp = y + (r * \(ow) + j) * \(c);")
                    w.loop("ch", c) { w in
                        w.line("const \(t) tv = top[l + ch] + (top[u + ch] - top[l + ch]) * xl;")
                        w.line("const \(t) bv = bot[l + ch] + (bot[u + ch] - bot[l + ch]) * xl;")
                        w.line("yp[ch] = tv + (bv - tv) * yl;")
                    }
                }
            }
        } else {
            w.loop("b", n, parallel: true) { w in
                w.line("\(t) *dx = y + b * \(h * wd * c);")
                w.line("memset(dx, 0, sizeof(\(t)) * \(h * wd * c));")
                w.loop("i", oh) { w in
                    w.line("\(t) *top = dx + y_lo[i] * \(wd * c);")
                    w.line("\(t) *bot = dx + y_hi[i] * \(wd * c);")
                    w.line("const \(t) yl = y_lerp[i], iyl = \(one) - yl;")
                    w.loop("j", ow) { w in
                        w.line("const long l = x_lo[j] * \(c), u = x_hi[j] * \(c);")
                        w.line("const \(t) xl = x_lerp[j], ixl = \(one) - xl;")
                        w.line("const \(t) *g = x0 + ((b * \(oh) + i) * \(ow) + j) * \(c);")
                        w.loop("ch", c) { w in
                            w.line("top[l + ch] += g[ch] * iyl * ixl;")
                            w.line("top[u + ch] += g[ch] * iyl * xl;")
                            w.line("bot[l + ch] += g[ch] * yl * ixl;")
                            w.line("bot[u + ch] += g[ch] * yl * xl;")
                        }
                    }
                }
            }
        }
    }
}

/// `resize:index-tables`: bilinear resizing through static index and weight tables.
struct IndexTableResizeStrategy: KernelStrategy {
    var kind: KernelKind { .resize }
    var name: String { "index-tables" }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try ResizeKernels.emit(ctx, &w) }
}

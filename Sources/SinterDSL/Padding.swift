import SinterIR

/// Keras padding modes, turned into explicit per-side pads with TensorFlow's rule.
public enum Padding: String, Sendable {
    case same, valid

    /// (before, after) pads of a window op on an axis of size n. SAME: out = ceil(n/s),
    /// total = max((out-1)*s + k - n, 0), before = total/2, the extra one at the bottom/right.
    /// A stride below 1 gives no pads; shape inference then refuses the stride itself. Sizes
    /// too big for Int saturate, and shape inference refuses the result.
    public func pads(size n: Int, kernel k: Int, stride s: Int) -> (Int, Int) {
        switch self {
        case .valid: return (0, 0)
        case .same:
            guard s >= 1, n >= 0, k >= 0 else { return (0, 0) }
            let out = n / s + (n % s == 0 ? 0 : 1)
            let reach = SizeLimits.saturatingSum(SizeLimits.saturatingProduct(out - 1, s), k)
            let total = Swift.max(reach - n, 0)
            return (total / 2, total - total / 2)
        }
    }

    /// Output size of Conv2DTranspose along an axis (no output_padding): n*s for SAME,
    /// n*s + max(k - s, 0) for VALID.
    public func transposedSize(size n: Int, kernel k: Int, stride s: Int) -> Int {
        switch self {
        case .same: return SizeLimits.saturatingProduct(n, s)
        case .valid: return SizeLimits.saturatingSum(SizeLimits.saturatingProduct(n, s), Swift.max(k &- s, 0))
        }
    }
}

/// The `pads` attribute [top, bottom, left, right] of a window op on an NHWC input of spatial size h x w.
func windowPads(_ padding: Padding, h: Int, w: Int, kernel: (Int, Int), strides: (Int, Int)) -> [Int] {
    let (top, bottom) = padding.pads(size: h, kernel: kernel.0, stride: strides.0)
    let (left, right) = padding.pads(size: w, kernel: kernel.1, stride: strides.1)
    return [top, bottom, left, right]
}

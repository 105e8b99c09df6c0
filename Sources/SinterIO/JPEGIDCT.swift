/// The inverse DCT of JPEG blocks: libjpeg's accurate integer IDCT (jidctint.c, `jpeg_idct_islow`,
/// the Loeffler-Ligtenberg-Moschytz algorithm with 13-bit constants and 2 extra bits between
/// the passes), reproduced operation for operation, so a block decodes to exactly the samples
/// `djpeg -dct int` gives (libjpeg-turbo's SIMD versions of it are bit-exact with the C).
enum JPEGIDCT {
    /// `zigzag[k]` is the natural (row-major) index of the k-th coefficient in zigzag order.
    static let zigzag: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ]

    private static let constBits = 13, pass1Bits = 2
    // FIX(x) = round(x * 2^13), as jidctint.c spells them out.
    private static let fix0_298631336 = 2446, fix0_390180644 = 3196, fix0_541196100 = 4433
    private static let fix0_765366865 = 6270, fix0_899976223 = 7373, fix1_175875602 = 9633
    private static let fix1_501321110 = 12299, fix1_847759065 = 15137, fix1_961570560 = 16069
    private static let fix2_053119869 = 16819, fix2_562915447 = 20995, fix3_072711026 = 25172

    /// Rounding right shift (DESCALE).
    @inline(__always) private static func descale(_ x: Int, _ n: Int) -> Int { (x + (1 << (n - 1))) >> n }

    /// The 1-D transform of eight values (the even and odd parts of jidctint.c), scaled up by
    /// 2^13 relative to its inputs; `out` receives the unscaled sums in output order.
    @inline(__always)
    private static func transform(_ v0: Int, _ v1: Int, _ v2: Int, _ v3: Int, _ v4: Int, _ v5: Int, _ v6: Int, _ v7: Int,
                                  shift: Int, into out: (Int, Int) -> Void) {
        // Even part.
        var z1 = (v2 + v6) * fix0_541196100
        let even2 = z1 - v6 * fix1_847759065
        let even3 = z1 + v2 * fix0_765366865
        let even0 = (v0 + v4) << constBits
        let even1 = (v0 - v4) << constBits
        let tmp10 = even0 + even3, tmp13 = even0 - even3
        let tmp11 = even1 + even2, tmp12 = even1 - even2
        // Odd part.
        var tmp0 = v7, tmp1 = v5, tmp2 = v3, tmp3 = v1
        z1 = tmp0 + tmp3
        var z2 = tmp1 + tmp2, z3 = tmp0 + tmp2, z4 = tmp1 + tmp3
        let z5 = (z3 + z4) * fix1_175875602
        tmp0 *= fix0_298631336
        tmp1 *= fix2_053119869
        tmp2 *= fix3_072711026
        tmp3 *= fix1_501321110
        z1 *= -fix0_899976223
        z2 *= -fix2_562915447
        z3 = z3 * -fix1_961570560 + z5
        z4 = z4 * -fix0_390180644 + z5
        tmp0 += z1 + z3
        tmp1 += z2 + z4
        tmp2 += z2 + z3
        tmp3 += z1 + z4
        out(0, descale(tmp10 + tmp3, shift)); out(7, descale(tmp10 - tmp3, shift))
        out(1, descale(tmp11 + tmp2, shift)); out(6, descale(tmp11 - tmp2, shift))
        out(2, descale(tmp12 + tmp1, shift)); out(5, descale(tmp12 - tmp1, shift))
        out(3, descale(tmp13 + tmp0, shift)); out(4, descale(tmp13 - tmp0, shift))
    }

    /// Dequantizes one block (64 coefficients at `coefficients[start...]`, natural order) and
    /// writes its 8x8 samples (level-shifted by 128, clamped to 0...255) to
    /// `plane[origin + y * stride + x]`; `ws` is 64 Ints of scratch. Coefficients are 16-bit and
    /// quantizers at most 65535, so every intermediate fits in Int (at most about 2^53).
    static func inverse(_ coefficients: UnsafeBufferPointer<Int16>, start: Int, quant: UnsafeBufferPointer<UInt16>,
                        into plane: UnsafeMutableBufferPointer<UInt8>, origin: Int, stride: Int, workspace ws: UnsafeMutableBufferPointer<Int>) {
        // Pass 1: columns, from the coefficients, scaled up by 2^pass1Bits.
        for column in 0..<8 {
            @inline(__always) func value(_ row: Int) -> Int {
                Int(coefficients[start + row * 8 + column]) * Int(quant[row * 8 + column])
            }
            if coefficients[start + 8 + column] == 0 && coefficients[start + 16 + column] == 0
                && coefficients[start + 24 + column] == 0 && coefficients[start + 32 + column] == 0
                && coefficients[start + 40 + column] == 0 && coefficients[start + 48 + column] == 0
                && coefficients[start + 56 + column] == 0 {
                // Only the DC term: the column is flat (jidctint.c's shortcut, same result).
                let dc = value(0) << pass1Bits
                for row in 0..<8 { ws[row * 8 + column] = dc }
                continue
            }
            transform(value(0), value(1), value(2), value(3), value(4), value(5), value(6), value(7),
                      shift: constBits - pass1Bits) { row, v in ws[row * 8 + column] = v }
        }
        // Pass 2: rows, to samples; the final shift also removes the DCT's factor of 8.
        for row in 0..<8 {
            let base = row * 8, out = origin + row * stride
            transform(ws[base], ws[base + 1], ws[base + 2], ws[base + 3], ws[base + 4], ws[base + 5], ws[base + 6], ws[base + 7],
                      shift: constBits + pass1Bits + 3) { x, v in plane[out + x] = clampSample(v + 128) }
        }
    }

    /// libjpeg's range limit for sane values. (For wild values from corrupt data libjpeg wraps
    /// modulo 1024 before limiting; Sinter clamps, which differs only on such data.)
    @inline(__always) static func clampSample(_ v: Int) -> UInt8 { UInt8(v < 0 ? 0 : v > 255 ? 255 : v) }
}

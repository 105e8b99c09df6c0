/// From the decoded component planes to output pixels: chroma upsampling and colour conversion,
/// both as libjpeg-turbo does them, so the pixels are bit-exact with djpeg's.
///
/// Fancy upsampling (libjpeg's default, `djpeg -dct int`; jdsample.c) filters 2:1 chroma with a
/// triangle: each output sample is 3/4 of the nearer input sample and 1/4 of the next, in each
/// halved direction, with the edge samples repeated, for h2v1 (4:2:2), h1v2 (4:4:0) and h2v2
/// (4:2:0) whenever the component is more than 2 samples wide (libjpeg's condition; h1v2 has
/// none). Every other ratio (4:1:1, ...), and every ratio without fancy upsampling
/// (`djpeg -nosmooth`), is box replication: output pixel (x, y) takes the sample at
/// (x * h / hMax, y * v / vMax). libjpeg refuses ratios that are not whole numbers; the box
/// mapping handles them here. Box differs from fancy by up to about 30 levels at colour edges
/// (mean under 1 on photos), which is why the default is fancy, as in libjpeg.
enum JPEGColor {
    enum Space { case gray, yCbCr, rgb }

    // libjpeg's YCbCr -> RGB tables (jdcolor.c build_ycc_rgb_table), 16-bit fixed point:
    // R = Y + 1.402 Cr, G = Y - 0.34414 Cb - 0.71414 Cr, B = Y + 1.772 Cb, Cb and Cr centred on 128.
    private static func fix(_ x: Double) -> Int { Int(x * 65536 + 0.5) }
    private static let half = 1 << 15
    private static let crToR = (0..<256).map { (fix(1.40200) * ($0 - 128) + half) >> 16 }
    private static let cbToB = (0..<256).map { (fix(1.77200) * ($0 - 128) + half) >> 16 }
    private static let crToG = (0..<256).map { -fix(0.71414) * ($0 - 128) }
    private static let cbToG = (0..<256).map { -fix(0.34414) * ($0 - 128) + half }

    /// The `width` x `height` output (1 channel for gray, else 3) from one plane per component,
    /// each `blocksWide * 8` samples wide; one output row at a time, so nothing image-sized is
    /// held besides the planes and the output.
    static func pixels(planes: [[UInt8]], layouts: [JPEGComponentLayout], width: Int, height: Int, space: Space, fancy: Bool) -> [UInt8] {
        let hMax = layouts.map(\.h).max()!, vMax = layouts.map(\.v).max()!
        let channels = space == .gray ? 1 : 3
        var out = [UInt8](repeating: 0, count: width * height * channels)
        let upsamplers = layouts.indices.map { Upsampler(plane: planes[$0], layout: layouts[$0], hMax: hMax, vMax: vMax, width: width, fancy: fancy) }
        var rows = [[UInt8]](repeating: [UInt8](repeating: 0, count: width), count: layouts.count)
        for y in 0..<height {
            for c in layouts.indices { upsamplers[c].row(y, into: &rows[c]) }
            let base = y * width * channels
            switch space {
            case .gray:
                for x in 0..<width { out[base + x] = rows[0][x] }
            case .rgb:
                for x in 0..<width {
                    for c in 0..<3 { out[base + 3 * x + c] = rows[c][x] }
                }
            case .yCbCr:
                for x in 0..<width {
                    let luma = Int(rows[0][x]), cb = Int(rows[1][x]), cr = Int(rows[2][x])
                    out[base + 3 * x] = JPEGIDCT.clampSample(luma + crToR[cr])
                    out[base + 3 * x + 1] = JPEGIDCT.clampSample(luma + ((cbToG[cb] + crToG[cr]) >> 16))
                    out[base + 3 * x + 2] = JPEGIDCT.clampSample(luma + cbToB[cb])
                }
            }
        }
        return out
    }

    /// One component's samples at output resolution, a row at a time.
    struct Upsampler {
        enum Method { case box, h2v1, h1v2, h2v2 }
        let plane: [UInt8]
        let layout: JPEGComponentLayout
        let hMax: Int, vMax: Int
        let stride: Int
        let method: Method
        /// The sample column of every output column (box), or of every output column pair's left.
        let columns: [Int]

        init(plane: [UInt8], layout: JPEGComponentLayout, hMax: Int, vMax: Int, width: Int, fancy: Bool) {
            self.plane = plane
            self.layout = layout
            self.hMax = hMax
            self.vMax = vMax
            stride = layout.blocksWide * 8
            let halfWide = 2 * layout.h == hMax, halfHigh = 2 * layout.v == vMax
            let wideEnough = layout.sampleWidth > 2
            if fancy && halfWide && layout.v == vMax && wideEnough {
                method = .h2v1
            } else if fancy && layout.h == hMax && halfHigh {
                method = .h1v2
            } else if fancy && halfWide && halfHigh && wideEnough {
                method = .h2v2
            } else {
                method = .box
            }
            columns = (0..<width).map { $0 * layout.h / hMax }
        }

        /// The sample at (x, y) of the plane, with the edges repeated beyond the component's size.
        @inline(__always) private func sample(_ x: Int, _ y: Int) -> Int {
            Int(plane[min(max(y, 0), layout.sampleHeight - 1) * stride + min(max(x, 0), layout.sampleWidth - 1)])
        }

        func row(_ y: Int, into out: inout [UInt8]) {
            switch method {
            case .box:
                let start = (y * layout.v / vMax) * stride
                for x in out.indices { out[x] = plane[start + columns[x]] }
            case .h2v1:
                // 3/4 nearer + 1/4 further, rounding biases 1 (left output) and 2 (right output).
                for x in out.indices {
                    let i = x >> 1, near = 3 * sample(i, y)
                    out[x] = UInt8(x & 1 == 0 ? (near + sample(i - 1, y) + 1) >> 2 : (near + sample(i + 1, y) + 2) >> 2)
                }
            case .h1v2:
                let j = y >> 1, other = y & 1 == 0 ? j - 1 : j + 1, bias = y & 1 == 0 ? 1 : 2
                for x in out.indices { out[x] = UInt8((3 * sample(x, j) + sample(x, other) + bias) >> 2) }
            case .h2v2:
                // Column sums of 3/4 nearer row + 1/4 further row, then the same across columns.
                let j = y >> 1, other = y & 1 == 0 ? j - 1 : j + 1
                @inline(__always) func columnSum(_ i: Int) -> Int { 3 * sample(i, j) + sample(i, other) }
                for x in out.indices {
                    let i = x >> 1, near = 3 * columnSum(i)
                    out[x] = UInt8(x & 1 == 0 ? (near + columnSum(i - 1) + 8) >> 4 : (near + columnSum(i + 1) + 7) >> 4)
                }
            }
        }
    }

    /// The colour space of a frame of `count` components, decided as libjpeg decides it
    /// (jdapimin.c default_decompress_parms): a JFIF header means YCbCr; else an Adobe APP14
    /// transform of 0 means RGB and any other YCbCr; else component ids 'R', 'G', 'B' mean
    /// RGB and anything else YCbCr.
    static func space(count: Int, jfif: Bool, adobeTransform: Int?, ids: [Int]) -> Space {
        if count == 1 { return .gray }
        if jfif { return .yCbCr }
        if let adobeTransform { return adobeTransform == 0 ? .rgb : .yCbCr }
        return ids == [82, 71, 66] ? .rgb : .yCbCr
    }
}

import SinterIR

/// Writes a batch of NHWC float images as one PNG grid, for looking at what a model produces.
public enum ImageGrid {
    /// Largest grid (bytes of pixels) `write` builds; a bigger request is refused before allocating.
    public static let maxPixelBytes = 1 << 30

    /// `images` holds `count` images of `height` x `width` x `channels` (1 or 3), row-major, with
    /// values in `range` (mapped to 0...255 and clamped). The grid has `columns` images per row
    /// and a 2-pixel gap. Values outside `range` and +-Inf are clamped; NaN is drawn as 0 (black),
    /// so the pictures of a diverged training run can still be written and looked at. Sizes that
    /// do not add up are thrown as errors naming the file.
    public static func write(path: String, images: [Float], count: Int, height: Int, width: Int, channels: Int,
                             columns: Int, range: ClosedRange<Float> = 0...1) throws {
        func fail(_ message: String) -> SinterError { .file(path: path, message: message) }
        guard channels == 1 || channels == 3 else { throw fail("cannot draw images with \(channels) channels (only 1 = gray or 3 = RGB)") }
        guard count > 0, height > 0, width > 0, columns > 0 else {
            throw fail("cannot draw \(count) image(s) of \(height)x\(width) in \(columns) column(s): every size must be positive")
        }
        let span = range.upperBound - range.lowerBound
        guard span.isFinite, span > 0 else {
            throw fail("cannot map the value range \(range.lowerBound)...\(range.upperBound) to pixels (it must be finite and not empty)")
        }
        let gap = 2
        let rows = (count + columns - 1) / columns
        // Every product below is checked: the sizes come from the caller's tensors.
        func times(_ a: Int, _ b: Int) -> Int? {
            let (value, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? nil : value
        }
        guard let perImage = times(height, width).flatMap({ times($0, channels) }), let needed = times(perImage, count),
              let gridWidth = times(columns, width + gap).map({ $0 + gap }),
              let gridHeight = times(rows, height + gap).map({ $0 + gap }),
              let pixelBytes = times(gridWidth, gridHeight).flatMap({ times($0, channels) }), pixelBytes <= maxPixelBytes else {
            throw fail("a grid of \(count) image(s) of \(height)x\(width)x\(channels) in \(columns) column(s) is too large "
                + "(limit \(maxPixelBytes) bytes of pixels)")
        }
        guard images.count >= needed else {
            throw fail("\(count) image(s) of \(height)x\(width)x\(channels) need \(needed) values, given \(images.count)")
        }
        var pixels = [UInt8](repeating: 64, count: pixelBytes)
        let scale = 255 / span
        for image in 0..<count {
            let top = gap + (image / columns) * (height + gap), left = gap + (image % columns) * (width + gap)
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<channels {
                        let value = images[((image * height + y) * width + x) * channels + c]
                        pixels[((top + y) * gridWidth + left + x) * channels + c] = pixelByte((value - range.lowerBound) * scale)
                    }
                }
            }
        }
        try PNGImage.write(path: path, width: gridWidth, height: gridHeight, channels: channels, pixels: pixels)
    }

    /// 0...255 from a scaled value: clamped, NaN -> 0. (UInt8(Float.nan) would trap.)
    static func pixelByte(_ scaled: Float) -> UInt8 {
        guard scaled > 0 else { return 0 }  // also NaN
        guard scaled < 255 else { return 255 }
        return UInt8(scaled.rounded())
    }
}

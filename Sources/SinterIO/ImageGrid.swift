/// Writes a batch of NHWC float images as one PNG grid, for looking at what a model produces.
public enum ImageGrid {
    /// `images` holds `count` images of `height` x `width` x `channels` (1 or 3), row-major, with
    /// values in `range` (mapped to 0...255 and clamped). The grid has `columns` images per row
    /// and a 2-pixel gap.
    public static func write(path: String, images: [Float], count: Int, height: Int, width: Int, channels: Int,
                             columns: Int, range: ClosedRange<Float> = 0...1) throws {
        let rows = (count + columns - 1) / columns
        let gap = 2
        let gridWidth = columns * width + (columns + 1) * gap
        let gridHeight = rows * height + (rows + 1) * gap
        var pixels = [UInt8](repeating: 64, count: gridWidth * gridHeight * channels)
        let scale = 255 / (range.upperBound - range.lowerBound)
        for image in 0..<count {
            let top = gap + (image / columns) * (height + gap), left = gap + (image % columns) * (width + gap)
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<channels {
                        let value = images[((image * height + y) * width + x) * channels + c]
                        let byte = min(max((value - range.lowerBound) * scale, 0), 255)
                        pixels[((top + y) * gridWidth + left + x) * channels + c] = UInt8(byte.rounded())
                    }
                }
            }
        }
        try PNGImage.write(path: path, width: gridWidth, height: gridHeight, channels: channels, pixels: pixels)
    }
}

import CPNG
import Foundation
import SinterIR

/// PNG reading and writing through libpng's simplified API, which handles every PNG variant
/// (palette, 16-bit, gray+alpha, interlaced) and converts it to the requested 8-bit format.
/// Images are read through `RasterImage.read`, which picks the format.
public enum PNGImage {
    /// The eight bytes every PNG file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    /// Decodes PNG bytes already in memory as gray (if the file has no color) or RGB; `path`
    /// names them in errors. Every PNG variant is converted to 8 bits: 16-bit samples are scaled
    /// down, palette images expand to RGB (gray palettes to gray), and alpha is composited onto
    /// white, which is how transparent images usually look when viewed. The header's width and
    /// height are checked (product without overflow, within `maxPixelBytes`) before the pixel
    /// buffer is allocated.
    public static func decode(_ bytes: [UInt8], path: String, maxPixelBytes: Int = RasterImage.defaultMaxPixelBytes) throws -> RasterImage {
        guard bytes.starts(with: signature) else {
            throw SinterError.file(path: path, message: "cannot read PNG: not a PNG file (first bytes '\(SinterError.excerpt(bytes.prefix(8)))', expected the PNG signature)")
        }
        // libpng keeps reading from the memory given to begin_read until finish_read: both run
        // inside one withUnsafeBytes.
        return try bytes.withUnsafeBytes { raw in try decodeMemory(raw, path: path, maxPixelBytes: maxPixelBytes) }
    }

    private static func decodeMemory(_ raw: UnsafeRawBufferPointer, path: String, maxPixelBytes: Int) throws -> RasterImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
            let message = libpngMessage(&image)
            png_image_free(&image)
            throw SinterError.file(path: path, message: "cannot read PNG: \(message)")
        }
        let color = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        image.format = color ? formatRGB : formatGray
        let channels = color ? 3 : 1
        let width = Int(image.width), height = Int(image.height)
        let (area, overflow1) = width.multipliedReportingOverflow(by: height)
        let (size, overflow2) = area.multipliedReportingOverflow(by: channels)
        guard width > 0, height > 0, !overflow1, !overflow2, size <= maxPixelBytes else {
            png_image_free(&image)
            throw SinterError.file(path: path, message: "PNG image is \(width)x\(height)x\(channels); decoded that is \(overflow1 || overflow2 ? "more than Int.max" : String(size)) bytes, more than the limit of \(maxPixelBytes) bytes")
        }
        // With a NULL background libpng composites alpha onto the buffer's existing contents.
        var pixels = [UInt8](repeating: 255, count: size)
        let ok = pixels.withUnsafeMutableBytes { out in
            png_image_finish_read(&image, nil, out.baseAddress, 0, nil)
        }
        guard ok != 0 else {
            let message = libpngMessage(&image)
            png_image_free(&image)
            throw SinterError.file(path: path, message: "cannot decode PNG: \(message)")
        }
        return RasterImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Writes 8-bit gray (`channels` 1) or RGB (`channels` 3) pixels, row-major, as a PNG.
    public static func write(path: String, width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard channels == 1 || channels == 3 else {
            throw SinterError.file(path: path, message: "cannot write PNG with \(channels) channels (only 1 = gray or 3 = RGB)")
        }
        guard width > 0, height > 0, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw SinterError.file(path: path, message: "cannot write a \(width)x\(height) PNG (width and height must be positive)")
        }
        let (area, overflow1) = width.multipliedReportingOverflow(by: height)
        let (size, overflow2) = area.multipliedReportingOverflow(by: channels)
        guard !overflow1, !overflow2, pixels.count == size else {
            throw SinterError.file(path: path, message: "pixel count \(pixels.count) does not match \(width)x\(height)x\(channels)\(overflow1 || overflow2 ? "" : " = \(size)")")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = channels == 3 ? formatRGB : formatGray
        let ok = pixels.withUnsafeBytes { raw in
            png_image_write_to_file(&image, path, 0, raw.baseAddress, 0, nil)
        }
        guard ok != 0 else {
            let message = libpngMessage(&image)
            png_image_free(&image)
            throw SinterError.file(path: path, message: "cannot write PNG: \(message)")
        }
    }

    // PNG_FORMAT_RGB / PNG_FORMAT_GRAY are macros defined via other macros, which Swift does not
    // import; these are their values (8-bit sRGB, no alpha).
    private static let formatRGB = UInt32(PNG_FORMAT_FLAG_COLOR)
    private static let formatGray: UInt32 = 0

    /// libpng's error text, stored in the fixed-size `message` field of png_image.
    private static func libpngMessage(_ image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }
}

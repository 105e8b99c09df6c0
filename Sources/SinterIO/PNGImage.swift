import CPNG
import Foundation
import SinterIR

/// An 8-bit image, row-major, channels interleaved: gray (1 channel) or RGB (3 channels).
/// Read and written through libpng's simplified API, which handles every PNG variant
/// (palette, 16-bit, gray+alpha, interlaced) and converts it to the requested 8-bit format.
public struct PNGImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Reads a PNG as gray (if the file has no color) or RGB. Alpha is composited onto white,
    /// which is how transparent images usually look when viewed.
    public static func read(path: String) throws -> PNGImage {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SinterError.file(path: path, message: "no such file")
        }
        if isDirectory.boolValue { throw SinterError.file(path: path, message: "is a directory, not a PNG file") }

        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            let message = libpngMessage(&image)
            png_image_free(&image)
            throw SinterError.file(path: path, message: "cannot read PNG: \(message)")
        }
        let color = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        image.format = color ? formatRGB : formatGray
        let channels = color ? 3 : 1
        let width = Int(image.width), height = Int(image.height)
        // With a NULL background libpng composites alpha onto the buffer's existing contents.
        var pixels = [UInt8](repeating: 255, count: width * height * channels)
        let ok = pixels.withUnsafeMutableBytes { raw in
            png_image_finish_read(&image, nil, raw.baseAddress, 0, nil)
        }
        guard ok != 0 else {
            let message = libpngMessage(&image)
            png_image_free(&image)
            throw SinterError.file(path: path, message: "cannot decode PNG: \(message)")
        }
        return PNGImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Writes 8-bit gray (`channels` 1) or RGB (`channels` 3) pixels, row-major, as a PNG.
    public static func write(path: String, width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard channels == 1 || channels == 3 else {
            throw SinterError.file(path: path, message: "cannot write PNG with \(channels) channels (only 1 = gray or 3 = RGB)")
        }
        guard width > 0, height > 0, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw SinterError.file(path: path, message: "cannot write a \(width)x\(height) PNG (width and height must be positive)")
        }
        guard pixels.count == width * height * channels else {
            throw SinterError.file(path: path, message: "pixel count \(pixels.count) does not match \(width)x\(height)x\(channels) = \(width * height * channels)")
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

    /// Writes this image to `path`.
    public func write(path: String) throws {
        try PNGImage.write(path: path, width: width, height: height, channels: channels, pixels: pixels)
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

import SinterIR

/// An 8-bit image, row-major, channels interleaved: gray (1 channel) or RGB (3 channels). What
/// every image reader returns (PNG through libpng, JPEG through Sinter's own decoder), and what
/// `write` saves as PNG.
public struct RasterImage: Equatable, Sendable {
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

    /// The default cap on a decoded image (width x height x channels bytes): 1 GiB, about
    /// 18,000 x 18,000 RGB. Larger images are refused from their header, before decoding.
    public static let defaultMaxPixelBytes = 1 << 30

    /// What an image input is called in messages about the path itself.
    public static let expected = "a PNG or JPEG image"

    /// Reads a PNG or JPEG image, told apart by their first bytes (not by the file name): the
    /// one entry point for every image a user gives Sinter. See `PNGImage.decode` and
    /// `JPEGImage.decode` for how each format is converted to 8-bit gray or RGB.
    public static func read(path: String, maxPixelBytes: Int = defaultMaxPixelBytes) throws -> RasterImage {
        try decode(InputFile.read(path, expected: expected), path: path, maxPixelBytes: maxPixelBytes)
    }

    /// Decodes PNG or JPEG bytes already in memory; `path` names them in errors.
    public static func decode(_ bytes: [UInt8], path: String, maxPixelBytes: Int = defaultMaxPixelBytes) throws -> RasterImage {
        if bytes.starts(with: PNGImage.signature) { return try PNGImage.decode(bytes, path: path, maxPixelBytes: maxPixelBytes) }
        if bytes.starts(with: JPEGImage.signature) { return try JPEGImage.decode(bytes, path: path, maxPixelBytes: maxPixelBytes) }
        throw SinterError.file(path: path, message: "cannot read image: not a PNG or JPEG file (first bytes '\(SinterError.excerpt(bytes.prefix(8)))', expected the PNG signature or FF D8 FF)")
    }

    /// Writes this image to `path` as PNG.
    public func write(path: String) throws {
        try PNGImage.write(path: path, width: width, height: height, channels: channels, pixels: pixels)
    }
}

import CPNG
import CZlib
import Foundation
import Sinter
import SinterIO
import SinterIR
import XCTest

/// Issue 7 items 3 and 7: IDX and PNG data files with odd or hostile headers give a clear error
/// (naming the file and the size) or the documented conversion, never a trap.
final class DataFileTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-data-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    static func idxBytes(_ dims: [UInt32], data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { out += [UInt8(d >> 24), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return out + data
    }

    // MARK: - IDX

    func testFashionMNISTOfTheWrongImageSizeNamesFileAndShape() throws {
        let path = "\(directory!)/train-images-idx3-ubyte.gz"
        try Gzip.writeFile(path: path, bytes: Self.idxBytes([3, 14, 14], data: [UInt8](repeating: 9, count: 3 * 196)))
        assertFileError(try Datasets.fashionMNIST(train: true, directory: directory), path: path,
                        "holds 14x14 images (IDX shape [3,14,14]); the model takes 28x28")
    }

    func testZeroImagesAndEmptyImages() throws {
        let none = "\(directory!)/none.idx"
        try AtomicFile.write(Self.idxBytes([0, 28, 28], data: []), to: none)
        assertFileError(try ImageDataset.idx(path: none), path: none, "holds no images (IDX shape [0,28,28])")
        let flat = "\(directory!)/flat.idx"
        try AtomicFile.write(Self.idxBytes([5, 0, 28], data: []), to: flat)
        assertFileError(try ImageDataset.idx(path: flat), path: flat, "images of size 0x28 are empty")
        let ok = "\(directory!)/ok.idx"
        try AtomicFile.write(Self.idxBytes([2, 2, 2], data: [0, 255, 0, 255, 1, 2, 3, 4]), to: ok)
        assertFileError(try ImageDataset.idx(path: ok, limit: -3), path: ok, "the limit must be at least 1")
        XCTAssertEqual(try ImageDataset.idx(path: ok, limit: 1).count, 1)
    }

    func testOverflowingDimsAreRefusedBeforeAllocating() throws {
        let path = "\(directory!)/huge.idx"
        try AtomicFile.write(Self.idxBytes([0xffff_ffff, 0xffff_ffff, 0xffff_ffff], data: [1, 2, 3]), to: path)
        assertFileError(try IDXFile.read(path: path), path: path, "IDX shape [4294967295,4294967295,4294967295] has more elements than fit in memory")
        let big = "\(directory!)/big.idx"
        try AtomicFile.write(Self.idxBytes([60000, 28, 28], data: [1, 2, 3]), to: big)
        assertFileError(try IDXFile.read(path: big), path: big, "needs 47040000 bytes of data, file has 3")
        let rank = "\(directory!)/rank.idx"
        try AtomicFile.write([0, 0, 8, 200, 0, 0], to: rank)
        assertFileError(try IDXFile.read(path: rank), path: rank, "IDX header is truncated (rank 200 needs 804 header bytes")
    }

    func testTruncatedGzipIDX() throws {
        let path = "\(directory!)/cut.idx.gz"
        var state: UInt64 = 3
        let noise = (0..<50_000).map { _ -> UInt8 in state = state &* 6364136223846793005 &+ 1; return UInt8(truncatingIfNeeded: state >> 40) }
        let gz = try Gzip.compress(Self.idxBytes([50, 1000], data: noise))
        try AtomicFile.write(Array(gz.prefix(gz.count - 100)), to: path)
        assertFileError(try IDXFile.read(path: path), path: path, "truncated gzip data")
        try AtomicFile.write(Array(gz.prefix(30)), to: path)
        assertFileError(try IDXFile.read(path: path), path: path, "truncated gzip data")
    }

    func testGzipBombStopsAtTheLimit() throws {
        let path = "\(directory!)/bomb.gz"
        let bomb = try Gzip.compress([UInt8](repeating: 0, count: 8 << 20), level: 9)
        XCTAssertLessThan(bomb.count, 20_000)
        try AtomicFile.write(bomb, to: path)
        assertFileError(try Gzip.readFile(path: path, maxBytes: 1 << 20), path: path,
                        "gzip trailer declares 8388608 bytes of content, more than the limit of 1048576 bytes")
        // With a trailer that lies (says 1 byte), inflation still stops at the limit.
        var lying = bomb
        lying.replaceSubrange((lying.count - 4)..., with: [1, 0, 0, 0])
        try AtomicFile.write(lying, to: path)
        assertFileError(try Gzip.readFile(path: path, maxBytes: 1 << 20), path: path, "decompresses to more than the limit of 1048576 bytes")
    }

    // MARK: - PNG

    /// Writes a PNG through libpng's simplified API in `format` (16-bit when LINEAR is set).
    func writePNG(_ name: String, width: Int, height: Int, format: UInt32, buffer: [UInt8], colormap: [UInt8]? = nil) throws -> String {
        let path = "\(directory!)/\(name)"
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        if let colormap { image.colormap_entries = UInt32(colormap.count / 3) }
        let ok = buffer.withUnsafeBytes { raw in
            if let colormap {
                return colormap.withUnsafeBytes { png_image_write_to_file(&image, path, 0, raw.baseAddress, 0, $0.baseAddress) }
            }
            return png_image_write_to_file(&image, path, 0, raw.baseAddress, 0, nil)
        }
        XCTAssertNotEqual(ok, 0, "could not write test PNG \(name)")
        return path
    }

    func testPNGVariantsAreConverted() throws {
        // 16-bit RGB: scaled to 8 bits.
        let white16 = [UInt8](repeating: 0xff, count: 2 * 2 * 3 * 2)
        let deep = try RasterImage.read(path: writePNG("deep.png", width: 2, height: 2, format: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_LINEAR), buffer: white16))
        XCTAssertEqual(deep.channels, 3)
        XCTAssertEqual(deep.pixels, [UInt8](repeating: 255, count: 12))
        // Palette: expanded to RGB.
        let palette = try RasterImage.read(path: writePNG("palette.png", width: 2, height: 1, format: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_COLORMAP),
                                                      buffer: [0, 1], colormap: [255, 0, 0, 0, 0, 255]))
        XCTAssertEqual(palette.channels, 3)
        XCTAssertEqual(palette.pixels, [255, 0, 0, 0, 0, 255])
        // Gray + alpha: gray, alpha composited onto white.
        let ga = try RasterImage.read(path: writePNG("ga.png", width: 2, height: 1, format: UInt32(PNG_FORMAT_FLAG_ALPHA), buffer: [0, 255, 0, 0]))
        XCTAssertEqual(ga.channels, 1)
        XCTAssertEqual(ga.pixels, [0, 255])
        // RGBA: RGB.
        let rgba = try RasterImage.read(path: writePNG("rgba.png", width: 1, height: 1, format: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA), buffer: [10, 20, 30, 255]))
        XCTAssertEqual(rgba.pixels, [10, 20, 30])
    }

    /// A valid PNG header declaring width x height RGB, one tiny IDAT, IEND.
    static func pngHeaderOnly(width: UInt32, height: UInt32) -> [UInt8] {
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            let crc = typed.withUnsafeBytes { UInt32(crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, UInt32($0.count))) }
            func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
            return be(UInt32(body.count)) + typed + be(crc)
        }
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        return [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
            + chunk("IHDR", be(width) + be(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
            + chunk("IEND", [])
    }

    func testHugePNGIsRefusedFromItsHeader() throws {
        let path = "\(directory!)/huge.png"
        try AtomicFile.write(Self.pngHeaderOnly(width: 100_000, height: 100_000), to: path)
        assertFileError(try RasterImage.read(path: path), path: path,
                        "PNG image is 100000x100000x3; decoded that is 30000000000 bytes, more than the limit of 1073741824 bytes")
    }

    func testImageFolderErrors() throws {
        let empty = "\(directory!)/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        assertFileError(try ImageDataset.imageFolder(empty), path: empty, "holds no .png or .jpg images")
        assertFileError(try ImageDataset.imageFolder("\(directory!)/missing"), path: "\(directory!)/missing", "no such folder")

        let broken = "\(directory!)/broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try AtomicFile.write(Array("not a png".utf8), to: "\(broken)/a.png")
        assertFileError(try ImageDataset.imageFolder(broken), path: "\(broken)/a.png", "not a PNG or JPEG file")
        let png = try Data(contentsOf: URL(fileURLWithPath: writePNG("full.png", width: 64, height: 64, format: 0, buffer: [UInt8](repeating: 7, count: 4096))))
        try AtomicFile.write(Array(png.prefix(png.count - 20)), to: "\(broken)/a.png")
        assertFileError(try ImageDataset.imageFolder(broken), path: "\(broken)/a.png", "cannot")
        try FileManager.default.removeItem(atPath: "\(broken)/a.png")
        let jpeg = [UInt8](try Data(contentsOf: try Fixtures.image("jpeg/baseline-420.jpg")))
        try AtomicFile.write(Array(jpeg.prefix(jpeg.count / 2)), to: "\(broken)/a.jpeg")
        assertFileError(try ImageDataset.imageFolder(broken), path: "\(broken)/a.jpeg", "cannot read JPEG: truncated")

        let small = "\(directory!)/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        _ = try writePNG("small/a.png", width: 8, height: 8, format: 0, buffer: [UInt8](repeating: 0, count: 64))
        assertFileError(try ImageDataset.imageFolder(small, size: 64), path: "\(small)/a.png", "is 8x8; cannot crop 8x8 and resize to 64x64")
        assertFileError(try ImageDataset.imageFolder(small, size: 0), path: small, "size and limit must be at least 1")

        let huge = "\(directory!)/huge"
        try FileManager.default.createDirectory(atPath: huge, withIntermediateDirectories: true)
        try AtomicFile.write(Self.pngHeaderOnly(width: 200_000, height: 200_000), to: "\(huge)/a.png")
        assertFileError(try ImageDataset.imageFolder(huge), path: "\(huge)/a.png", "more than the limit")
    }

    func testGrayAndSixteenBitFolderBecomesRGB() throws {
        let folder = "\(directory!)/mixed"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = try writePNG("mixed/a.png", width: 4, height: 4, format: 0, buffer: [UInt8](repeating: 255, count: 16))
        _ = try writePNG("mixed/b.png", width: 4, height: 4, format: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_LINEAR), buffer: [UInt8](repeating: 0, count: 96))
        let set = try ImageDataset.imageFolder(folder, size: 2)
        XCTAssertEqual(set.count, 2)
        XCTAssertEqual(set.channels, 3)
        XCTAssertEqual(Array(set.pixels[0..<12]), [Float](repeating: 1, count: 12))
        XCTAssertEqual(Array(set.pixels[12...]), [Float](repeating: -1, count: 12))
    }
}

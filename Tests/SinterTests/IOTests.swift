import CPNG
import CZstd
import Foundation
import SinterIO
import SinterIR
import XCTest

final class IOTests: XCTestCase {
    var tempDir: URL!

    override func setUpWithError() throws {
        tempDir = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tempDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tempDir)
    }

    func path(_ name: String) -> String { tempDir.appendingPathComponent(name).path }

    func pseudoRandom(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    // MARK: - Gzip

    func testGzipRoundTripAndPlainPassthrough() throws {
        let data = pseudoRandom(1_000_000) + [UInt8](repeating: 42, count: 1_000_000)
        let gz = path("data.gz")
        try Gzip.writeFile(path: gz, bytes: data)
        XCTAssertEqual(try Gzip.readFile(path: gz), data)
        XCTAssertEqual(try Gzip.decompress(path: gz), data)

        let plain = path("data.bin")
        XCTAssertTrue(FileManager.default.createFile(atPath: plain, contents: Data(data)))
        XCTAssertEqual(try Gzip.readFile(path: plain), data)

        let empty = path("empty.gz")
        try Gzip.writeFile(path: empty, bytes: [])
        XCTAssertEqual(try Gzip.readFile(path: empty), [])
    }

    func testGzipReadsFileFromGzipCommand() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip") else { throw skipForMachine("no /usr/bin/gzip (Debian package gzip)") }
        let data = Array("hello, gzip\n".utf8) + pseudoRandom(100_000, seed: 5)
        let file = path("cmd.bin")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(data)))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = ["-9", file]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(try Gzip.readFile(path: file + ".gz"), data)
    }

    func testGzipErrors() throws {
        assertFileError(try Gzip.readFile(path: path("missing.gz")), path: path("missing.gz"), "no such file")
        let data = pseudoRandom(200_000)
        let gz = path("cut.gz")
        try Gzip.writeFile(path: gz, bytes: data)
        let full = try Data(contentsOf: URL(fileURLWithPath: gz))
        XCTAssertTrue(FileManager.default.createFile(atPath: gz, contents: full.prefix(full.count / 2)))
        assertFileError(try Gzip.readFile(path: gz), path: gz, "cannot decompress")
    }

    func testGzipMNISTImages() throws {
        let bytes = try Gzip.readFile(path: try Fixtures.mnist5k().path)
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(be32(0), 0x0000_0803, "IDX magic for unsigned-byte rank-3 data")
        XCTAssertEqual(be32(4), 5000)
        XCTAssertEqual(be32(8), 28)
        XCTAssertEqual(be32(12), 28)
        XCTAssertEqual(bytes.count, 16 + 5000 * 28 * 28)
        // The labels: IDX1, 5,000 of them, sorted by class (500 of each digit).
        let labels = try Gzip.readFile(path: try Fixtures.mnist5k(labels: true).path)
        XCTAssertEqual(labels.prefix(8).map { Int($0) }, [0, 0, 8, 1, 0, 0, 0x13, 0x88], "IDX magic 0x801, count 5000")
        XCTAssertEqual(labels.count, 8 + 5000)
        XCTAssertEqual(Array(labels.dropFirst(8)), (0..<5000).map { UInt8($0 / 500) })
    }

    // MARK: - Zstd

    func testZstdRoundTrip() throws {
        for data in [[], [7], pseudoRandom(1_000_000), [UInt8](repeating: 1, count: 5_000_000)] {
            for level in [1, 3, 19] {
                let compressed = Zstd.compress(data, level: level)
                XCTAssertEqual(try Zstd.decompress(compressed), data, "\(data.count) bytes, level \(level)")
            }
        }
        XCTAssertLessThan(Zstd.compress([UInt8](repeating: 1, count: 5_000_000), level: 3).count, 1000)
        // Concatenated frames decode to the concatenated contents.
        let a = pseudoRandom(1000, seed: 2), b = pseudoRandom(500_000, seed: 3)
        XCTAssertEqual(try Zstd.decompress(Zstd.compress(a, level: 3) + Zstd.compress(b, level: 3)), a + b)
    }

    func testZstdUnknownContentSize() throws {
        // A frame from streaming compression without the content size in its header.
        let data = pseudoRandom(700_000, seed: 9) + [UInt8](repeating: 0, count: 700_000)
        let cctx = try XCTUnwrap(ZSTD_createCCtx())
        defer { ZSTD_freeCCtx(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(data.count))
        let n = out.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in ZSTD_compress2(cctx, dst.baseAddress, dst.count, src.baseAddress, src.count) }
        }
        XCTAssertEqual(ZSTD_isError(n), 0)
        let frame = Array(out[0..<n])
        let unknown = frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        XCTAssertEqual(unknown, UInt64.max, "content size must be unknown for this test")
        XCTAssertEqual(try Zstd.decompress(frame), data)
    }

    func testZstdCorruptInput() throws {
        let compressed = Zstd.compress(pseudoRandom(100_000), level: 3)
        assertFileError(try Zstd.decompress(Array(compressed.prefix(compressed.count / 2))),
                        path: "<zstd data>", "truncated")
        assertFileError(try Zstd.decompress(Array("definitely not zstd".utf8), source: "x.zst"),
                        path: "x.zst", "not zstd data")
        assertFileError(try Zstd.decompress([]), path: "<zstd data>", "empty")
        // Valid frame followed by garbage: the garbage is not a frame.
        assertFileError(try Zstd.decompress(compressed + [1, 2, 3, 4, 5, 6, 7, 8]), path: "<zstd data>", "corrupt")
    }

    // MARK: - PNG

    func testPNGRoundTripGrayAndRGB() throws {
        for channels in [1, 3] {
            let width = 37, height = 11
            let pixels = pseudoRandom(width * height * channels, seed: UInt64(channels))
            let file = path("img\(channels).png")
            try PNGImage.write(path: file, width: width, height: height, channels: channels, pixels: pixels)
            let image = try RasterImage.read(path: file)
            XCTAssertEqual(image, RasterImage(width: width, height: height, channels: channels, pixels: pixels))
            try image.write(path: file + ".copy.png")
            XCTAssertEqual(try RasterImage.read(path: file + ".copy.png"), image)
        }
    }

    func testPNGAlphaIsCompositedOntoWhite() throws {
        // Written with libpng directly: PNGImage itself only writes gray and RGB.
        let file = path("rgba.png")
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = 2
        image.height = 1
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        let rgba: [UInt8] = [255, 0, 0, 255, 0, 0, 255, 0] // opaque red, fully transparent blue
        let ok = rgba.withUnsafeBytes { png_image_write_to_file(&image, file, 0, $0.baseAddress, 0, nil) }
        XCTAssertNotEqual(ok, 0)
        XCTAssertEqual(try RasterImage.read(path: file), RasterImage(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 255, 255, 255]))
    }

    /// The shipped 64x64 RGB PNGs (Tests/SinterTests/Data/README.md) read with their size and
    /// real content (not one flat colour).
    func testPNGFixtures() throws {
        for name in ["content-small.png", "style-small.png"] {
            let image = try RasterImage.read(path: try Fixtures.image(name).path)
            XCTAssertEqual([image.width, image.height, image.channels], [64, 64, 3], name)
            XCTAssertEqual(image.pixels.count, 64 * 64 * 3, name)
            XCTAssertGreaterThan(Set(image.pixels).count, 100, "\(name): expected a photo, found few distinct values")
        }
    }

    func testPNGErrors() throws {
        let notPNG = path("fake.png")
        XCTAssertTrue(FileManager.default.createFile(atPath: notPNG, contents: Data("not a png at all".utf8)))
        assertFileError(try RasterImage.read(path: notPNG), path: notPNG, "not a PNG or JPEG file")
        assertFileError(try RasterImage.read(path: path("none.png")), path: path("none.png"), "no such file")
        let out = path("out.png")
        assertFileError(try PNGImage.write(path: out, width: 2, height: 2, channels: 3, pixels: [1, 2, 3]),
                        path: out, "pixel count 3 does not match 2x2x3 = 12")
        assertFileError(try PNGImage.write(path: out, width: 1, height: 1, channels: 4, pixels: [1, 2, 3, 4]),
                        path: out, "4 channels")
        let bad = path("no/dir/out.png")
        assertFileError(try PNGImage.write(path: bad, width: 1, height: 1, channels: 1, pixels: [1]),
                        path: bad, "cannot write PNG")
    }
}

import Foundation
import SinterIO
import SinterIR
import XCTest

/// Sinter's JPEG decoder against libjpeg-turbo 2.1.5's djpeg (reference decodes committed next
/// to the fixtures, see Tests/SinterTests/Data/jpeg/README.md), and every refusal by its message.
final class JPEGDecoderTests: XCTestCase {
    static let folder = "Tests/SinterTests/Data/jpeg"

    func fixture(_ name: String) throws -> URL { try Fixtures.file("\(Self.folder)/\(name)") }
    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: try fixture(name))) }

    /// Every fixture, with what it covers.
    static let fixtures = [
        "baseline-444", "baseline-420", "baseline-422", "baseline-411", "baseline-440",  // SOF0, each sampling
        "odd-17x13-420", "pixel-1x1", "grey",  // partial MCUs at both edges; one pixel; one component
        "restart-420", "extended-sof1", "rgb-adobe", "adobe-transform-ids123", "noninterleaved", "exif-420",
        "progressive-420", "progressive-grey", "progressive-restart",  // SOF2: DC/AC first and refinement scans
    ]

    /// The default decode equals djpeg's (`-dct int`: the same integer IDCT, fancy upsampling and
    /// integer colour tables) sample for sample, and without fancy upsampling equals
    /// `djpeg -dct int -nosmooth` (box upsampling).
    func testEveryFixtureMatchesDjpegIntegerIDCTExactly() throws {
        for name in Self.fixtures {
            let data = try bytes("\(name).jpg")
            for (fancy, reference) in [(true, "int-fancy"), (false, "int-nosmooth")] {
                let decoded = try JPEGImage.decode(data, path: name, fancyUpsampling: fancy)
                let expected = try PNM.read(try fixture("\(name).\(reference).pnm"))
                XCTAssertEqual([decoded.width, decoded.height, decoded.channels], [expected.width, expected.height, expected.channels], name)
                XCTAssertEqual(Self.difference(decoded, expected).maximum, 0, "\(name): largest difference from djpeg \(reference)")
            }
        }
    }

    /// Against djpeg's float IDCT (`-dct float -nosmooth`): measured max 2, mean 0.03 on these
    /// photos. And box vs fancy upsampling on the subsampled ones: they differ (max 25 to 41
    /// levels, mean 2.5 to 3.4 on these small, detailed photos; on the full-size 512x341 coffee
    /// photo max 29, mean 0.86), so the exact matches above test each method.
    func testDifferencesFromDjpegFloatIDCTAndBetweenUpsamplingMethods() throws {
        for name in ["baseline-420", "baseline-422", "progressive-420"] {
            let data = try bytes("\(name).jpg")
            let decoded = try JPEGImage.decode(data, path: name, fancyUpsampling: false)
            let float = Self.difference(decoded, try PNM.read(try fixture("\(name).float-nosmooth.pnm")))
            XCTAssertLessThanOrEqual(float.maximum, 2, name)
            XCTAssertLessThan(float.mean, 0.1, name)
            let methods = Self.difference(decoded, try JPEGImage.decode(data, path: name))
            XCTAssertGreaterThan(methods.maximum, 2, name)
        }
    }

    static func difference(_ a: RasterImage, _ b: RasterImage) -> (maximum: Int, mean: Double) {
        guard a.pixels.count == b.pixels.count, !a.pixels.isEmpty else { return (Int.max, .infinity) }
        let differences = zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }
        return (differences.max()!, Double(differences.reduce(0, +)) / Double(differences.count))
    }

    /// The offsets of the marker segments before the first scan's data: (marker, offset of its
    /// 0xFF, total length including the marker).
    static func segments(_ bytes: [UInt8]) -> [(marker: UInt8, at: Int, size: Int)] {
        var found: [(UInt8, Int, Int)] = []
        var at = 2
        while at + 4 <= bytes.count, bytes[at] == 0xFF {
            let size = 2 + (Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]))
            found.append((bytes[at + 1], at, size))
            if bytes[at + 1] == 0xDA { break }
            at += size
        }
        return found
    }

    func patched(_ name: String, _ change: (inout [UInt8], _ sof: Int) -> Void) throws -> [UInt8] {
        var data = try bytes(name)
        let sof = Self.segments(data).first { (0xC0...0xC2).contains($0.marker) }!.at
        change(&data, sof)
        return data
    }

    func assertRefused(_ data: [UInt8], _ fragments: String..., maxPixelBytes: Int = RasterImage.defaultMaxPixelBytes, line: UInt = #line) {
        XCTAssertThrowsError(try JPEGImage.decode(data, path: "in.jpg", maxPixelBytes: maxPixelBytes), line: line) { error in
            guard case let SinterError.file(path, message)? = error as? SinterError else { return XCTFail("unexpected error \(error)", line: line) }
            XCTAssertEqual(path, "in.jpg", line: line)
            XCTAssert(message.hasPrefix("cannot read JPEG: "), message, line: line)
            for fragment in fragments { XCTAssert(message.contains(fragment), "'\(message)' lacks '\(fragment)'", line: line) }
        }
    }

    func testUnsupportedKindsAreRefusedByName() throws {
        assertRefused(try bytes("arithmetic.jpg"), "arithmetic coding (SOF9) is not supported")
        assertRefused(try patched("baseline-444.jpg") { data, sof in data[sof + 1] = 0xC3 }, "lossless JPEG (SOF3) is not supported")
        assertRefused(try patched("baseline-444.jpg") { data, sof in data[sof + 1] = 0xC5 }, "hierarchical JPEG (SOF5) is not supported")
        assertRefused(try patched("baseline-444.jpg") { data, sof in data[sof + 4] = 12 }, "12-bit samples are not supported")
        assertRefused(try patched("baseline-444.jpg") { data, sof in data[sof + 9] = 4 }, "4 components (CMYK or YCCK) are not supported")
        assertRefused(try patched("baseline-444.jpg") { data, sof in data[sof + 5] = 0; data[sof + 6] = 0 }, "height 0", "DNL")
        // A DHP marker (hierarchical) and a JPEG-LS frame (0xF7) in place of the APP0 segment.
        assertRefused(try patched("baseline-444.jpg") { data, _ in data[3] = 0xDE }, "hierarchical JPEG (DHP)")
        assertRefused(try patched("baseline-444.jpg") { data, _ in data[3] = 0xF7 }, "unsupported marker 0xFFF7")
    }

    func testAbsurdDimensionsAreRefusedFromTheFrameHeader() throws {
        let huge = try patched("baseline-444.jpg") { data, sof in
            for i in 5...8 { data[sof + i] = 0xFF }
        }
        assertRefused(huge, "JPEG image is 65535x65535x3; decoded that is 12884508675 bytes, more than the limit of 1073741824 bytes")
        assertRefused(try bytes("baseline-444.jpg"), "48x32x3", "more than the limit of 4000 bytes", maxPixelBytes: 4000)
        // One column, 65535 rows, every component sampled 4x4: few pixels, but 2048 MCUs of 48
        // blocks each to hold while decoding.
        let padded = try patched("baseline-444.jpg") { data, sof in
            data[sof + 5] = 0xFF; data[sof + 6] = 0xFF; data[sof + 7] = 0; data[sof + 8] = 1
            for c in 0..<3 { data[sof + 11 + 3 * c] = 0x44 }
        }
        assertRefused(padded, "needs 18874368 bytes of coefficients and planes to decode, more than the limit of 16777216 bytes",
                      maxPixelBytes: 1_000_000)
    }

    func testMissingTablesAreRefused() throws {
        let data = try bytes("baseline-420.jpg")
        func without(_ marker: UInt8) -> [UInt8] {
            var out = data
            for segment in Self.segments(data).reversed() where segment.marker == marker { out.removeSubrange(segment.at..<(segment.at + segment.size)) }
            return out
        }
        assertRefused(without(0xC4), "missing table: a scan uses DC Huffman table 0, which no DHT segment defined")
        assertRefused(without(0xDB), "missing table: component 1 uses quantization table 0, which no DQT segment defined")
    }

    func testTruncatedDataIsRefusedAtEveryLength() throws {
        for name in ["pixel-1x1.jpg", "progressive-restart.jpg"] {
            let data = try bytes(name)
            for length in 0..<data.count {
                XCTAssertThrowsError(try JPEGImage.decode(Array(data.prefix(length)), path: name)) { error in
                    XCTAssert(error is SinterError, "\(name) cut to \(length): \(error)")
                }
            }
        }
        let data = try bytes("baseline-420.jpg")
        assertRefused(Array(data.dropLast(2)), "truncated: the file ends before the EOI marker (after 1 scan)")
        assertRefused(Array(data.prefix(data.count - 200)), "truncated or corrupt: the entropy-coded data of scan 1 ends in MCU")
        assertRefused(Array(data.prefix(30)), "truncated: the DQT segment at byte 20 is 67 bytes long")
        let scan = Self.segments(data).last!
        assertRefused(Array(data.prefix(scan.at + scan.size + 3)), "truncated: the 48x32 image has 36 blocks, each coded in at least one bit, but only 3 bytes follow")
    }

    func testBadMarkersAndTablesAreRefused() throws {
        var data = try bytes("baseline-444.jpg")
        let sof = Self.segments(data).first { $0.marker == 0xC0 }!
        data.insert(0x42, at: sof.at)
        assertRefused(data, "bad marker: expected a marker (0xFF) at byte \(sof.at), found 0x42")
        assertRefused(try patched("baseline-444.jpg") { data, _ in data[3] = 0xD8 }, "bad marker: a second SOI at byte 2")
        // The first DHT (counts 0 1 5 1 1 ...) made to claim two codes of length 1 and none of
        // length 2, the same number of symbols: the all-ones code of length 1 is not allowed.
        let bad = try patched("baseline-444.jpg") { data, _ in
            let dht = Self.segments(data).first { $0.marker == 0xC4 }!.at
            XCTAssertEqual(Array(data[(dht + 5)...(dht + 7)]), [0, 1, 5])
            data[dht + 5] = 2
            data[dht + 6] = 0
            data[dht + 7] = 4
        }
        assertRefused(bad, "bad Huffman table: 2 codes of length 1 do not fit")
        // Five codes of length 2 (at most 3 fit): refused before the fifth reaches past the
        // decoder's lookup table (the first fuzz run of `sinter-fuzz jpeg` found this trap).
        let overfull = try patched("baseline-444.jpg") { data, _ in
            let dht = Self.segments(data).first { $0.marker == 0xC4 }!.at
            data[dht + 5] = 0
            data[dht + 6] = 5
            data[dht + 7] = 1
        }
        assertRefused(overfull, "bad Huffman table: 5 codes of length 2 do not fit")
        assertRefused(try patched("baseline-444.jpg") { data, sof in data[sof + 9] = 2 }, "2 components are not supported")
        assertRefused(Array("not a jpeg".utf8), "not a JPEG file")
    }

    func testAWrongRestartMarkerIsRefused() throws {
        var data = try bytes("restart-420.jpg")
        let scan = Self.segments(data).last!
        let rst = (scan.at + scan.size..<(data.count - 1)).first { data[$0] == 0xFF && data[$0 + 1] == 0xD0 }!
        data[rst + 1] = 0xD3
        assertRefused(data, "bad marker: expected restart marker RST0 (0xFFD0) at byte \(rst), found 0xFFD3")
    }

    func testBadProgressiveScansAreRefused() throws {
        var data = try bytes("progressive-grey.jpg")
        let scan = Self.segments(data).last!
        data[scan.at + scan.size - 2] = 5  // The first (DC) scan's Se.
        assertRefused(data, "bad progressive scan parameters Ss=0 Se=5")
    }

    /// The format comes from the content: a JPEG named .png and a PNG named .jpg both decode.
    func testRasterImageReadDispatchesByContent() throws {
        let directory = try SinterProcess.temporaryDirectory("jpeg-dispatch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let jpegAsPNG = directory.appendingPathComponent("photo.png").path
        try FileManager.default.copyItem(atPath: try fixture("grey.jpg").path, toPath: jpegAsPNG)
        XCTAssertEqual(try RasterImage.read(path: jpegAsPNG), try PNM.read(try fixture("grey.int-nosmooth.pnm")))
        let pngAsJPEG = directory.appendingPathComponent("photo.jpg").path
        try FileManager.default.copyItem(atPath: try Fixtures.image("content-small.png").path, toPath: pngAsJPEG)
        XCTAssertEqual(try RasterImage.read(path: pngAsJPEG), try RasterImage.read(path: try Fixtures.image("content-small.png").path))
    }
}

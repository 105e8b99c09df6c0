import Foundation
import SinterIO
import SinterIR
import XCTest

/// The picture writer on what a diverged model produces (NaN, +-Inf, values far out of range) and
/// on sizes that do not add up: a picture or a thrown error naming the file, never a trap.
final class ImageGridTests: XCTestCase {
    var tempDir: URL!

    override func setUpWithError() throws {
        tempDir = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-grid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tempDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tempDir) }

    func testNaNIsBlackAndInfinitiesAndOutOfRangeValuesAreClamped() throws {
        let path = tempDir.appendingPathComponent("grid.png").path
        // One 1x8 grey image. Before the fix UInt8(NaN) trapped ("Float value cannot be converted").
        let values: [Float] = [.nan, .infinity, -.infinity, 1e30, -1e30, 0.5, -.nan, .greatestFiniteMagnitude]
        try ImageGrid.write(path: path, images: values, count: 1, height: 1, width: 8, channels: 1, columns: 1)
        let image = try RasterImage.read(path: path)
        XCTAssertEqual(image.width, 8 + 4)
        XCTAssertEqual(image.height, 1 + 4)
        let row = Array(image.pixels[(2 * image.width + 2)..<(2 * image.width + 10)])
        XCTAssertEqual(row, [0, 255, 0, 255, 0, 128, 0, 255])
    }

    func testSizesThatDoNotAddUpAreErrorsNamingTheFile() {
        let path = tempDir.appendingPathComponent("bad.png").path
        func assertRefused(_ message: String, _ body: () throws -> Void, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                guard case let SinterError.file(errorPath, text) = error else { return XCTFail("\(error)", line: line) }
                XCTAssertEqual(errorPath, path, line: line)
                XCTAssert(text.contains(message), "\(text)", line: line)
            }
        }
        assertRefused("need 8 values, given 3") {
            try ImageGrid.write(path: path, images: [1, 2, 3], count: 2, height: 2, width: 2, channels: 1, columns: 2)
        }
        assertRefused("every size must be positive") {
            try ImageGrid.write(path: path, images: [1], count: 1, height: 1, width: 1, channels: 1, columns: 0)
        }
        assertRefused("every size must be positive") {
            try ImageGrid.write(path: path, images: [], count: 0, height: 1, width: 1, channels: 1, columns: 1)
        }
        assertRefused("too large") {
            try ImageGrid.write(path: path, images: [1], count: 1, height: Int.max / 2, width: 4, channels: 3, columns: 1)
        }
        assertRefused("only 1 = gray or 3 = RGB") {
            try ImageGrid.write(path: path, images: [1, 2], count: 1, height: 1, width: 1, channels: 2, columns: 1)
        }
        assertRefused("must be finite and not empty") {
            try ImageGrid.write(path: path, images: [1], count: 1, height: 1, width: 1, channels: 1, columns: 1, range: 1...1)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}

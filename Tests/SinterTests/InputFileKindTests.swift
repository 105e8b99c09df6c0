import Foundation
import Sinter
import SinterIO
import SinterIR
import XCTest

/// Issue 7 item 6: readers refuse what is not a regular file with one line naming the path and
/// what was expected (a FIFO must not block), and AtomicFile cleans its own stale temporaries.
final class InputFileKindTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-kind-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    func testDirectoryFIFODeviceAndPathUnderAFile() throws {
        let fifo = "\(directory!)/pipe"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let file = "\(directory!)/plain"
        try AtomicFile.write([1, 2, 3], to: file)
        let cases: [(String, String)] = [
            (directory, "is a directory"), (fifo, "is a FIFO (named pipe)"), ("/dev/null", "is a character device"),
            ("\(file)/x", "a parent of this path is a file"), ("\(directory!)/missing", "no such file"),
        ]
        for (path, fragment) in cases {
            let readers: [(String, () throws -> Any)] = [
                ("a safetensors file", { try Safetensors.read(path: path) }),
                ("a gzip or plain data file", { try IDXFile.read(path: path) }),
                ("a gzip or plain data file", { try Gzip.readFile(path: path) }),
                ("a PNG or JPEG image", { try RasterImage.read(path: path) }),
            ]
            for (expected, reader) in readers {
                let text = message(reader)
                XCTAssertTrue(text.hasPrefix("\(path): "), text)
                XCTAssertTrue(text.contains(fragment), "'\(text)' lacks '\(fragment)'")
                if fragment.hasPrefix("is a") { XCTAssertTrue(text.hasSuffix("expected \(expected)"), text) }
                XCTAssertFalse(text.contains("\n"), text)
            }
        }
    }

    func testNonUTF8FileIsRefusedByTheParsers() throws {
        let path = "\(directory!)/binary"
        try AtomicFile.write([0x10, 0, 0, 0, 0, 0, 0, 0] + [0x7b, 0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x32, 0x4a] + [UInt8](repeating: 0x80, count: 8), to: path)
        let text = message { try Safetensors.read(path: path) }
        XCTAssertTrue(text.contains("header is not valid UTF-8"), text)
        XCTAssertFalse(text.contains("\u{1b}"), text)
        XCTAssertTrue(message { try IDXFile.read(path: path) }.contains("not an IDX file"))
        XCTAssertTrue(message { try RasterImage.read(path: path) }.contains("not a PNG or JPEG file"))
    }

    func testStaleTemporariesOfAKilledWriteAreCleaned() throws {
        let target = "\(directory!)/model.ckpt"
        // A pid that has exited.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        let dead = process.processIdentifier
        let old = Date(timeIntervalSinceNow: -3600)
        func make(_ name: String, modified: Date) throws -> String {
            let path = "\(directory!)/\(name)"
            try AtomicFile.write([9], to: path)
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
            return path
        }
        let stale = try make(".model.ckpt.tmp-\(dead)-12345", modified: old)
        let fresh = try make(".model.ckpt.tmp-\(dead)-777", modified: Date())
        let live = try make(".model.ckpt.tmp-\(getppid())-42", modified: old)
        let other = try make(".other.ckpt.tmp-\(dead)-1", modified: old)
        let lookalike = try make(".model.ckpt.tmp-\(dead)-1-extra", modified: old)

        try AtomicFile.write([1, 2], to: target)
        let fm = FileManager.default
        XCTAssertFalse(fm.fileExists(atPath: stale), "the killed write's temporary is removed")
        XCTAssertTrue(fm.fileExists(atPath: fresh), "a recent temporary may still be being written (another host)")
        XCTAssertTrue(fm.fileExists(atPath: live), "a live process's temporary stays")
        XCTAssertTrue(fm.fileExists(atPath: other), "another target's temporary stays")
        XCTAssertTrue(fm.fileExists(atPath: lookalike), "names not matching our pattern stay")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), Data([1, 2]))
    }
}

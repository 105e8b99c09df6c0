import Sinter
import XCTest

/// The zip reader (SinterIO/ZipArchive.swift): stored and deflate members, CRC-32, ZIP64, and
/// every malformed or hostile archive refused with an error naming the file and member.
final class ZipArchiveTests: XCTestCase {
    let text = Array(String(repeating: "a wheel member, compressible. ", count: 50).utf8)

    func archive() throws -> [UInt8] {
        try ZipWriter.encode([.init(name: "pkg/stored.txt", data: Array("stored bytes".utf8), deflate: false),
                              .init(name: "pkg/deflated.txt", data: text, deflate: true),
                              .init(name: "pkg/empty", data: [], deflate: true)])
    }

    func assertFileError(_ body: @autoclosure () throws -> Any, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case let .file(_, message)? = error as? SinterError else { return XCTFail("not a file error: \(error)", file: file, line: line) }
            XCTAssertTrue(message.contains(expected), "message: \(message)", file: file, line: line)
        }
    }

    func testStoredAndDeflateMembersRoundTrip() throws {
        let zip = try ZipArchive(bytes: archive(), path: "t.zip")
        XCTAssertEqual(zip.entries.map(\.name), ["pkg/stored.txt", "pkg/deflated.txt", "pkg/empty"])
        XCTAssertEqual(zip.entries.map(\.method), [0, 8, 8])
        XCTAssertLessThan(zip.entries[1].compressedSize, text.count / 4)
        XCTAssertEqual(try zip.read(named: "pkg/stored.txt"), Array("stored bytes".utf8))
        XCTAssertEqual(try zip.read(named: "pkg/deflated.txt"), text)
        XCTAssertEqual(try zip.read(named: "pkg/empty"), [])
    }

    func testMissingMemberListsTheMembers() throws {
        let zip = try ZipArchive(bytes: archive(), path: "t.zip")
        assertFileError(try zip.read(named: "pkg/other"), "has no member 'pkg/other' (3 members: pkg/stored.txt, pkg/deflated.txt, pkg/empty)")
    }

    func testBadCRCIsRefused() throws {
        var bytes = try archive()
        let at = try XCTUnwrap(bytes.firstRange(of: Array("stored bytes".utf8))).lowerBound
        bytes[at] ^= 0x20
        let zip = try ZipArchive(bytes: bytes, path: "t.zip")
        assertFileError(try zip.read(named: "pkg/stored.txt"), "member 'pkg/stored.txt': CRC-32 mismatch")
    }

    func testTruncatedArchivesAreRefused() throws {
        let bytes = try archive()
        assertFileError(try ZipArchive(bytes: Array(bytes.prefix(10)), path: "t.zip"), "too short for a zip file")
        assertFileError(try ZipArchive(bytes: Array(bytes.dropLast(3)), path: "t.zip"), "no end-of-central-directory record")
        // Every cut is an error, never a crash.
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            XCTAssertThrowsError(try { let z = try ZipArchive(bytes: Array(bytes.prefix(cut)), path: "t.zip"); for e in z.entries { _ = try z.read(e) } }())
        }
    }

    func testDeclaredSizesAreBoundedBeforeInflating() throws {
        let zip = try ZipArchive(bytes: archive(), path: "bomb.zip")
        let deflated = zip.entries[1]
        assertFileError(try zip.read(deflated, maxBytes: 100), "member 'pkg/deflated.txt': declares \(text.count) bytes, more than the limit of 100 bytes")
        // A directory that understates the size: inflation stops at the declared size.
        var bytes = try archive()
        let central = try XCTUnwrap(bytes.firstRange(of: [0x50, 0x4b, 0x01, 0x02] + [20, 0, 20, 0, 0, 0, 8, 0])).lowerBound
        bytes[central + 24] = 10; bytes[central + 25] = 0; bytes[central + 26] = 0; bytes[central + 27] = 0
        let lying = try ZipArchive(bytes: bytes, path: "bomb.zip")
        assertFileError(try lying.read(named: "pkg/deflated.txt"), "inflates to more than the 10 bytes the directory declares")
        // And one that overstates it beyond what deflate can produce is refused before allocating.
        bytes[central + 24] = 0; bytes[central + 25] = 0; bytes[central + 26] = 0; bytes[central + 27] = 0x40
        let bomb = try ZipArchive(bytes: bytes, path: "bomb.zip")
        assertFileError(try bomb.read(named: "pkg/deflated.txt"), "declares 1073741824 bytes from \(deflated.compressedSize) compressed, more than deflate can produce")
    }

    func testCorruptDeflateDataIsAnError() throws {
        var bytes = try archive()
        let zip = try ZipArchive(bytes: bytes, path: "t.zip")
        let entry = zip.entries[1]
        let start = entry.localHeaderOffset + 30 + entry.name.utf8.count
        for i in 0..<entry.compressedSize { bytes[start + i] = 0xff }
        XCTAssertThrowsError(try ZipArchive(bytes: bytes, path: "t.zip").read(named: "pkg/deflated.txt")) { error in
            XCTAssertTrue("\(error)".contains("member 'pkg/deflated.txt'"), "\(error)")
        }
    }

    func testEntryCountBeyondTheDirectoryIsRefused() throws {
        var bytes = try archive()
        let end = bytes.count - 22
        bytes[end + 10] = 0xfe; bytes[end + 11] = 0x7f
        assertFileError(try ZipArchive(bytes: bytes, path: "t.zip"), "declares 32766 entries, more than its")
    }

    func testZIP64DirectoryIsRead() throws {
        let zip = try ZipArchive(bytes: zip64Archive(), path: "z64.zip")
        XCTAssertEqual(zip.entries.map(\.name), ["big/member.bin"])
        XCTAssertEqual(try zip.read(named: "big/member.bin"), Array("zip64 payload".utf8))
    }

    func testRealWheelLayoutFromPythonZipfile() throws {
        // zip-deflate.pth was written by Python's zipfile (Data/torch/make_fixtures.py).
        let url = try Fixtures.file("Tests/SinterTests/Data/torch/zip-deflate.pth")
        let zip = try ZipArchive(path: url.path)
        XCTAssertEqual(zip.entries.first?.name, "ckpt/data.pkl")
        XCTAssertEqual(try zip.read(named: "ckpt/byteorder"), Array("little".utf8))
        XCTAssertTrue(zip.entries.allSatisfy { $0.method == 8 })
    }

    /// One stored member with every size field saturated and the real values in ZIP64 records,
    /// as zip tools write archives over 4 GiB.
    func zip64Archive() -> [UInt8] {
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(v >> (8 * UInt64($0)) & 0xff) } }
        let name = Array("big/member.bin".utf8), data = Array("zip64 payload".utf8)
        let crc = UInt64(data.withUnsafeBufferPointer { UInt32(truncatingIfNeeded: crc32Of($0)) })
        let full: UInt64 = 0xffff_ffff
        let extra = le(1, 2) + le(24, 2) + le(UInt64(data.count), 8) + le(UInt64(data.count), 8) + le(0, 8)
        var out = le(0x0403_4b50, 4) + le(45, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(full, 4) + le(full, 4)
        out += le(UInt64(name.count), 2) + le(0, 2) + name + data
        let directoryOffset = out.count
        var central = le(0x0201_4b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(full, 4) + le(full, 4)
        central += le(UInt64(name.count), 2) + le(UInt64(extra.count), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(full, 4)
        central += name + extra
        out += central
        let record = out.count
        out += le(0x0606_4b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(1, 8) + le(1, 8)
        out += le(UInt64(central.count), 8) + le(UInt64(directoryOffset), 8)
        out += le(0x0706_4b50, 4) + le(0, 4) + le(UInt64(record), 8) + le(1, 4)
        out += le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(0xffff, 2) + le(0xffff, 2) + le(full, 4) + le(full, 4) + le(0, 2)
        return out
    }

    /// CRC-32 (IEEE), bit by bit: independent of the zlib the reader uses.
    func crc32Of(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

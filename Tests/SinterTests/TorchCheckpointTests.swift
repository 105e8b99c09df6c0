import Sinter
import XCTest

/// Reading `torch.save` files without PyTorch (SinterTorch/TorchCheckpoint.swift): both formats,
/// files written by Python's pickle and zipfile (Data/torch) and by `PickleWriter`, and every
/// damaged file refused with an error that names it.
final class TorchCheckpointTests: XCTestCase {
    let tensors: [String: HostTensor] = [
        "conv.weight": HostTensor(shape: [2, 1, 1, 2], floats: [1, -2, 3.5, 4]),
        "conv.bias": HostTensor(storage: .f64, shape: [2], bytes: [0.5, -1.0].withUnsafeBytes { Array($0) }),
        "table": HostTensor(storage: .u8, shape: [3], bytes: [0, 7, 255]),
        "steps": HostTensor(storage: .i64, shape: [], bytes: [9, 0, 0, 0, 0, 0, 0, 0]),
        "empty": HostTensor(shape: [0, 3], floats: []),
    ]

    func fixture(_ name: String) throws -> String { try Fixtures.file("Tests/SinterTests/Data/torch/\(name)").path }

    func assertFileError(_ body: @autoclosure () throws -> Any, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case let .file(_, message)? = error as? SinterError else { return XCTFail("not a file error: \(error)", file: file, line: line) }
            XCTAssertTrue(message.contains(expected), "message: \(message)", file: file, line: line)
        }
    }

    func testPythonWrittenFilesInBothFormats() throws {
        for name in ["legacy.pth", "zip-stored.pth", "zip-deflate.pth"] {
            let read = try TorchCheckpoint.read(path: try fixture(name))
            XCTAssertEqual(read.keys.sorted(), ["state_dict.n", "state_dict.q", "state_dict.t", "state_dict.w"], name)
            XCTAssertEqual(read["state_dict.w"], HostTensor(shape: [2, 3], floats: [1.5, -2, 3.25, 4, 0.5, -6]), name)
            // Strides (1, 2): the transpose of its storage, copied out in row-major order.
            XCTAssertEqual(read["state_dict.t"], HostTensor(shape: [2, 3], floats: [10, 30, 50, 20, 40, 60]), name)
            XCTAssertEqual(read["state_dict.n"]?.storage, .i64)
            XCTAssertEqual(read["state_dict.n"]?.doubles, [-8, 9], name)
            XCTAssertEqual(read["state_dict.q"], HostTensor(storage: .u8, shape: [4], bytes: [0, 1, 254, 255]), name)
        }
    }

    func testWriterRoundTripsBothFormats() throws {
        let legacy = PickleWriter.legacyCheckpoint(tensors)
        XCTAssertEqual(try TorchCheckpoint.parse(legacy, path: "l.pth"), tensors)
        for deflate in [false, true] {
            let zip = try PickleWriter.zipCheckpoint(tensors, directory: "model", deflate: deflate)
            XCTAssertEqual(try TorchCheckpoint.parse(zip, path: "z.pth"), tensors)
        }
    }

    func testTruncatedLegacyFilesAreErrors() throws {
        let legacy = PickleWriter.legacyCheckpoint(tensors)
        assertFileError(try TorchCheckpoint.parse(Array(legacy.dropLast(1)), path: "cut.pth"), "truncated: storage")
        for cut in 0..<legacy.count - 1 {
            XCTAssertThrowsError(try TorchCheckpoint.parse(Array(legacy.prefix(cut)), path: "cut.pth"), "cut at \(cut)") { error in
                XCTAssertNotNil(error as? SinterError, "cut at \(cut): \(error)")
            }
        }
    }

    func testNotACheckpoint() {
        assertFileError(try TorchCheckpoint.parse(Array("hello".utf8), path: "x.pth"), "is neither a torch.save zip nor a legacy torch.save file")
        var w = PickleWriter()
        w.proto(2); w.int(5); w.stop()
        assertFileError(try TorchCheckpoint.parse(w.bytes, path: "x.pth"), "the first pickle is not the magic number 0x1950a86a20f9469cfc6c")
        let zip = try! ZipWriter.encode([.init(name: "pkg/__init__.py", data: [], deflate: false)])
        assertFileError(try TorchCheckpoint.parse(zip, path: "x.zip"), "is a zip file but not a torch.save checkpoint (no <dir>/data.pkl)")
    }

    func testStorageCountMustMatchItsTensors() throws {
        var legacy = PickleWriter.legacyCheckpoint(["w": HostTensor(shape: [2], floats: [1, 2])])
        // The int64 element count sits right before the 8 data bytes at the end.
        legacy[legacy.count - 16] = 3
        assertFileError(try TorchCheckpoint.parse(legacy, path: "n.pth"), "storage '0' holds 3 elements, but its tensors declare 2")
    }

    func testTensorOutsideItsStorageIsRefused() throws {
        // A view whose offset reaches past the storage: patch the storage offset BININT1 0 to 1.
        var legacy = PickleWriter.legacyCheckpoint(["w": HostTensor(shape: [2], floats: [1, 2])])
        let persid = try XCTUnwrap(legacy.firstRange(of: [0x51, 0x4b, 0x00])).lowerBound
        legacy[persid + 2] = 1
        assertFileError(try TorchCheckpoint.parse(legacy, path: "v.pth"), "tensor 'w': shape [2], strides [1], offset 1 address element 2, but storage '0' has 2 elements")
    }

    func testBroadcastStridesCannotAllocateFromASmallStorage() throws {
        // One float, viewed as 2^40 elements with stride 0: 4 TiB if materialised.
        var legacy = PickleWriter.legacyCheckpoint(["w": HostTensor(shape: [1], floats: [1])])
        let size = try XCTUnwrap(legacy.firstRange(of: [0x28, 0x4b, 0x01, 0x74, 0x28, 0x4b, 0x01, 0x74])).lowerBound
        legacy.replaceSubrange(size..<(size + 8), with: [0x28, 0x8a, 0x06, 0, 0, 0, 0, 0, 0x01, 0x74, 0x28, 0x4b, 0x00, 0x74])
        assertFileError(try TorchCheckpoint.parse(legacy, path: "b.pth", maxBytes: 1 << 20),
                        "tensor 'w': shape [1099511627776] is 4398046511104 bytes, more than the limit of 1048576 bytes")
    }

    func testZipCheckpointFaults() throws {
        let good = try PickleWriter.zipCheckpoint(["w": HostTensor(shape: [2], floats: [1, 2])])
        let entries = try ZipArchive(bytes: good, path: "z.pth").entries
        // Drop the storage member: rebuild the archive without it.
        let kept = try entries.filter { $0.name != "archive/data/0" }.map { entry in
            ZipWriter.Member(name: entry.name, data: try ZipArchive(bytes: good, path: "z.pth").read(entry), deflate: false)
        }
        assertFileError(try TorchCheckpoint.parse(try ZipWriter.encode(kept), path: "z.pth"), "storage '0' is missing (no member 'archive/data/0')")
        var corrupt = good
        let data = entries.first { $0.name == "archive/data/0" }!
        corrupt[data.localHeaderOffset + 30 + data.name.utf8.count] ^= 1
        assertFileError(try TorchCheckpoint.parse(corrupt, path: "z.pth"), "member 'archive/data/0': CRC-32 mismatch")
    }

    func testBigEndianFilesAreRefused() throws {
        var legacy = PickleWriter.legacyCheckpoint(["w": HostTensor(shape: [1], floats: [1])])
        let flag = try XCTUnwrap(legacy.firstRange(of: Array("little_endian".utf8))).upperBound
        XCTAssertEqual(legacy[flag], 0x88)
        legacy[flag] = 0x89
        assertFileError(try TorchCheckpoint.parse(legacy, path: "be.pth"), "is a big-endian torch.save file")
    }
}

import Foundation
import Sinter
import SinterIO
import SinterIR
import XCTest

/// Issue 7 item 8: headers that are subtly wrong are refused instead of being misread.
final class SafetensorsValidationTests: XCTestCase {
    /// 8-byte LE length, then `header` (length adjusted by `lengthDelta`), then `data`.
    func file(_ header: String, data: [UInt8], lengthDelta: Int = 0) -> [UInt8] {
        let h = Array(header.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(h.count + lengthDelta).littleEndian) { out += $0 }
        return out + h + data
    }

    func assertRefused(_ bytes: [UInt8], _ fragments: String..., line: UInt = #line) {
        XCTAssertThrowsError(try Safetensors.read(data: bytes, path: "bad.safetensors"), line: line) { error in
            guard case let SinterError.file(path, message)? = error as? SinterError else {
                return XCTFail("unexpected error \(error)", line: line)
            }
            XCTAssertEqual(path, "bad.safetensors", line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", line: line)
            }
            XCTAssertLessThan(message.count, 400, "message too long: \(message)", line: line)
        }
    }

    let twoFloats: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]  // 1.0, 2.0

    func testValidFileWithPaddedHeaderReads() throws {
        let tensors = try Safetensors.read(data: file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}     "#, data: twoFloats), path: "ok")
        XCTAssertEqual(tensors["w"]?.floats, [1, 2])
    }

    /// The bug: with the header padded by spaces, a length one byte short used to parse and
    /// shift every tensor by one byte (eval then printed NaN and exited 0).
    func testHeaderLengthOffByAFewBytes() {
        let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   "#
        for delta in [-1, -2, -3] {
            assertRefused(file(header, data: twoFloats, lengthDelta: delta), "data_offsets cover 8 bytes", "is the header length")
        }
        for delta in [1, 2, 3] {
            assertRefused(file(header, data: twoFloats, lengthDelta: delta), "is the header length")
        }
        // Without padding, one byte short cuts the closing brace.
        assertRefused(file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: twoFloats, lengthDelta: -1),
                      "not valid JSON", "is the header length")
    }

    func testOffsetsThatOverlapOrLeaveGaps() {
        let overlap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#
        assertRefused(file(overlap, data: twoFloats), "'a' data_offsets [0, 4] and 'b' data_offsets [2, 6] overlap")
        let gap = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#
        assertRefused(file(gap, data: [UInt8](repeating: 1, count: 6)), "'b' data_offsets [4, 6] leave a gap: bytes [2, 4)")
        let late = #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#
        assertRefused(file(late, data: twoFloats), "'a' data_offsets [4, 8] leave a gap: bytes [0, 4)")
        let leftover = #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#
        assertRefused(file(leftover, data: twoFloats), "cover 4 bytes but the data section", "is 8 bytes")
        let same = #"{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#
        assertRefused(file(same, data: twoFloats), "overlap")
    }

    func testEmptyTensorsTileAnywhere() throws {
        let header = #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"c":{"dtype":"U8","shape":[3,0],"data_offsets":[8,8]}}"#
        let tensors = try Safetensors.read(data: file(header, data: twoFloats), path: "ok")
        XCTAssertEqual(tensors.count, 3)
        XCTAssertEqual(tensors["b"]?.floats, [1, 2])
    }

    func testDtypeShapeAndSizeMismatches() {
        assertRefused(file(#"{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}"#, data: twoFloats),
                      "tensor 'w': shape [2] with dtype F64 needs 16 bytes but data_offsets [0, 8] hold 8")
        assertRefused(file(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: twoFloats), "needs 12 bytes")
        assertRefused(file(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: twoFloats),
                      "tensor 'w': shape [4611686018427387904,4] has more elements than fit in memory")
        assertRefused(file(#"{"w":{"dtype":"F32","shape":[1152921504606846976,2],"data_offsets":[0,8]}}"#, data: twoFloats),
                      "needs more than Int.max bytes")
        assertRefused(file(#"{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, data: twoFloats), "shape must be a list of non-negative integers")
        assertRefused(file(#"{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}"#, data: twoFloats), "shape must be")
        assertRefused(file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}"#, data: twoFloats), "data_offsets must be a pair")
        assertRefused(file(#"{"w":{"dtype":"F32","shape":[20],"data_offsets":[0,80]}}"#, data: twoFloats), "out of range")
        assertRefused(file(#"{"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}"#, data: twoFloats), "unknown dtype 'f32'")
    }

    func testDuplicateNamesAreRefused() {
        let header = #"{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#
        assertRefused(file(header, data: twoFloats), "duplicate key \"w\"")
    }

    func testNonJSONAndNonUTF8Headers() {
        assertRefused(file("{not json at all}", data: []), "not valid JSON", "at byte 1")
        var bytes = file(#"{"w":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#, data: [])
        bytes[11] = 0xff
        assertRefused(bytes, "header is not valid UTF-8 (at byte 3 of the header")
        // UTF-16 JSON, which JSONSerialization would have accepted.
        var utf16: [UInt8] = []
        withUnsafeBytes(of: UInt64(4).littleEndian) { utf16 += $0 }
        utf16 += [0x7b, 0x00, 0x7d, 0x00]
        assertRefused(utf16, "header")
        assertRefused(file(String(repeating: "[", count: 10_000), data: []), "nested more than 64 levels")
        assertRefused(file("[1,2]", data: []), "not a JSON object (got a list)")
    }

    func testAbsurdHeaderLengthIsRefusedBeforeAllocating() {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64.max.littleEndian) { bytes += $0 }
        assertRefused(bytes + [0x7b], "header length 18446744073709551615 is more than the limit of 100000000 bytes")
    }

    func testLongNamesAndDtypesAreCutInMessages() {
        let name = String(repeating: "n", count: 100_000)
        assertRefused(file("{\"\(name)\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,8]}}", data: twoFloats), "nnnn...", "needs 20 bytes")
        let dtype = String(repeating: "\u{1b}[31m", count: 1000)
        assertRefused(file("{\"w\":{\"dtype\":\"\(dtype.replacingOccurrences(of: "\u{1b}", with: "\\u001b"))\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: twoFloats),
                      "unknown dtype '\\x1b[31m")
    }

    /// The one name the format reserves: encoding it used to trap (a precondition), so a model
    /// with a parameter of that name killed `sinter train` at its first checkpoint.
    func testReservedNameIsAnErrorNotATrap() throws {
        let tensors = ["__metadata__": HostTensor(shape: [1], floats: [1])]
        XCTAssertThrowsError(try Safetensors.encode(tensors)) { error in
            XCTAssertTrue("\(error)".contains("'__metadata__'"), "\(error)")
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reserved-\(getpid()).sinter").path
        XCTAssertThrowsError(try Checkpoint(model: "m", step: 1, tensors: tensors).write(to: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}

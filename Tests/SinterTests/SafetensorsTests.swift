import Foundation
@testable import SinterIO
import SinterIR
import XCTest

final class SafetensorsTests: XCTestCase {
    var tempDir: URL!

    override func setUpWithError() throws {
        tempDir = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tempDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tempDir)
    }

    func path(_ name: String) -> String { tempDir.appendingPathComponent(name).path }

    /// A tensor with pseudo-random bytes (0/1 for BOOL).
    func sample(_ storage: StorageType, _ shape: [Int], seed: Int) -> HostTensor {
        let count = shape.reduce(1, *) * storage.byteSize
        var state = UInt64(seed &* 2654435761 &+ 1)
        let bytes = (0..<count).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return storage == .bool ? UInt8((state >> 33) & 1) : UInt8(truncatingIfNeeded: state >> 33)
        }
        return HostTensor(storage: storage, shape: shape, bytes: bytes)
    }

    // MARK: - Round trip

    func testRoundTripEveryStorageTypeAndShape() throws {
        var tensors: [String: HostTensor] = [:]
        let shapes: [[Int]] = [[], [0], [5], [2, 3], [2, 0, 4], [1, 2, 3, 2]]
        for (i, storage) in StorageType.allCases.enumerated() {
            for (j, shape) in shapes.enumerated() {
                tensors["\(storage.rawValue.lowercased()).s\(j)"] = sample(storage, shape, seed: i * 10 + j)
            }
        }
        tensors["name with \"quotes\", \\ and ünïcode"] = HostTensor(shape: [2], floats: [1.5, -2])
        let file = path("all.safetensors")
        try Safetensors.write(tensors, to: file, metadata: ["case": "round-trip", "quote": "a\"b"])
        let (read, metadata) = try Safetensors.readWithMetadata(path: file)
        XCTAssertEqual(read, tensors)
        XCTAssertEqual(metadata, ["case": "round-trip", "quote": "a\"b"])
        XCTAssertEqual(try Safetensors.read(path: file), tensors)
        XCTAssertEqual(try Safetensors.read(data: try Safetensors.encode(tensors), path: "<memory>"), tensors)
    }

    func testScalarValuesSurvive() throws {
        let tensors = ["f": HostTensor(shape: [], floats: [3.25]), "d": HostTensor(shape: [], doubles: [-1e300]),
                       "i": HostTensor(shape: [], int32s: [-7])]
        let read = try Safetensors.read(data: try Safetensors.encode(tensors), path: "<memory>")
        XCTAssertEqual(read["f"]?.floats, [3.25])
        XCTAssertEqual(read["d"]?.doubles, [-1e300])
        XCTAssertEqual(read["i"]?.doubles, [-7])
        XCTAssertEqual(read["i"]?.shape, [])
    }

    func testLayoutSortedContiguousAndAligned() throws {
        let tensors = ["b": sample(.u8, [3], seed: 1), "a": sample(.f64, [2], seed: 2), "c": sample(.i16, [5], seed: 3)]
        let bytes = try Safetensors.encode(tensors, metadata: ["k": "v"])
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual((8 + n) % 8, 0, "data section must start 8-byte aligned")
        XCTAssertEqual(bytes.count, 8 + n + 16 + 3 + 10)
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        func offsets(_ name: String) -> [Int] { ((header[name] as! [String: Any])["data_offsets"] as! [Int]) }
        XCTAssertEqual(offsets("a"), [0, 16])
        XCTAssertEqual(offsets("b"), [16, 19])
        XCTAssertEqual(offsets("c"), [19, 29])
        XCTAssertEqual(Array(bytes[(8 + n)...]), tensors["a"]!.bytes + tensors["b"]!.bytes + tensors["c"]!.bytes)
        XCTAssertEqual(header["__metadata__"] as? [String: String], ["k": "v"])
    }

    func testLargeFileReadsQuickly() throws {
        // 64 MB: reading must be slicing/memcpy, not a per-byte Swift loop (built without
        // per-element Swift loops here too, so debug-build test time measures the reader).
        var bytes = [UInt8](repeating: 0x3f, count: 64 << 20)
        bytes[12345] = 1
        bytes[bytes.count - 1] = 2
        let tensor = HostTensor(storage: .f32, shape: [16 << 20], bytes: bytes)
        let file = path("large.safetensors")
        try Safetensors.write(["big": tensor, "small": HostTensor(shape: [1], floats: [1])], to: file)
        let start = Date()
        let read = try Safetensors.read(path: file)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 2, "reading 64 MB took \(elapsed) s")
        let big = try XCTUnwrap(read["big"])
        XCTAssertEqual(big.shape, [16 << 20])
        let same = big.bytes.withUnsafeBytes { a in bytes.withUnsafeBytes { b in a.count == b.count && memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
        XCTAssertTrue(same, "tensor bytes differ after the round trip")
    }

    // MARK: - Golden fixtures

    /// Every case of cases.json ships in Tests/SinterTests/Golden, and its file holds exactly the
    /// tensors cases.json lists, with those shapes, all f32.
    func testEveryGoldenFileMatchesCasesJSON() throws {
        let cases = try GoldenData.cases()
        XCTAssertEqual(cases.count, 64)
        XCTAssertEqual(cases.filter { $0.kind == "op" }.count, 55)
        var checked = 0
        for c in cases {
            let (tensors, metadata) = try Safetensors.readWithMetadata(path: c.fileURL.path)
            XCTAssertEqual(metadata["case"], c.name)
            XCTAssertEqual(Set(tensors.keys), Set(c.tensors.map(\.name)), c.name)
            for info in c.tensors {
                XCTAssertEqual(tensors[info.name]?.shape, info.shape, "\(c.name): \(info.name)")
                XCTAssertEqual(tensors[info.name]?.storage, .f32, "\(c.name): \(info.name)")
                if info.isExpected {
                    XCTAssertNotNil(info.ref64MaxAbsDiff, "\(c.name): \(info.name)")
                    XCTAssertNotNil(info.ref64MaxAbs, "\(c.name): \(info.name)")
                }
            }
            checked += 1
        }
        XCTAssertEqual(checked, cases.count)
        // Nothing in the folder that cases.json does not list (besides its index and README).
        let listed = Set(cases.map(\.file)).union(["cases.json", "README.md"])
        let present = try FileManager.default.contentsOfDirectory(atPath: GoldenData.directory.path)
        XCTAssertEqual(Set(present).subtracting(listed), [], "files in Tests/SinterTests/Golden that cases.json does not list")
    }

    func testGoldenHelpers() throws {
        let c = try GoldenData.case(named: "op-conv2d-k3-s2-same-7x7")
        XCTAssertEqual(c.op, "conv2d")
        XCTAssertEqual(c.attrString("padding"), "SAME")
        XCTAssertEqual(c.attrInts("strides"), [2, 2])
        XCTAssertEqual(c.tensor("grad.kernel")?.wrt, "kernel")
        XCTAssertEqual(c.tensor("dy")?.of, "y")
        let tensors = try c.load()
        let y = try XCTUnwrap(tensors["y"]), info = try XCTUnwrap(c.tensor("y"))
        XCTAssertTrue(assertClose(y, y, info: info))
        // A perturbation within the tolerance passes; an expected-vs-other-tensor mismatch fails.
        let tol = goldenTolerance(info)
        let nudged = HostTensor(shape: y.shape, floats: y.floats.map { $0 + Float(tol / 4) })
        XCTAssertTrue(assertClose(nudged, y, info: info))
        var off = y.floats
        off[7] += 1
        let message = try XCTUnwrap(closeMismatch(HostTensor(shape: y.shape, floats: off), y, tolerance: tol, name: "y"))
        XCTAssertTrue(message.contains("at index [0,0,1,3]"), message) // y is [2,4,4,4]
        XCTAssertTrue(message.contains("1 of 128 elements"), message)
        XCTAssertNotNil(closeMismatch(HostTensor(shape: [1], floats: [1]), y, tolerance: 1, name: "y"))
    }

    /// A case whose file is missing fails naming the file (it used to be skipped), and a filter
    /// that finds no case fails instead of passing over nothing.
    func testMissingGoldenFileOrEmptySelectionFails() throws {
        var goldenCase = try GoldenData.case(named: "op-abs-2x3x3x4")
        goldenCase.file = "op-not-shipped.safetensors"
        XCTAssertThrowsError(try goldenCase.load()) { error in
            guard case let SinterError.file(path, message)? = error as? SinterError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("Tests/SinterTests/Golden/op-not-shipped.safetensors"), path)
            XCTAssertTrue(message.contains("op-abs-2x3x3x4") && message.contains("missing"), message)
        }
        XCTAssertThrowsError(try GoldenData.cases(kind: "op", op: "no-such-op")) { error in
            XCTAssertTrue("\(error)".contains("no golden case of kind op and op no-such-op"), "\(error)")
        }
        XCTAssertThrowsError(try Fixtures.file("Tests/SinterTests/Data/none.png")) { error in
            XCTAssertTrue("\(error)".contains("test fixture missing"), "\(error)")
        }
    }

    // MARK: - Malformed files

    /// A file of a length prefix, a header and `dataSize` data bytes.
    func file(header: String, dataSize: Int = 0, length: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + h + [UInt8](repeating: 7, count: dataSize)
    }

    /// Writes `bytes` to a temp file, reads it, and checks the error names the file and contains
    /// every fragment.
    func assertReadFails(_ bytes: [UInt8], _ fragments: [String], line: UInt = #line) {
        let file = path("bad-\(line).safetensors")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(bytes)))
        do {
            let tensors = try Safetensors.read(path: file)
            XCTFail("expected an error, read \(tensors.keys.sorted())", line: line)
        } catch let SinterError.file(errorPath, message) {
            XCTAssertEqual(errorPath, file, line: line)
            let text = "\(SinterError.file(path: errorPath, message: message))"
            XCTAssertTrue(text.contains(file), line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", line: line)
            }
        } catch {
            XCTFail("unexpected error \(error)", line: line)
        }
    }

    func testTruncatedFile() {
        assertReadFails([1, 2, 3], ["too short", "3 bytes", "at least 8"])
        assertReadFails([], ["too short", "0 bytes"])
    }

    func testHeaderLengthBeyondFile() {
        assertReadFails(file(header: "{}", length: 1000), ["header length 1000", "exceeds the file size", "10 bytes"])
        assertReadFails(file(header: "{}", length: UInt64.max), ["header length 18446744073709551615"])
    }

    func testHeaderNotJSON() {
        assertReadFails(file(header: "{\"a\": [1, 2"), ["not valid JSON", "{\"a\": [1, 2"])
        assertReadFails(file(header: "[1, 2]"), ["not a JSON object", "a list"])
        assertReadFails(file(header: "{\"__metadata__\": [1]}"), ["__metadata__", "object of strings"])
    }

    func testUnknownDtype() {
        assertReadFails(file(header: #"{"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}"#, dataSize: 4),
                        ["tensor 'w'", "unknown dtype 'F16'", "F32"])
    }

    func testBadShape() {
        for shape in ["[2, -1]", "[1.5]", "3", "[true]", "[\"2\"]"] {
            assertReadFails(file(header: #"{"w": {"dtype": "U8", "shape": \#(shape), "data_offsets": [0, 2]}}"#, dataSize: 2),
                            ["tensor 'w'", "shape must be a list of non-negative integers"])
        }
    }

    func testBadOffsets() {
        assertReadFails(file(header: #"{"w": {"dtype": "U8", "shape": [2], "data_offsets": [0]}}"#, dataSize: 2),
                        ["tensor 'w'", "data_offsets must be a pair", "[0]"])
        assertReadFails(file(header: #"{"w": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}}"#, dataSize: 16),
                        ["tensor 'w'", "[0, 400]", "out of range", "data section is 16 bytes"])
        assertReadFails(file(header: #"{"w": {"dtype": "U8", "shape": [0], "data_offsets": [5, 4]}}"#, dataSize: 16),
                        ["tensor 'w'", "[5, 4]", "out of range"])
        let overlap = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
        assertReadFails(file(header: overlap, dataSize: 12),
                        ["'a' data_offsets [0, 8]", "'b' data_offsets [4, 12]", "overlap", "data section is 12 bytes"])
    }

    func testWrongByteCount() {
        assertReadFails(file(header: #"{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}"#, dataSize: 24),
                        ["tensor 'w'", "shape [2,3]", "dtype F32", "needs 24 bytes", "hold 20"])
    }

    func testMissingFile() {
        XCTAssertThrowsError(try Safetensors.read(path: path("nope.safetensors"))) { error in
            XCTAssertEqual(error as? SinterError, .file(path: path("nope.safetensors"), message: "no such file"))
        }
    }

    // MARK: - Atomic write

    func testWriteGoesThroughCompleteTempFileThenRenames() throws {
        let file = path("model.safetensors")
        let old = ["old": HostTensor(shape: [1], floats: [1])]
        let new = ["new": HostTensor(shape: [3], floats: [1, 2, 3])]
        try Safetensors.write(old, to: file)
        let encoded = try Safetensors.encode(new)
        var tempSeen: String?
        try AtomicFile.write(encoded, to: file) { temp in
            tempSeen = temp
            // Before the rename: the temp file is complete, next to the target; the target is old.
            XCTAssertEqual(URL(fileURLWithPath: temp).deletingLastPathComponent().path, self.tempDir.path)
            XCTAssertEqual(try Safetensors.read(path: temp), new)
            XCTAssertEqual(try Safetensors.read(path: file), old)
        }
        XCTAssertEqual(try Safetensors.read(path: file), new)
        XCTAssertFalse(FileManager.default.fileExists(atPath: try XCTUnwrap(tempSeen)))
    }

    func testFailedWriteLeavesOldFileAndNoTemp() throws {
        let file = path("model.safetensors")
        let old = ["old": HostTensor(shape: [1], floats: [1])]
        try Safetensors.write(old, to: file)
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.write(try Safetensors.encode(["x": HostTensor(shape: [1], floats: [9])]), to: file) { _ in throw Boom() })
        XCTAssertEqual(try Safetensors.read(path: file), old)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tempDir.path), ["model.safetensors"])

        // A real failure: the target is a directory, so the final rename fails.
        let dir = path("adir")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        XCTAssertThrowsError(try Safetensors.write(old, to: dir)) { error in
            XCTAssertTrue("\(error)".contains(dir), "\(error)")
        }
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: tempDir.path)), ["model.safetensors", "adir"])

        XCTAssertThrowsError(try Safetensors.write(old, to: path("no/such/dir/x.safetensors"))) { error in
            XCTAssertTrue("\(error)".contains("no/such/dir/x.safetensors"), "\(error)")
        }
        XCTAssertThrowsError(try Safetensors.write(["__metadata__": HostTensor(shape: [1], floats: [1])], to: file)) { error in
            XCTAssertTrue("\(error)".contains("reserved"), "\(error)")
        }
        XCTAssertEqual(try Safetensors.read(path: file), old)
    }
}

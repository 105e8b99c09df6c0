import Sinter
import XCTest

/// The restricted unpickler (SinterTorch/Unpickler.swift): what it builds, and that it refuses
/// every global outside torch's tensor rebuild and storage types (no code from a file runs).
final class RestrictedUnpicklerTests: XCTestCase {
    func load(_ bytes: [UInt8]) throws -> PickleValue {
        var offset = 0
        return try Unpickler.load(bytes, offset: &offset, path: "evil.pkl")
    }

    func assertRefused(_ bytes: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TorchCheckpoint.unpickle(bytes, path: "evil.pkl"), file: file, line: line) { error in
            guard case let .file(path, message)? = error as? SinterError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(path, "evil.pkl", file: file, line: line)
            XCTAssertTrue(message.contains(expected), "message: \(message)", file: file, line: line)
        }
    }

    /// `module.name(argument)` the way a malicious pickle calls it.
    func call(_ module: String, _ name: String, stackGlobal: Bool = false) -> [UInt8] {
        var w = PickleWriter()
        w.proto(2)
        if stackGlobal { w.string(module); w.string(name); w.op(0x93) } else { w.global(module, name) }
        w.string("echo pwned > /tmp/sinter-pwned"); w.op(0x85); w.reduce(); w.stop()
        return w.bytes
    }

    func testCodeExecutingGlobalsAreRefusedByName() {
        for (module, name) in [("os", "system"), ("builtins", "eval"), ("posix", "system"), ("subprocess", "Popen"), ("torch", "load"), ("torch._utils", "_rebuild_device_tensor_from_numpy")] {
            assertRefused(call(module, name), "pickle at byte 2: refuses the global '\(module).\(name)'")
        }
        assertRefused(call("builtins", "exec", stackGlobal: true), "refuses the global 'builtins.exec'")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/sinter-pwned"))
    }

    func testOnlyAllowedGlobalsCanBeCalled() {
        var w = PickleWriter()
        w.proto(2); w.global("torch", "FloatStorage"); w.emptyTuple(); w.reduce(); w.stop()
        assertRefused(w.bytes, "torch.FloatStorage is a storage type; it can only appear in a persistent id")
        var s = PickleWriter()
        s.proto(2); s.string("len"); s.emptyTuple(); s.reduce(); s.stop()
        assertRefused(s.bytes, "REDUCE of a str with tuple arguments: only the allowed torch globals can be called")
    }

    func testPlainDataFromPythonProtocol4() throws {
        // Written by Python's pickle (Data/torch/make_fixtures.py).
        let bytes = try InputFile.read(try Fixtures.file("Tests/SinterTests/Data/torch/plain-protocol4.pkl").path, expected: "a pickle")
        guard case let .dict(top) = try load(bytes) else { return XCTFail("not a dict") }
        func value(_ key: String) -> PickleValue? { top.entries.first { $0.key.stringValue == key }?.value }
        guard case let .list(ints)? = value("ints") else { return XCTFail("ints") }
        XCTAssertEqual(ints.items.prefix(5).map(\.intValue), [0, 255, 65535, -1, 1 << 40])
        guard case let .bigInt(digits) = ints.items[5] else { return XCTFail("-2**70 should be a big int") }
        XCTAssertEqual(digits, [0, 0, 0, 0, 0, 0, 0, 0, 0xc0])
        guard case let .float(f)? = value("f"), case let .bytes(b)? = value("b"), case let .tuple(t)? = value("t"),
              case let .dict(od)? = value("od") else { return XCTFail("types") }
        XCTAssertEqual(f, 0.25)
        XCTAssertEqual(b, [0, 1])
        XCTAssertEqual(value("s")?.stringValue, "h\u{e9}")
        XCTAssertEqual(t.map(\.kind), ["None", "bool", "bool"])
        XCTAssertEqual(od.entries.first?.key.stringValue, "a")
    }

    func testMalformedPicklesAreErrors() {
        assertRefused([0x80, 0x02, 0x68, 0x05, 0x2e], "GET of memo entry 5, which was never stored")
        assertRefused([0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x41], "truncated: BINUNICODE declares 2147483647 bytes, 1 left")
        assertRefused([0x80, 0x02, 0x4e], "truncated: opcode needs 1 bytes, 0 left")
        assertRefused([0x80, 0x02, 0x2e], "STOP needs a value, but the stack is empty")
        assertRefused([0x80, 0x02, 0x74, 0x2e], "TUPLE without a MARK")
        assertRefused([0x80, 0x02, 0x4e, 0x61, 0x2e], "APPEND needs a value, but the stack is empty")
        assertRefused([0x80, 0x02, 0x4e, 0x4e, 0x61, 0x2e], "APPEND onto a None, not a list")
        assertRefused([0x80, 0x02, 0x81, 0x2e], "unsupported pickle opcode 0x81")
        assertRefused([0x80, 0x02, 0x4e, 0x51, 0x2e], "persistent id: expected ('storage', type, key, location, numel), found a None")
        assertRefused([0x80, 0x02] + [UInt8](repeating: 0x28, count: 1001) + [0x2e], "MARKs nested more than 1000 deep")
        assertRefused([0x80, 0x02, 0x63] + Array("os".utf8) + [0x2e], "GLOBAL module is not a newline-terminated line")
    }

    func testDeepNestingIsBoundedWhenReadAsAStateDict() {
        // 100 nested one-element lists: within the MARK bound, beyond the state-dict depth bound.
        var w = PickleWriter()
        w.proto(2)
        for _ in 0..<100 { w.emptyList(); w.mark() }
        w.none()
        for _ in 0..<100 { w.appends() }
        w.stop()
        assertRefused(w.bytes, "object nested more than 64 levels deep")
    }

    func testSharedSubobjectsCannotBlowUpTheWalk() {
        // L0 = [None]; Lk = [Lk-1, Lk-1] through the memo: 60 levels, 2^60 paths, 500 bytes.
        var w = PickleWriter()
        w.proto(2)
        w.emptyList(); w.none(); w.op(0x61); w.put(0)
        for k in 1...60 { w.op(0x30); w.emptyList(); w.mark(); w.get(k - 1); w.get(k - 1); w.appends(); w.put(k) }
        w.stop()
        assertRefused(w.bytes, "more than 262144 values (shared sub-objects count each time)")
    }

    func testTensorArgumentsAreChecked() {
        var w = PickleWriter()
        w.proto(2); w.global("torch._utils", "_rebuild_tensor_v2")
        w.mark(); w.mark(); w.string("storage"); w.global("torch", "FloatStorage"); w.string("0"); w.string("cpu"); w.int(4); w.tuple(); w.persistentID()
        w.int(0); w.mark(); w.int(2); w.int(2); w.tuple(); w.mark(); w.int(2); w.tuple(); w.bool(false); w.none(); w.tuple(); w.reduce(); w.stop()
        assertRefused(w.bytes, "size has 2 dimensions but stride has 1")
    }
}

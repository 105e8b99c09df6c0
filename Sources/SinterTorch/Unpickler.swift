import Foundation
import SinterIR

/// A restricted pickle reader: it implements the opcodes that `torch.save` (protocols 2-4) and
/// plain data pickles use, builds only the values of `PickleValue`, and refuses every global
/// outside `PickleGlobal` the moment the file names it, so no code from a file ever runs (there is
/// nothing to run: a "call" is REDUCE on one of four known tags, checked argument by argument).
/// Lengths are checked against the bytes left before anything is allocated, memo indexes are
/// checked, and the stack, the memo and MARK nesting are bounded.
public struct Unpickler {
    /// Turns a persistent id (BINPERSID) into a value; torch uses it for storages.
    public typealias PersistentLoad = (PickleValue) throws -> PickleValue

    public static let maxMarkDepth = 1000
    public static let maxStack = 1 << 22
    public static let maxMemo = 1 << 22

    let bytes: [UInt8]
    let path: String
    var offset: Int
    let persistentLoad: PersistentLoad?
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]

    /// Reads one pickle starting at `offset` and moves `offset` past its STOP opcode.
    public static func load(_ bytes: [UInt8], offset: inout Int, path: String,
                            persistentLoad: PersistentLoad? = nil) throws -> PickleValue {
        var reader = Unpickler(bytes: bytes, path: path, offset: offset, persistentLoad: persistentLoad)
        let value = try reader.run()
        offset = reader.offset
        return value
    }

    func fail(_ message: String, at position: Int? = nil) -> SinterError {
        .file(path: path, message: "pickle at byte \(position ?? offset): \(message)")
    }

    mutating func take(_ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw fail("truncated: \(what) needs \(count) bytes, \(max(0, bytes.count - offset)) left")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func uint(_ size: Int, _ what: String) throws -> UInt64 {
        try take(size, what).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A length field; it must fit in the bytes that are left.
    mutating func length(_ size: Int, _ what: String) throws -> Int {
        let value = try uint(size, "\(what) length")
        guard value <= UInt64(bytes.count - offset) else {
            throw fail("truncated: \(what) declares \(value) bytes, \(bytes.count - offset) left")
        }
        return Int(value)
    }

    mutating func line(_ what: String) throws -> String {
        guard let end = bytes[offset...].firstIndex(of: 0x0a), end - offset <= 1024 else {
            throw fail("\(what) is not a newline-terminated line of at most 1024 bytes")
        }
        defer { offset = end + 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    mutating func push(_ value: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw fail("more than \(Self.maxStack) values on the stack") }
        stack.append(value)
    }

    mutating func pop(_ what: String) throws -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (marks.last ?? 0) else {
            throw fail("\(what) needs a value, but the stack is empty")
        }
        return value
    }

    /// The values above the topmost MARK, which is removed.
    mutating func popMark(_ what: String) throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("\(what) without a MARK") }
        guard mark <= stack.count else { throw fail("\(what): MARK above the stack") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    mutating func top(_ what: String) throws -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else { throw fail("\(what) needs a value, but the stack is empty") }
        return value
    }

    mutating func store(_ index: Int) throws {
        guard memo.count < Self.maxMemo || memo[index] != nil else { throw fail("more than \(Self.maxMemo) memo entries") }
        memo[index] = try top("PUT")
    }

    mutating func fetch(_ index: Int) throws {
        guard let value = memo[index] else { throw fail("GET of memo entry \(index), which was never stored") }
        try push(value)
    }

    mutating func run() throws -> PickleValue {
        while true {
            let position = offset
            let opcode = try take(1, "opcode").first!
            switch opcode {
            case 0x80: _ = try take(1, "PROTO")                         // PROTO n
            case 0x95: _ = try take(8, "FRAME")                         // FRAME: a hint only
            case 0x2e: return try pop("STOP")                           // STOP
            case 0x28:                                                  // MARK
                guard marks.count < Self.maxMarkDepth else { throw fail("MARKs nested more than \(Self.maxMarkDepth) deep") }
                marks.append(stack.count)
            case 0x30: _ = try pop("POP")
            case 0x31: _ = try popMark("POP_MARK")
            case 0x32: try push(try top("DUP"))
            case 0x4e: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4a: try push(.int(Int(Int32(truncatingIfNeeded: try uint(4, "BININT")))))
            case 0x4b: try push(.int(Int(try uint(1, "BININT1"))))
            case 0x4d: try push(.int(Int(try uint(2, "BININT2"))))
            case 0x8a: try push(Self.integer(Array(try take(try length(1, "LONG1"), "LONG1"))))
            case 0x8b: try push(Self.integer(Array(try take(try length(4, "LONG4"), "LONG4"))))
            case 0x47: try push(.float(Double(bitPattern: try take(8, "BINFLOAT").reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x58: try push(.string(String(decoding: try take(try length(4, "BINUNICODE"), "BINUNICODE"), as: UTF8.self)))
            case 0x8c: try push(.string(String(decoding: try take(try length(1, "SHORT_BINUNICODE"), "SHORT_BINUNICODE"), as: UTF8.self)))
            case 0x8d: try push(.string(String(decoding: try take(try length(8, "BINUNICODE8"), "BINUNICODE8"), as: UTF8.self)))
            case 0x55: try push(.string(String(decoding: try take(try length(1, "SHORT_BINSTRING"), "SHORT_BINSTRING"), as: UTF8.self)))
            case 0x54: try push(.string(String(decoding: try take(try length(4, "BINSTRING"), "BINSTRING"), as: UTF8.self)))
            case 0x43: try push(.bytes(Array(try take(try length(1, "SHORT_BINBYTES"), "SHORT_BINBYTES"))))
            case 0x42: try push(.bytes(Array(try take(try length(4, "BINBYTES"), "BINBYTES"))))
            case 0x8e: try push(.bytes(Array(try take(try length(8, "BINBYTES8"), "BINBYTES8"))))
            case 0x7d: try push(.dict(PickleDict()))
            case 0x5d: try push(.list(PickleList()))
            case 0x29: try push(.tuple([]))
            case 0x74: try push(.tuple(try popMark("TUPLE")))
            case 0x85: try push(.tuple([try pop("TUPLE1")]))
            case 0x86: let b = try pop("TUPLE2"), a = try pop("TUPLE2"); try push(.tuple([a, b]))
            case 0x87: let c = try pop("TUPLE3"), b = try pop("TUPLE3"), a = try pop("TUPLE3"); try push(.tuple([a, b, c]))
            case 0x6c: try push(.list(PickleList(try popMark("LIST"))))
            case 0x64: try push(.dict(PickleDict(try pairs(try popMark("DICT"), "DICT"))))
            case 0x61: let item = try pop("APPEND"); try list("APPEND").items.append(item)
            case 0x65: let items = try popMark("APPENDS"); try list("APPENDS").items += items
            case 0x73: let v = try pop("SETITEM"), k = try pop("SETITEM"); try dict("SETITEM").entries.append((k, v))
            case 0x75: let items = try pairs(try popMark("SETITEMS"), "SETITEMS"); try dict("SETITEMS").entries += items
            case 0x71: try store(Int(try uint(1, "BINPUT")))
            case 0x72: try store(Int(try uint(4, "LONG_BINPUT")))
            case 0x94: try store(memo.count)                            // MEMOIZE
            case 0x68: try fetch(Int(try uint(1, "BINGET")))
            case 0x6a: try fetch(Int(try uint(4, "LONG_BINGET")))
            case 0x63:                                                  // GLOBAL "module\nname\n"
                let module = try line("GLOBAL module"), name = try line("GLOBAL name")
                try push(.global(try resolve(module, name, at: position)))
            case 0x93:                                                  // STACK_GLOBAL
                let name = try pop("STACK_GLOBAL"), module = try pop("STACK_GLOBAL")
                guard let m = module.stringValue, let n = name.stringValue else { throw fail("STACK_GLOBAL needs two strings", at: position) }
                try push(.global(try resolve(m, n, at: position)))
            case 0x52:                                                  // REDUCE
                let arguments = try pop("REDUCE"), callable = try pop("REDUCE")
                guard case let .global(global) = callable, case let .tuple(args) = arguments else {
                    throw fail("REDUCE of a \(callable.kind) with \(arguments.kind) arguments: only the allowed torch globals can be called", at: position)
                }
                try push(try TorchRebuild.call(global, args, fail: { fail($0, at: position) }))
            case 0x51:                                                  // BINPERSID
                let id = try pop("BINPERSID")
                guard let persistentLoad else { throw fail("persistent id in a pickle that has no storages", at: position) }
                try push(try persistentLoad(id))
            case 0x62:                                                  // BUILD
                let state = try pop("BUILD"), object = try top("BUILD")
                // torch's state dict is an OrderedDict with a `_metadata` attribute (versions
                // per module): set by BUILD with a dict, and not needed here.
                guard case .dict = object, case .dict = state else {
                    throw fail("BUILD of a \(object.kind) with a \(state.kind) state: only dict attributes are accepted", at: position)
                }
            default:
                throw fail(String(format: "unsupported pickle opcode 0x%02x (the restricted reader implements only the opcodes of torch.save and plain data)", opcode), at: position)
            }
        }
    }

    func resolve(_ module: String, _ name: String, at position: Int) throws -> PickleGlobal {
        guard let global = PickleGlobal(module: module, name: name) else {
            throw fail("refuses the global '\(module).\(name)': only tensors (torch._utils._rebuild_tensor_v2, torch.*Storage), collections.OrderedDict, dicts, lists, tuples, numbers and strings are built; no code from the file is run", at: position)
        }
        return global
    }

    mutating func list(_ what: String) throws -> PickleList {
        guard case let .list(list) = try top(what) else { throw fail("\(what) onto a \(try top(what).kind), not a list") }
        return list
    }

    mutating func dict(_ what: String) throws -> PickleDict {
        guard case let .dict(dict) = try top(what) else { throw fail("\(what) onto a \(try top(what).kind), not a dict") }
        return dict
    }

    func pairs(_ items: [PickleValue], _ what: String) throws -> [(key: PickleValue, value: PickleValue)] {
        guard items.count % 2 == 0 else { throw fail("\(what) with an odd number (\(items.count)) of keys and values") }
        return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    /// LONG1/LONG4: little-endian two's complement of any length.
    static func integer(_ digits: [UInt8]) -> PickleValue {
        if digits.isEmpty { return .int(0) }
        guard digits.count <= 8 else { return .bigInt(digits) }
        var value = UInt64(0)
        for (i, byte) in digits.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        if digits.count < 8, digits.last! & 0x80 != 0 { value |= ~UInt64(0) << (8 * UInt64(digits.count)) }
        return .int(Int(Int64(bitPattern: value)))
    }
}

import SinterIR

/// A bounds-checked reader of the protobuf wire format, enough for the ONNX messages Sinter reads.
///
/// Every length read from the input is checked against the bytes that remain before anything is
/// sliced or allocated, so a hostile file can at most make the reader copy bytes it really has.
/// Nesting depth is capped, so a deeply nested message cannot exhaust the stack. Errors are
/// `SinterError.file` naming the file and the message being read.
struct ProtobufReader {
    enum WireType: Int {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    /// How deeply messages may nest (ModelProto > GraphProto > NodeProto > AttributeProto >
    /// TensorProto is 5; subgraphs are not descended into).
    static let maxDepth = 16

    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int
    let path: String
    let message: String
    let depth: Int

    init(bytes: [UInt8], path: String, message: String) {
        self.init(bytes: bytes, range: 0..<bytes.count, path: path, message: message, depth: 0)
    }

    private init(bytes: [UInt8], range: Range<Int>, path: String, message: String, depth: Int) {
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
        self.path = path
        self.message = message
        self.depth = depth
    }

    var isAtEnd: Bool { position >= end }

    func error(_ text: String) -> SinterError {
        .file(path: path, message: "malformed ONNX protobuf in \(message) at byte \(position): \(text)")
    }

    /// The next field's number and wire type, or nil at the end of this message.
    mutating func nextField() throws -> (number: Int, wire: WireType)? {
        guard !isAtEnd else { return nil }
        let tag = try varint()
        let number = Int(truncatingIfNeeded: tag >> 3)
        guard number > 0, tag >> 3 <= UInt64(Int32.max) else { throw error("field number \(tag >> 3) is out of range") }
        guard let wire = WireType(rawValue: Int(tag & 7)) else {
            throw error("field \(number) has wire type \(tag & 7), which ONNX never uses (groups are not supported)")
        }
        return (number, wire)
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("varint runs past the end") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw error("varint is longer than 10 bytes") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    mutating func int64() throws -> Int64 { Int64(bitPattern: try varint()) }

    /// An int32 field (enums, data types): protobuf writes negative int32 values as 10-byte varints.
    mutating func int32() throws -> Int32 { Int32(truncatingIfNeeded: try varint()) }

    /// A little-endian fixed-width field of `count` bytes (4 or 8).
    private mutating func fixed(_ count: Int) throws -> UInt64 {
        guard end - position >= count else { throw error("fixed\(count * 8) runs past the end") }
        var value: UInt64 = 0
        for i in 0..<count { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += count
        return value
    }

    mutating func fixed32() throws -> UInt32 { UInt32(try fixed(4)) }
    mutating func fixed64() throws -> UInt64 { try fixed(8) }

    mutating func float() throws -> Float { Float(bitPattern: try fixed32()) }
    mutating func double() throws -> Double { Double(bitPattern: try fixed64()) }

    /// The range of a length-delimited field's payload, checked against what remains.
    mutating func lengthDelimited() throws -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - position) else {
            throw error("a field claims \(length) bytes but only \(end - position) remain")
        }
        let start = position
        position += Int(length)
        return start..<position
    }

    mutating func bytesField() throws -> [UInt8] { Array(bytes[try lengthDelimited()]) }

    mutating func string() throws -> String {
        let range = try lengthDelimited()
        return String(decoding: bytes[range], as: UTF8.self)
    }

    /// A reader over an embedded message's payload.
    mutating func submessage(_ name: String) throws -> ProtobufReader {
        guard depth + 1 <= Self.maxDepth else { throw error("messages nest more than \(Self.maxDepth) deep") }
        let range = try lengthDelimited()
        return ProtobufReader(bytes: bytes, range: range, path: path, message: name, depth: depth + 1)
    }

    /// Skips a field this reader does not use.
    mutating func skip(_ wire: WireType) throws {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        }
    }

    /// One or more values of a repeated scalar field, packed (length-delimited) or not.
    mutating func repeated<T>(_ wire: WireType, scalar: WireType, into values: inout [T],
                              read: (inout ProtobufReader) throws -> T) throws {
        if wire == .lengthDelimited {
            let range = try lengthDelimited()
            var packed = ProtobufReader(bytes: bytes, range: range, path: path, message: message, depth: depth)
            while !packed.isAtEnd { values.append(try read(&packed)) }
        } else {
            guard wire == scalar else { throw error("repeated field has wire type \(wire.rawValue), expected \(scalar.rawValue)") }
            values.append(try read(&self))
        }
    }

    /// Checks that a singular field has the wire type its schema says.
    func expect(_ wire: WireType, _ expected: WireType, field: String) throws {
        guard wire == expected else {
            throw error("field \(field) has wire type \(wire.rawValue), expected \(expected.rawValue)")
        }
    }
}

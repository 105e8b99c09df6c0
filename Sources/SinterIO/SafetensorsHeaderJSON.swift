import SinterIR

/// The JSON of a safetensors header, parsed by a small strict parser instead of Foundation's:
/// it refuses duplicate keys (which JSONSerialization silently merges), keeps integers exact
/// (a number that is not an integer in Int range stays `.number` text), bounds nesting depth
/// (no stack overflow from "[[[[..."), and reports the byte offset of the first problem.
enum HeaderJSON {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    case integer(Int)
    /// Any other number (fraction, exponent, beyond Int), as written.
    case number(String)
    case bool(Bool)
    case null

    var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "a list"
        case .string: return "a string"
        case .integer, .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }

    /// Compact text for error messages (already cut to a readable length).
    var excerpt: String {
        switch self {
        case let .object(entries): return SinterError.excerpt("{" + entries.map { "\"\($0.key)\":\($0.value.excerpt)" }.joined(separator: ",") + "}")
        case let .array(items): return SinterError.excerpt("[" + items.map(\.excerpt).joined(separator: ",") + "]")
        case let .string(s): return "\"" + SinterError.excerpt(s) + "\""
        case let .integer(i): return String(i)
        case let .number(text): return SinterError.excerpt(text)
        case let .bool(b): return String(b)
        case .null: return "null"
        }
    }

    struct SyntaxError: Error {
        var offset: Int
        var message: String
    }

    static let maxDepth = 64

    /// Parses one JSON value filling `bytes` (surrounding whitespace allowed: safetensors pads
    /// the header with spaces).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> HeaderJSON {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else {
            throw SyntaxError(offset: parser.position, message: "unexpected text after the JSON value")
        }
        return value
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let c = current, c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 { position += 1 }
        }

        func error(_ message: String) -> SyntaxError { SyntaxError(offset: position, message: message) }

        mutating func expect(_ literal: String) throws {
            for c in literal.utf8 {
                guard current == c else { throw error("expected '\(literal)'") }
                position += 1
            }
        }

        mutating func value(depth: Int) throws -> HeaderJSON {
            guard depth < HeaderJSON.maxDepth else { throw error("nested more than \(HeaderJSON.maxDepth) levels deep") }
            guard let c = current else { throw error("unexpected end of header") }
            switch c {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character '\(SinterError.excerpt([c]))'")
            }
        }

        mutating func object(depth: Int) throws -> HeaderJSON {
            position += 1
            var entries: [(key: String, value: HeaderJSON)] = []
            var seen = Set<String>()
            skipWhitespace()
            if current == UInt8(ascii: "}") { position += 1; return .object(entries) }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let keyOffset = position
                let key = try string()
                guard seen.insert(key).inserted else {
                    throw SyntaxError(offset: keyOffset, message: "duplicate key \"\(SinterError.excerpt(key))\"")
                }
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                entries.append((key, try value(depth: depth + 1)))
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                if current == UInt8(ascii: "}") { position += 1; return .object(entries) }
                throw error("expected ',' or '}' in an object")
            }
        }

        mutating func array(depth: Int) throws -> HeaderJSON {
            position += 1
            var items: [HeaderJSON] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                if current == UInt8(ascii: "]") { position += 1; return .array(items) }
                throw error("expected ',' or ']' in a list")
            }
        }

        mutating func string() throws -> String {
            position += 1
            var out: [UInt8] = []
            while true {
                guard let c = current else { throw error("unterminated string") }
                position += 1
                switch c {
                case UInt8(ascii: "\""):
                    guard let s = String(validating: out, as: UTF8.self) else {
                        throw error("string is not valid UTF-8")
                    }
                    return s
                case UInt8(ascii: "\\"):
                    guard let e = current else { throw error("unterminated string") }
                    position += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xd800..<0xdc00).contains(scalar) {
                            try expect("\\u")
                            let low = try hex4()
                            guard (0xdc00..<0xe000).contains(low) else { throw error("invalid UTF-16 surrogate pair") }
                            scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default: throw error("invalid escape '\\\(SinterError.excerpt([e]))'")
                    }
                case 0x00..<0x20: throw error("control character in a string")
                default: out.append(c)
                }
            }
        }

        mutating func hex4() throws -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let c = current, let d = hexDigit(c) else { throw error("invalid \\u escape") }
                v = v << 4 | d
                position += 1
            }
            return v
        }

        func hexDigit(_ c: UInt8) -> UInt32? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }

        mutating func number() throws -> HeaderJSON {
            let start = position
            if current == UInt8(ascii: "-") { position += 1 }
            let digitsStart = position
            while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { position += 1 }
            guard position > digitsStart else { throw error("invalid number") }
            guard bytes[digitsStart] != UInt8(ascii: "0") || position - digitsStart == 1 else {
                throw SyntaxError(offset: digitsStart, message: "number with a leading zero")
            }
            var isInteger = true
            if current == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                let fraction = position
                while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { position += 1 }
                guard position > fraction else { throw error("invalid number") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                let exponent = position
                while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { position += 1 }
                guard position > exponent else { throw error("invalid number") }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            if isInteger, let value = Int(text) { return .integer(value) }
            return .number(text)
        }
    }
}

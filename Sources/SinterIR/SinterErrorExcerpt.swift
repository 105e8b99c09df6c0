extension SinterError {
    /// File content quoted in an error message: at most `limit` characters, control and
    /// non-UTF-8 bytes escaped (\n, \x1b, ...), "..." when cut, so a message never prints a
    /// 100 KB line or raw binary on the terminal. Every parser that echoes content uses this.
    public static func excerpt<Bytes: Sequence>(_ bytes: Bytes, limit: Int = 80) -> String where Bytes.Element == UInt8 {
        var out = ""
        var emitted = 0
        // Decode lazily so a huge input costs only what is shown.
        var iterator = bytes.makeIterator()
        var pending: [UInt8] = []
        func nextByte() -> UInt8? { pending.isEmpty ? iterator.next() : pending.removeFirst() }
        while emitted < limit, let byte = nextByte() {
            if byte >= 0x20 && byte < 0x7f {
                out.unicodeScalars.append(Unicode.Scalar(byte))
                if byte == UInt8(ascii: "\\") { out += "\\" }
            } else if byte >= 0xc2 && byte <= 0xf4 {
                // A multi-byte UTF-8 sequence prints as its character when it is valid.
                let length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2
                var sequence = [byte]
                while sequence.count < length, let b = nextByte() {
                    guard b & 0xc0 == 0x80 else { pending.append(b); break }
                    sequence.append(b)
                }
                if sequence.count == length, let s = String(validating: sequence, as: UTF8.self),
                   s.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control && $0.properties.generalCategory != .format }) {
                    out += s
                } else {
                    for b in sequence { out += hexEscape(b) }
                }
            } else {
                switch byte {
                case 0x0a: out += "\\n"
                case 0x0d: out += "\\r"
                case 0x09: out += "\\t"
                default: out += hexEscape(byte)
                }
            }
            emitted += 1
        }
        if nextByte() != nil { out += "..." }
        return out
    }

    /// Same, for a string (a tensor name, a dtype, a line of IR text).
    public static func excerpt(_ text: String, limit: Int = 80) -> String {
        excerpt(text.utf8, limit: limit)
    }

    private static func hexEscape(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }
}

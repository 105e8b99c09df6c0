import SinterIR

/// The one door through which text from outside reaches the generated C.
///
/// Graph names, tensor and output names, attribute strings and source locations come from IR
/// files, safetensors headers and user code, so they are hostile until proven otherwise: an
/// output called `*/ int x = system("rm -rf ~"); /*` must not end a comment and run when the
/// library loads. The rules:
///
/// - C identifiers are never built from names: every one is a prefix and a node index (`n12`,
///   `k12`, `x0`, `s3`), so they are valid and unique by construction.
/// - User text appears only in comments, through `CText.comment`, and in string literals, through
///   `CText.stringLiteral`. Nothing else may interpolate a name into a line of C.
/// - `CText.checkSource` runs on every emitted unit and refuses any byte a leak would bring
///   (non-ASCII, control characters, trigraphs, backslash-newline), so a bypass fails loudly
///   instead of compiling.
public enum CText {
    /// At most this many characters of one piece of user text are kept in a comment, so a
    /// megabyte-long name cannot make a megabyte-long line.
    public static let commentLimit = 200

    /// `text` made inert inside a `/* ... */` comment. Printable ASCII passes through except the
    /// few characters that can end a comment or start a preprocessor trick; they, control
    /// characters and every non-ASCII byte are written `%XX` (the UTF-8 bytes in hex, as in URLs):
    /// `%`, `\` (line splices), `?` (trigraphs: `??/` is a backslash), `*` after `/` or at the
    /// end, `/` after `*` or at the start (so neither `*/` nor `/*` can form, even against the
    /// delimiters around the text). Longer text is cut at `commentLimit` with `...`.
    public static func comment(_ text: String) -> String {
        var out = ""
        var previous: Unicode.Scalar?
        let scalars = Array(text.unicodeScalars)
        for (i, scalar) in scalars.enumerated() {
            let piece: String
            let v = scalar.value
            let risky = scalar == "%" || scalar == "\\" || scalar == "?"
                || (scalar == "*" && (previous == "/" || i == scalars.count - 1))
                || (scalar == "/" && (previous == "*" || i == 0))
            if v >= 0x20 && v < 0x7F && !risky {
                piece = String(scalar)
            } else {
                piece = String(scalar).utf8.map { "%" + hex2($0) }.joined()
            }
            if out.utf8.count + piece.utf8.count > commentLimit {
                out += "..."
                break
            }
            out += piece
            previous = scalar
        }
        return out
    }

    /// `text` as a C string literal, quotes included, that reads back as exactly its UTF-8 bytes:
    /// `"` and `\` are escaped, `?` is written `\?` (no trigraph can form), and every other byte
    /// outside printable ASCII as a three-digit octal escape (three digits, so a following digit
    /// is never swallowed). A NUL becomes `\000`: C code reading the literal sees the text cut
    /// there, which is as close as a C string can get.
    public static func stringLiteral(_ text: String) -> String {
        var out = "\""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "?"): out += "\\?"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let octal = String(byte, radix: 8)
                out += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
            }
        }
        return out + "\""
    }

    /// Refuses generated C holding anything a leaked name could bring: bytes outside printable
    /// ASCII and newline (a raw newline, NUL or Unicode in a name), `??` (trigraphs), or a
    /// backslash ending a line (a splice that could glue a comment end together). The emitter
    /// itself never writes any of these, so a failure means some emission site bypassed `CText`.
    public static func checkSource(_ source: String, graph: String) throws {
        var line = 1
        var previous: UInt8 = 0
        for byte in source.utf8 {
            func fail(_ what: String) -> SinterError {
                .verify(message: "C emitter: generated C for graph \(comment(graph)) has \(what) on line \(line); "
                    + "some text bypassed CText (a bug in the emitter, please report it)")
            }
            if byte == UInt8(ascii: "\n") {
                if previous == UInt8(ascii: "\\") { throw fail("a backslash-newline") }
                line += 1
            } else if byte < 0x20 || byte >= 0x7F {
                throw fail("the byte 0x\(hex2(byte))")
            } else if byte == UInt8(ascii: "?") && previous == UInt8(ascii: "?") {
                throw fail("'\("??")' (a trigraph start)")
            }
            previous = byte
        }
    }

    private static func hex2(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

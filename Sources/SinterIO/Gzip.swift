import CZlib
import Foundation
import SinterIR

/// Reading (and writing) gzip files through zlib's gz* API. `gzread` passes a file without a
/// gzip header through unchanged, so callers can accept `data.idx` and `data.idx.gz` alike.
public enum Gzip {
    /// The decompressed contents of a .gz file, or the contents of a plain file.
    public static func readFile(path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SinterError.file(path: path, message: "no such file")
        }
        if isDirectory.boolValue { throw SinterError.file(path: path, message: "is a directory, not a file") }
        guard let file = gzopen(path, "rb") else {
            throw SinterError.file(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { gzclose(file) }
        // A larger internal buffer makes decompression of multi-megabyte files faster.
        gzbuffer(file, 1 << 17)

        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { raw in gzread(file, raw.baseAddress, UInt32(raw.count)) }
            if n < 0 {
                throw SinterError.file(path: path, message: "cannot decompress: \(errorText(file))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        // gzread returns 0 both at a clean end and when the compressed stream is cut short;
        // gzerror tells them apart.
        var code: Int32 = 0
        let message = gzerror(file, &code)
        if code != Z_OK && code != Z_STREAM_END {
            throw SinterError.file(path: path, message: "cannot decompress: \(message.map { String(cString: $0) } ?? "zlib error \(code)")")
        }
        return out
    }

    /// Same as `readFile(path:)`; the name reads better where the input is known to be gzip.
    public static func decompress(path: String) throws -> [UInt8] {
        try readFile(path: path)
    }

    /// Writes `bytes` gzip-compressed (level 0-9). Not atomic: meant for test data and caches.
    public static func writeFile(path: String, bytes: [UInt8], level: Int = 6) throws {
        let clamped = max(0, min(9, level))
        guard let file = gzopen(path, "wb\(clamped)") else {
            throw SinterError.file(path: path, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        var closed = false
        defer { if !closed { gzclose(file) } }
        var done = 0
        while done < bytes.count {
            let n = min(bytes.count - done, 1 << 20)
            let written = bytes.withUnsafeBytes { raw in gzwrite(file, raw.baseAddress! + done, UInt32(n)) }
            guard written == Int32(n) else {
                throw SinterError.file(path: path, message: "cannot write: \(errorText(file))")
            }
            done += n
        }
        closed = true
        let status = gzclose(file)
        guard status == Z_OK else {
            throw SinterError.file(path: path, message: "cannot finish writing (zlib error \(status))")
        }
    }

    private static func errorText(_ file: gzFile) -> String {
        var code: Int32 = 0
        guard let message = gzerror(file, &code) else { return "zlib error \(code)" }
        let text = String(cString: message)
        if code == Z_ERRNO { return String(cString: strerror(errno)) }
        return text.isEmpty ? "zlib error \(code)" : text
    }
}

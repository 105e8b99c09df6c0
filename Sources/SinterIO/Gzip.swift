import CZlib
import Foundation
import SinterIR

/// gzip in memory through zlib's inflate/deflate. Reading accepts `data.idx` and `data.idx.gz`
/// alike: a file that does not start with the gzip magic is passed through unchanged. Output is
/// bounded by `maxBytes` (the ISIZE trailer is checked first, as a hint, then inflation stops at
/// the limit), so a small file cannot expand into gigabytes.
public enum Gzip {
    static let magic: [UInt8] = [0x1f, 0x8b]

    /// The decompressed contents of a .gz file, or the contents of a plain file.
    public static func readFile(path: String, maxBytes: Int = InputFile.defaultMaxBytes) throws -> [UInt8] {
        let bytes = try InputFile.read(path, expected: "a gzip or plain data file", maxBytes: maxBytes)
        guard bytes.starts(with: magic) else { return bytes }
        return try decompress(bytes, source: path, maxBytes: maxBytes)
    }

    /// Same as `readFile(path:)`; the name reads better where the input is known to be gzip.
    public static func decompress(path: String, maxBytes: Int = InputFile.defaultMaxBytes) throws -> [UInt8] {
        try readFile(path: path, maxBytes: maxBytes)
    }

    /// Inflates gzip data (one or more members; trailing bytes after the last member that do not
    /// start another member are ignored, as gzip(1) does). `source` names the data in errors.
    public static func decompress(_ bytes: [UInt8], source: String = "<gzip data>",
                                  maxBytes: Int = InputFile.defaultMaxBytes) throws -> [UInt8] {
        func fail(_ message: String) -> SinterError { .file(path: source, message: message) }
        guard bytes.starts(with: magic) else {
            throw fail("not gzip data (first bytes \(bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")))")
        }
        // ISIZE (the last 4 bytes) is the last member's size mod 2^32: a valid file decompresses
        // to at least that much, so a trailer above the limit is refused before inflating.
        var hint = 0
        if bytes.count >= 18 {
            hint = bytes.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
            if hint > maxBytes {
                throw fail("gzip trailer declares \(hint) bytes of content, more than the limit of \(maxBytes) bytes")
            }
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }

        var out: [UInt8] = []
        out.reserveCapacity(min(hint, 1 << 30))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        try bytes.withUnsafeBytes { src in
            stream.next_in = UnsafeMutablePointer(mutating: src.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = 0
            var offset = 0
            func refill() {
                let n = min(src.count - offset, Int(UInt32.max))
                stream.next_in = UnsafeMutablePointer(mutating: src.bindMemory(to: UInt8.self).baseAddress! + offset)
                stream.avail_in = UInt32(n)
                offset += n
            }
            refill()
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { dst -> Int32 in
                    stream.next_out = dst.baseAddress
                    stream.avail_out = UInt32(dst.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                guard produced <= maxBytes - out.count else {
                    throw fail("gzip data decompresses to more than the limit of \(maxBytes) bytes")
                }
                out.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_OK:
                    if stream.avail_in == 0 && offset < src.count { refill() }
                    if stream.avail_in == 0 && produced == 0 {
                        throw fail("cannot decompress: truncated gzip data: the input ends inside the compressed stream (after \(out.count) bytes of output)")
                    }
                case Z_BUF_ERROR:
                    // No progress possible: the input ran out before the end of the member.
                    throw fail("cannot decompress: truncated gzip data: the input ends inside the compressed stream (after \(out.count) bytes of output)")
                case Z_STREAM_END:
                    let rest = Int(stream.avail_in) + (src.count - offset)
                    let next = src.count - rest
                    guard rest >= 2, src[next] == magic[0], src[next + 1] == magic[1] else { return }
                    inflateReset(&stream)
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    throw fail("cannot decompress: corrupt gzip data: \(detail) (after \(out.count) bytes of output)")
                }
            }
        }
        return out
    }

    /// gzip-compresses `bytes` (level 0-9) in memory.
    public static func compress(_ bytes: [UInt8], level: Int = 6) throws -> [UInt8] {
        guard bytes.count < Int(UInt32.max) / 2 else {
            throw SinterError.file(path: "<gzip data>", message: "cannot compress \(bytes.count) bytes in one piece (limit 2 GiB)")
        }
        var stream = z_stream()
        guard deflateInit2_(&stream, Int32(max(0, min(9, level))), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SinterError.file(path: "<gzip data>", message: "cannot initialise zlib")
        }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        let status = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst -> Int32 in
                stream.next_in = UnsafeMutablePointer(mutating: src.bindMemory(to: UInt8.self).baseAddress)
                stream.avail_in = UInt32(src.count)
                stream.next_out = dst.bindMemory(to: UInt8.self).baseAddress
                stream.avail_out = UInt32(dst.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            throw SinterError.file(path: "<gzip data>", message: "cannot compress (zlib error \(status))")
        }
        out.removeLast(Int(stream.avail_out))
        return out
    }

    /// Writes `bytes` gzip-compressed (level 0-9), atomically.
    public static func writeFile(path: String, bytes: [UInt8], level: Int = 6) throws {
        try AtomicFile.write(compress(bytes, level: level), to: path)
    }
}

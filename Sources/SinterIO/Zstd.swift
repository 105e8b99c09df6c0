import CZstd
import Foundation
import SinterIR

/// In-memory zstd compression (used for compact caches and dumps).
public enum Zstd {
    /// Compresses `bytes` into one zstd frame (with its content size recorded). Levels outside
    /// zstd's range are clamped by the library.
    public static func compress(_ bytes: [UInt8], level: Int = 3) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let written = out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in
                ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, Int32(level))
            }
        }
        // Compression into a compressBound-sized buffer cannot fail except on allocation failure.
        precondition(ZSTD_isError(written) == 0, "ZSTD_compress failed: \(String(cString: ZSTD_getErrorName(written)))")
        out.removeLast(out.count - written)
        return out
    }

    /// Decompresses one or more concatenated zstd frames. Uses streaming decompression, so frames
    /// that do not record their content size (written by streaming compressors) work too.
    /// `source` names the data in error messages (a file path, or the default).
    public static func decompress(_ bytes: [UInt8], source: String = "<zstd data>") throws -> [UInt8] {
        func fail(_ message: String) -> SinterError { .file(path: source, message: message) }
        guard !bytes.isEmpty else { throw fail("not zstd data: input is empty") }

        let known = bytes.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        // ZSTD_CONTENTSIZE_ERROR is (0ULL - 2): not a zstd frame at all.
        if known == UInt64.max - 1 {
            throw fail("not zstd data (bad magic number; first bytes \(bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")))")
        }

        guard let stream = ZSTD_createDStream() else { throw fail("cannot allocate a zstd decompression stream") }
        defer { ZSTD_freeDStream(stream) }
        ZSTD_initDStream(stream)

        var out: [UInt8] = []
        // Known sizes (not the UNKNOWN marker, 0ULL - 1) let us allocate once; cap the
        // reservation so a corrupt header cannot request an absurd allocation.
        if known < UInt64.max - 1 { out.reserveCapacity(Int(min(known, 1 << 30))) }
        let chunkSize = ZSTD_DStreamOutSize()
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var lastResult = 0
        try bytes.withUnsafeBytes { src in
            var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
            while true {
                let (result, produced) = chunk.withUnsafeMutableBytes { dst -> (Int, Int) in
                    var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                    let r = ZSTD_decompressStream(stream, &output, &input)
                    return (r, output.pos)
                }
                if ZSTD_isError(result) != 0 {
                    throw fail("corrupt zstd data: \(String(cString: ZSTD_getErrorName(result)))")
                }
                out.append(contentsOf: chunk[0..<produced])
                lastResult = result
                // Done when all input is consumed and the output buffer was not filled (a full
                // buffer may mean more output is pending inside the decoder).
                if input.pos == input.size && produced < chunkSize { break }
            }
        }
        // A non-zero result at the end means the decoder expected more input: a truncated frame.
        if lastResult != 0 {
            throw fail("truncated zstd data: the frame ends early (\(bytes.count) bytes given)")
        }
        return out
    }
}

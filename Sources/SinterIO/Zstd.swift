import CZstd
import Foundation
import SinterIR

/// In-memory zstd compression (used for checkpoints, compact caches and dumps).
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

    /// Decompresses one or more concatenated zstd frames (frames without a recorded content
    /// size work too). Before inflating, the content sizes the frames declare are added up and
    /// refused if they exceed `maxBytes`; while inflating, output stops at `maxBytes` whatever
    /// the frames declared. `source` names the data in error messages (a file path, or the default).
    public static func decompress(_ bytes: [UInt8], source: String = "<zstd data>",
                                  maxBytes: Int = InputFile.defaultMaxBytes) throws -> [UInt8] {
        guard !bytes.isEmpty else { throw SinterError.file(path: source, message: "not zstd data: input is empty") }
        let declared = try declaredContentSize(bytes, source: source)
        if let declared, declared > UInt64(maxBytes) {
            throw SinterError.file(path: source, message: "zstd data declares \(declared) bytes of content, more than the limit of \(maxBytes) bytes")
        }
        let decoder = try ZstdStreamDecoder(source: source, maxBytes: maxBytes)
        // A known size lets us allocate once; it is within maxBytes, and capped further so a
        // lying header costs little.
        var out: [UInt8] = []
        if let declared { out.reserveCapacity(Int(min(declared, 1 << 30))) }
        try decoder.feed(bytes) { out.append(contentsOf: $0) }
        try decoder.finish()
        return out
    }

    /// The sum of the content sizes the frames in `bytes` declare, or nil when a frame does not
    /// record its size (or the frames cannot be walked: the decoder then reports the damage).
    /// Throws only for data that is not zstd at all.
    static func declaredContentSize(_ bytes: [UInt8], source: String) throws -> UInt64? {
        try bytes.withUnsafeBytes { raw -> UInt64? in
            guard let base = raw.baseAddress else { return nil }
            var offset = 0
            var total: UInt64 = 0
            while offset < raw.count {
                let size = ZSTD_getFrameContentSize(base + offset, raw.count - offset)
                if size == UInt64.max - 1 {  // ZSTD_CONTENTSIZE_ERROR
                    guard offset == 0 else { return nil }
                    throw SinterError.file(path: source, message: "not zstd data (bad magic number; first bytes \(raw.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")))")
                }
                if size == UInt64.max { return nil }  // ZSTD_CONTENTSIZE_UNKNOWN
                let frameLength = ZSTD_findFrameCompressedSize(base + offset, raw.count - offset)
                if ZSTD_isError(frameLength) != 0 { return nil }
                let (sum, overflow) = total.addingReportingOverflow(size)
                if overflow { return UInt64.max }
                total = sum
                offset += frameLength
            }
            return total
        }
    }
}

/// Streaming zstd decompression: feed the compressed bytes in chunks of any size, then call
/// `finish()`, which throws if the input stopped inside a frame. A frame is complete exactly when
/// ZSTD_decompressStream returns 0; any other return value is only a hint of how much input the
/// decoder would like next (after a complete frame it is the size of the next frame's header),
/// so it says nothing about truncation on its own.
public final class ZstdStreamDecoder {
    public let source: String
    public let maxBytes: Int
    /// Decompressed bytes produced so far.
    public private(set) var produced = 0
    private let stream: OpaquePointer
    private var chunk: [UInt8]
    /// True between frames (and before the first one); false while a frame is half decoded.
    private var atFrameBoundary = true
    private var sawInput = false

    public init(source: String = "<zstd data>", maxBytes: Int = InputFile.defaultMaxBytes) throws {
        self.source = source
        self.maxBytes = maxBytes
        guard let stream = ZSTD_createDStream() else {
            throw SinterError.file(path: source, message: "cannot allocate a zstd decompression stream")
        }
        self.stream = stream
        ZSTD_initDStream(stream)
        chunk = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
    }

    deinit { ZSTD_freeDStream(stream) }

    /// Decompresses `input`, passing each piece of output to `output` as it is produced.
    public func feed<Bytes: Collection>(_ input: Bytes, output: ([UInt8]) throws -> Void) throws where Bytes.Element == UInt8 {
        if !input.isEmpty { sawInput = true }
        let contiguous = Array(input)
        try contiguous.withUnsafeBytes { src in
            var inBuffer = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
            var outputWasFull = false
            // Keep calling while input remains, or while the last call filled the output buffer
            // (the decoder may hold more output internally).
            while inBuffer.pos < inBuffer.size || outputWasFull {
                let consumedBefore = inBuffer.pos
                let (result, count) = chunk.withUnsafeMutableBytes { dst -> (Int, Int) in
                    var outBuffer = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                    let r = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    return (r, outBuffer.pos)
                }
                if ZSTD_isError(result) != 0 {
                    throw SinterError.file(path: source, message: "corrupt zstd data: \(String(cString: ZSTD_getErrorName(result))) (after \(produced) bytes of output)")
                }
                let progressed = count > 0 || inBuffer.pos != consumedBefore
                if !progressed {
                    // Nothing left to flush; with input left and no progress the decoder is stuck.
                    if inBuffer.pos < inBuffer.size {
                        throw SinterError.file(path: source, message: "corrupt zstd data: the decoder stopped making progress")
                    }
                    break
                }
                atFrameBoundary = result == 0
                outputWasFull = count == chunk.count
                guard count <= maxBytes - produced else {
                    throw SinterError.file(path: source, message: "zstd data decompresses to more than the limit of \(maxBytes) bytes")
                }
                produced += count
                if count > 0 { try output(Array(chunk[0..<count])) }
            }
        }
    }

    /// Decompresses `input` and returns the output it produced.
    public func feed<Bytes: Collection>(_ input: Bytes) throws -> [UInt8] where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        try feed(input) { out.append(contentsOf: $0) }
        return out
    }

    /// Checks that the input ended at a frame boundary.
    public func finish() throws {
        guard sawInput else { throw SinterError.file(path: source, message: "not zstd data: input is empty") }
        guard atFrameBoundary else {
            throw SinterError.file(path: source, message: "truncated zstd data: the input ends inside a frame (after \(produced) bytes of output)")
        }
    }
}

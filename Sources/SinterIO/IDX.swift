import SinterIR

/// IDX files (the MNIST and Fashion-MNIST format), plain or gzip-compressed: a 4-byte magic
/// (0, 0, element type, rank), rank big-endian 32-bit sizes, then the data.
public struct IDXFile: Equatable, Sendable {
    public var shape: [Int]
    /// The data, unsigned bytes (the only element type these datasets use).
    public var bytes: [UInt8]

    public init(shape: [Int], bytes: [UInt8]) {
        self.shape = shape
        self.bytes = bytes
    }

    /// Reads `path` (gzip or plain); decompression stops at `maxBytes`.
    public static func read(path: String, maxBytes: Int = InputFile.defaultMaxBytes) throws -> IDXFile {
        try parse(Gzip.readFile(path: path, maxBytes: maxBytes), path: path)
    }

    /// Parses IDX bytes already in memory (decompressed); `path` names them in errors. The header
    /// is checked completely (element type, rank, dimension product without overflow, data length
    /// equal to that product) before the data is copied.
    public static func parse(_ data: [UInt8], path: String) throws -> IDXFile {
        func fail(_ message: String) -> SinterError { .file(path: path, message: message) }
        guard data.count >= 4, data[0] == 0, data[1] == 0 else {
            throw fail("not an IDX file (bad magic number: first bytes \(data.prefix(4).map { String($0, radix: 16) }.joined(separator: " ")), expected 00 00 08 rank)")
        }
        guard data[2] == 0x08 else {
            throw fail("IDX element type 0x\(String(data[2], radix: 16)) is not supported (only unsigned bytes, 0x08)")
        }
        let rank = Int(data[3])
        guard rank >= 1 else { throw fail("IDX rank is 0; expected at least one dimension") }
        let start = 4 + 4 * rank
        guard data.count >= start else {
            throw fail("IDX header is truncated (rank \(rank) needs \(start) header bytes, file has \(data.count))")
        }
        let shape = (0..<rank).map { axis -> Int in
            let base = 4 + 4 * axis
            return data[base..<base + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("IDX shape \(shapeText(shape)) has more elements than fit in memory") }
            count = product
        }
        guard data.count - start == count else {
            throw fail("IDX shape \(shapeText(shape)) needs \(count) bytes of data, file has \(data.count - start)")
        }
        return IDXFile(shape: shape, bytes: Array(data[start...]))
    }
}

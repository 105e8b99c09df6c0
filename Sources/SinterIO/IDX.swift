import SinterIR

/// IDX files (the MNIST and Fashion-MNIST format), plain or gzip-compressed: a 4-byte magic
/// (0, 0, element type, rank), rank big-endian 32-bit sizes, then the data.
public struct IDXFile: Equatable, Sendable {
    public var shape: [Int]
    /// The data, unsigned bytes (the only element type these datasets use).
    public var bytes: [UInt8]

    public static func read(path: String) throws -> IDXFile {
        let data = try Gzip.readFile(path: path)
        guard data.count >= 4, data[0] == 0, data[1] == 0 else {
            throw SinterError.file(path: path, message: "not an IDX file (bad magic number)")
        }
        guard data[2] == 0x08 else {
            throw SinterError.file(path: path, message: "IDX element type 0x\(String(data[2], radix: 16)) is not supported (only unsigned bytes, 0x08)")
        }
        let rank = Int(data[3])
        guard data.count >= 4 + 4 * rank else {
            throw SinterError.file(path: path, message: "IDX header is truncated (rank \(rank), \(data.count) bytes)")
        }
        let shape = (0..<rank).map { axis -> Int in
            let base = 4 + 4 * axis
            return data[base..<base + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        let count = shape.reduce(1, *)
        let start = 4 + 4 * rank
        guard data.count - start == count else {
            throw SinterError.file(path: path, message: "IDX shape \(shapeText(shape)) needs \(count) bytes of data, file has \(data.count - start)")
        }
        return IDXFile(shape: shape, bytes: Array(data[start...]))
    }
}

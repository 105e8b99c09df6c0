import CZlib
import Foundation
import SinterIR

/// Reading members of a zip file (a Python wheel, a `torch.save` zip checkpoint) from memory:
/// the central directory (ZIP64 when the classic fields are saturated), stored and deflate
/// members, CRC-32 checked. Every offset and size comes from the file, so each is checked against
/// the archive before use, and a member's declared size is checked against `maxBytes` before
/// anything is allocated; inflation stops at the declared size (no zip bomb).
public struct ZipArchive {
    public struct Entry: Equatable, Sendable {
        public var name: String
        /// 0 stored, 8 deflate (the only two read).
        public var method: Int
        public var crc32: UInt32
        public var compressedSize: Int
        public var uncompressedSize: Int
        public var localHeaderOffset: Int
    }

    public let path: String
    public let entries: [Entry]
    let bytes: [UInt8]

    static let localSignature: UInt32 = 0x0403_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let endSignature: UInt32 = 0x0605_4b50
    static let zip64EndSignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50

    /// True when `bytes` start like a zip file (a local header or an empty archive's end record).
    public static func looksLikeZip(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: [0x50, 0x4b, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4b, 0x05, 0x06])
    }

    /// Reads the zip file at `path` (at most `maxBytes` long) and its central directory.
    public init(path: String, maxBytes: Int = InputFile.defaultMaxBytes) throws {
        try self.init(bytes: InputFile.read(path, expected: "a zip file (.zip, .whl)", maxBytes: maxBytes), path: path)
    }

    /// Parses the central directory of zip bytes in memory; `path` names them in errors.
    public init(bytes: [UInt8], path: String) throws {
        self.bytes = bytes
        self.path = path
        entries = try Self.centralDirectory(bytes, path: path)
    }

    /// The entry with this exact name, if any.
    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// The uncompressed contents of the member `name`; the error lists a few member names.
    public func read(named name: String, maxBytes: Int = InputFile.defaultMaxBytes) throws -> [UInt8] {
        try read(requireEntry(named: name), maxBytes: maxBytes)
    }

    /// The entry with this exact name; the error lists a few member names.
    public func requireEntry(named name: String) throws -> Entry {
        guard let entry = entry(named: name) else {
            let some = entries.prefix(8).map(\.name).joined(separator: ", ")
            throw SinterError.file(path: path, message: "has no member '\(name)' (\(entries.count) members: \(some)\(entries.count > 8 ? ", ..." : ""))")
        }
        return entry
    }

    /// The uncompressed contents of `entry`, CRC-checked.
    public func read(_ entry: Entry, maxBytes: Int = InputFile.defaultMaxBytes) throws -> [UInt8] {
        func fail(_ message: String) -> SinterError { .file(path: path, message: "member '\(entry.name)': \(message)") }
        guard entry.uncompressedSize <= maxBytes else {
            throw fail("declares \(entry.uncompressedSize) bytes, more than the limit of \(maxBytes) bytes")
        }
        let reader = ByteReader(bytes: bytes, path: path)
        let header = entry.localHeaderOffset
        guard try reader.u32(at: header, field: "local header of '\(entry.name)'") == Self.localSignature else {
            throw fail("no local file header at offset \(header)")
        }
        let nameLength = try Int(reader.u16(at: header + 26, field: "local name length"))
        let extraLength = try Int(reader.u16(at: header + 28, field: "local extra length"))
        let start = header + 30 + nameLength + extraLength
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else {
            throw fail("data (\(entry.compressedSize) bytes at offset \(start)) runs past the end of the \(bytes.count)-byte archive")
        }
        let output: [UInt8]
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw fail("stored member with compressed size \(entry.compressedSize) different from its size \(entry.uncompressedSize)")
            }
            output = Array(bytes[start..<(start + entry.compressedSize)])
        case 8:
            // Deflate expands at most 1032:1, so a larger declared size is a lie; refusing it
            // keeps a small archive from reserving gigabytes it can never fill.
            let (bound, overflow) = entry.compressedSize.multipliedReportingOverflow(by: 1032)
            guard !overflow, entry.uncompressedSize <= bound + 64 else {
                throw fail("declares \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed, more than deflate can produce")
            }
            output = try Self.inflateRaw(bytes, from: start, count: entry.compressedSize, expected: entry.uncompressedSize, fail: fail)
        default:
            throw fail("compression method \(entry.method) is not supported (only 0 stored and 8 deflate)")
        }
        let crc = output.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
        guard crc == entry.crc32 else {
            throw fail(String(format: "CRC-32 mismatch (file says %08x, data has %08x): the archive is corrupt", entry.crc32, crc))
        }
        return output
    }

    /// Raw deflate (no zlib or gzip wrapper) of exactly `expected` output bytes.
    static func inflateRaw(_ bytes: [UInt8], from start: Int, count: Int, expected: Int,
                           fail: (String) -> SinterError) throws -> [UInt8] {
        guard count <= Int(UInt32.max), expected <= Int(UInt32.max) else {
            throw fail("deflate member of \(count) bytes (\(expected) uncompressed) is too large to inflate in one piece")
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }
        // One byte of spare room: a stream that would produce more than declared is caught.
        var output = [UInt8](repeating: 0, count: expected + 1)
        let status = bytes.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst -> Int32 in
                stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress! + start)
                stream.avail_in = UInt32(count)
                stream.next_out = dst.baseAddress
                stream.avail_out = UInt32(dst.count)
                return inflate(&stream, Z_FINISH)
            }
        }
        let produced = output.count - Int(stream.avail_out)
        switch status {
        case Z_STREAM_END:
            guard produced == expected else {
                throw fail("inflates to \(produced) bytes, but the directory declares \(expected)")
            }
        case Z_BUF_ERROR where produced > expected:
            throw fail("inflates to more than the \(expected) bytes the directory declares")
        case Z_BUF_ERROR:
            throw fail("truncated deflate data (the stream ends after \(produced) of \(expected) bytes)")
        default:
            let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            throw fail("corrupt deflate data: \(detail) (after \(produced) bytes)")
        }
        output.removeLast()
        return output
    }
}

/// Little-endian fields of untrusted bytes; every read is bounds-checked and names the field.
struct ByteReader {
    let bytes: [UInt8]
    let path: String

    func check(_ offset: Int, _ size: Int, field: String) throws {
        guard offset >= 0, offset <= bytes.count, size <= bytes.count - offset else {
            throw SinterError.file(path: path, message: "\(field) at offset \(offset) runs past the end of the \(bytes.count)-byte file")
        }
    }

    func u16(at offset: Int, field: String) throws -> UInt16 {
        try check(offset, 2, field: field)
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    func u32(at offset: Int, field: String) throws -> UInt32 {
        try check(offset, 4, field: field)
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    func u64(at offset: Int, field: String) throws -> UInt64 {
        try check(offset, 8, field: field)
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    /// A u64 field that must fit an Int and the file.
    func size(at offset: Int, field: String) throws -> Int {
        let value = try u64(at: offset, field: field)
        guard value <= UInt64(bytes.count) else {
            throw SinterError.file(path: path, message: "\(field) is \(value), more than the \(bytes.count)-byte file")
        }
        return Int(value)
    }
}

import CZlib
import Foundation
import SinterIR

/// Writing a small zip archive in memory (stored or deflate members, no ZIP64): what the tests
/// and fuzz seeds use to make wheels and `torch.save` zip checkpoints without Python.
public enum ZipWriter {
    public struct Member {
        public var name: String
        public var data: [UInt8]
        public var deflate: Bool
        public init(name: String, data: [UInt8], deflate: Bool) {
            self.name = name
            self.data = data
            self.deflate = deflate
        }
    }

    public static func encode(_ members: [Member]) throws -> [UInt8] {
        var out: [UInt8] = [], directory: [UInt8] = []
        func u16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
        func u32(_ v: UInt32, _ into: inout [UInt8]) { for i in 0..<4 { into.append(UInt8(v >> (8 * UInt32(i)) & 0xff)) } }
        for member in members {
            let name = Array(member.name.utf8)
            let payload = member.deflate ? try deflateRaw(member.data) : member.data
            guard out.count < Int(UInt32.max) - payload.count - 64, name.count < 0xffff else {
                throw SinterError.file(path: "<zip>", message: "member '\(member.name)' does not fit a zip file without ZIP64")
            }
            let crc = member.data.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
            let offset = UInt32(out.count)
            var common: [UInt8] = []
            u16(20, &common); u16(0, &common); u16(member.deflate ? 8 : 0, &common)
            u16(0, &common); u16(0x21, &common)  // time 00:00:00, date 1980-01-01
            u32(crc, &common); u32(UInt32(payload.count), &common); u32(UInt32(member.data.count), &common)
            u16(name.count, &common); u16(0, &common)
            u32(ZipArchive.localSignature, &out)
            out += common + name + payload
            u32(ZipArchive.centralSignature, &directory)
            u16(20, &directory)
            directory += common
            u16(0, &directory); u16(0, &directory); u16(0, &directory); u32(0, &directory)
            u32(offset, &directory)
            directory += name
        }
        let directoryOffset = out.count
        out += directory
        u32(ZipArchive.endSignature, &out)
        u16(0, &out); u16(0, &out); u16(members.count, &out); u16(members.count, &out)
        u32(UInt32(directory.count), &out); u32(UInt32(directoryOffset), &out); u16(0, &out)
        return out
    }

    static func deflateRaw(_ bytes: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SinterError.file(path: "<zip>", message: "cannot initialise zlib")
        }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        let status = bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst -> Int32 in
                stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress)
                stream.avail_in = UInt32(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = UInt32(dst.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw SinterError.file(path: "<zip>", message: "cannot compress (zlib error \(status))") }
        out.removeLast(Int(stream.avail_out))
        return out
    }
}

import Foundation
import SinterIR

/// The central directory of a zip file: found from the end-of-central-directory record (the last
/// 22 bytes plus a comment of up to 64 KiB), with the ZIP64 record when the classic one is
/// saturated. Multi-disk and encrypted archives are refused.
extension ZipArchive {
    static let maxEntries = 1 << 20

    static func centralDirectory(_ bytes: [UInt8], path: String) throws -> [Entry] {
        let reader = ByteReader(bytes: bytes, path: path)
        func fail(_ message: String) -> SinterError { .file(path: path, message: message) }
        guard bytes.count >= 22 else {
            throw fail("is \(bytes.count) bytes, too short for a zip file (the end record alone is 22 bytes)")
        }
        var end = -1
        var candidate = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        while candidate >= lowest {
            if bytes[candidate] == 0x50, try reader.u32(at: candidate, field: "end record") == endSignature { end = candidate; break }
            candidate -= 1
        }
        guard end >= 0 else { throw fail("is not a zip file (no end-of-central-directory record)") }

        var count = Int(try reader.u16(at: end + 10, field: "entry count"))
        var directorySize = Int(try reader.u32(at: end + 12, field: "central directory size"))
        var directoryOffset = Int(try reader.u32(at: end + 16, field: "central directory offset"))
        let disk = try reader.u16(at: end + 4, field: "disk number"), directoryDisk = try reader.u16(at: end + 6, field: "disk number")
        if count == 0xffff || directorySize == 0xffff_ffff || directoryOffset == 0xffff_ffff {
            let locator = end - 20
            guard locator >= 0, try reader.u32(at: locator, field: "ZIP64 locator") == zip64LocatorSignature else {
                throw fail("has a saturated end record but no ZIP64 locator before it")
            }
            let record = try reader.size(at: locator + 8, field: "ZIP64 end record offset")
            guard try reader.u32(at: record, field: "ZIP64 end record") == zip64EndSignature else {
                throw fail("has no ZIP64 end record at offset \(record)")
            }
            count = try reader.size(at: record + 32, field: "ZIP64 entry count")
            directorySize = try reader.size(at: record + 40, field: "ZIP64 central directory size")
            directoryOffset = try reader.size(at: record + 48, field: "ZIP64 central directory offset")
        } else if disk != 0 || directoryDisk != 0 {
            throw fail("is a multi-disk (split) zip archive, which is not supported")
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw fail("central directory (\(directorySize) bytes at offset \(directoryOffset)) runs past the end of the \(bytes.count)-byte file")
        }
        // Each entry takes at least 46 bytes, so the count is bounded by the directory's size.
        guard count <= directorySize / 46, count <= maxEntries else {
            throw fail("declares \(count) entries, more than its \(directorySize)-byte central directory can hold")
        }

        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var offset = directoryOffset
        for index in 0..<count {
            let field = "central directory entry \(index)"
            guard try reader.u32(at: offset, field: field) == centralSignature else {
                throw fail("\(field) at offset \(offset) has no central directory signature")
            }
            let flags = try reader.u16(at: offset + 8, field: field)
            let method = Int(try reader.u16(at: offset + 10, field: field))
            let crc = try reader.u32(at: offset + 16, field: field)
            var compressed = Int(try reader.u32(at: offset + 20, field: field))
            var uncompressed = Int(try reader.u32(at: offset + 24, field: field))
            let nameLength = Int(try reader.u16(at: offset + 28, field: field))
            let extraLength = Int(try reader.u16(at: offset + 30, field: field))
            let commentLength = Int(try reader.u16(at: offset + 32, field: field))
            var local = Int(try reader.u32(at: offset + 42, field: field))
            try reader.check(offset + 46, nameLength + extraLength + commentLength, field: "\(field) name and extra fields")
            let name = String(decoding: bytes[(offset + 46)..<(offset + 46 + nameLength)], as: UTF8.self)
            if flags & 1 != 0 { throw fail("member '\(name)' is encrypted, which is not supported") }

            // ZIP64 extended information: the saturated fields, in this order, 8 bytes each.
            var extra = offset + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = try reader.u16(at: extra, field: "extra field"), size = Int(try reader.u16(at: extra + 2, field: "extra field"))
                guard extra + 4 + size <= extraEnd else { throw fail("member '\(name)': extra field runs past its entry") }
                if id == 1 {
                    var cursor = extra + 4
                    func next(_ what: String) throws -> Int {
                        guard cursor + 8 <= extra + 4 + size else { throw fail("member '\(name)': ZIP64 field lacks the \(what)") }
                        let value = try reader.u64(at: cursor, field: "ZIP64 \(what)")
                        cursor += 8
                        guard value <= UInt64(SizeLimits.maxTensorBytes) else { throw fail("member '\(name)': ZIP64 \(what) \(value) is out of range") }
                        return Int(value)
                    }
                    if uncompressed == 0xffff_ffff { uncompressed = try next("uncompressed size") }
                    if compressed == 0xffff_ffff { compressed = try next("compressed size") }
                    if local == 0xffff_ffff { local = try next("local header offset") }
                }
                extra += 4 + size
            }
            guard local < bytes.count else {
                throw fail("member '\(name)': local header offset \(local) is past the end of the \(bytes.count)-byte file")
            }
            entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: compressed,
                                 uncompressedSize: uncompressed, localHeaderOffset: local))
            offset = extraEnd + commentLength
        }
        return entries
    }
}

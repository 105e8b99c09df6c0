import Foundation
import SinterIR

/// Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length N, N bytes of JSON header, then the raw tensor data.
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` with
/// offsets relative to the start of the data section; the optional `__metadata__` entry maps
/// strings to strings.
public enum Safetensors {
    /// Reads every tensor of a safetensors file.
    public static func read(path: String) throws -> [String: HostTensor] {
        try readWithMetadata(path: path).tensors
    }

    /// Parses safetensors bytes already in memory; `path` is only used in error messages.
    public static func read(data: [UInt8], path: String) throws -> [String: HostTensor] {
        try data.withUnsafeBytes { try parse($0, path: path).tensors }
    }

    /// Same, with the `__metadata__` strings.
    public static func parseWithMetadata(data: [UInt8], path: String) throws -> (tensors: [String: HostTensor], metadata: [String: String]) {
        try data.withUnsafeBytes { try parse($0, path: path) }
    }

    /// Reads every tensor of a safetensors file plus its `__metadata__` (empty when absent).
    public static func readWithMetadata(path: String) throws -> (tensors: [String: HostTensor], metadata: [String: String]) {
        let data = try readFileData(path: path)
        return try data.withUnsafeBytes { try parse($0, path: path) }
    }

    /// Writes `tensors` (names sorted, data contiguous in that order) atomically: the bytes go to
    /// a temporary file in the same directory, which is then renamed over `path`, so a reader
    /// never sees a half-written file and an existing file survives a failed write.
    public static func write(_ tensors: [String: HostTensor], to path: String, metadata: [String: String] = [:]) throws {
        if tensors["__metadata__"] != nil {
            throw SinterError.file(path: path, message: "cannot write a tensor named '__metadata__' (the name is reserved for the header metadata)")
        }
        try AtomicFile.write(encode(tensors, metadata: metadata), to: path)
    }

    /// The complete file contents for `tensors`. The header is padded with spaces so the data
    /// section starts at a multiple of 8 bytes (aligned loads when the file is memory-mapped).
    public static func encode(_ tensors: [String: HostTensor], metadata: [String: String] = [:]) -> [UInt8] {
        precondition(tensors["__metadata__"] == nil, "'__metadata__' is not a valid tensor name")
        let names = tensors.keys.sorted()
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let end = offset + t.bytes.count
            entries.append("\(jsonString(name)):{\"dtype\":\"\(t.storage.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while (8 + header.count) % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for name in names { out.append(contentsOf: tensors[name]!.bytes) }
        return out
    }

    // MARK: - Parsing

    /// Validates the header completely before copying any tensor data, so a malformed file
    /// fails with one specific message rather than a crash or a partial result.
    static func parse(_ buffer: UnsafeRawBufferPointer, path: String) throws -> (tensors: [String: HostTensor], metadata: [String: String]) {
        func fail(_ message: String) -> SinterError { .file(path: path, message: message) }

        guard buffer.count >= 8 else {
            throw fail("file is too short to be safetensors: \(buffer.count) bytes, need at least 8 for the header length")
        }
        var rawLength: UInt64 = 0
        withUnsafeMutableBytes(of: &rawLength) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<8])) }
        let headerLength = UInt64(littleEndian: rawLength)
        guard headerLength <= UInt64(buffer.count - 8) else {
            throw fail("header length \(headerLength) exceeds the file size (\(buffer.count) bytes, \(buffer.count - 8) after the 8-byte length); the file is truncated or not safetensors")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = buffer.count - dataStart
        let headerBytes = Data(UnsafeRawBufferPointer(rebasing: buffer[8..<dataStart]))

        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes, options: [])
        } catch {
            throw fail("header (\(headerLength) bytes) is not valid JSON: \(error.localizedDescription); header starts with \(excerpt(headerBytes))")
        }
        guard let header = json as? [String: Any] else {
            throw fail("header is not a JSON object (got \(jsonKind(json)))")
        }

        var metadata: [String: String] = [:]
        if let meta = header["__metadata__"] {
            guard let dict = meta as? [String: Any] else {
                throw fail("\"__metadata__\" must be an object of strings, got \(jsonKind(meta))")
            }
            for (key, value) in dict {
                guard let s = value as? String else {
                    throw fail("\"__metadata__\" entry '\(key)' must be a string, got \(jsonKind(value))")
                }
                metadata[key] = s
            }
        }

        struct Entry { var name: String; var storage: StorageType; var shape: [Int]; var begin: Int; var end: Int }
        var entries: [Entry] = []
        // Sorted so that with several problems the reported one does not depend on hash order.
        for name in header.keys.sorted() where name != "__metadata__" {
            guard let info = header[name] as? [String: Any] else {
                throw fail("tensor '\(name)': header entry must be an object with dtype, shape and data_offsets, got \(jsonKind(header[name]!))")
            }
            guard let dtypeName = info["dtype"] as? String else {
                throw fail("tensor '\(name)': missing or non-string \"dtype\"")
            }
            guard let storage = StorageType(rawValue: dtypeName) else {
                let known = StorageType.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail("tensor '\(name)': unknown dtype '\(dtypeName)' (supported: \(known))")
            }
            guard let shapeList = info["shape"] as? [Any],
                  let shape = shapeList.map(jsonInt).reduce(Optional([Int]()), { acc, v in
                      guard var a = acc, let v = v, v >= 0 else { return nil }
                      a.append(v); return a
                  })
            else {
                throw fail("tensor '\(name)': shape must be a list of non-negative integers, got \(jsonText(info["shape"]))")
            }
            guard let offsetList = info["data_offsets"] as? [Any], offsetList.count == 2,
                  let begin = jsonInt(offsetList[0]), let end = jsonInt(offsetList[1])
            else {
                throw fail("tensor '\(name)': data_offsets must be a pair [begin, end] of integers, got \(jsonText(info["data_offsets"]))")
            }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail("tensor '\(name)': data_offsets [\(begin), \(end)] out of range: the data section is \(dataSize) bytes")
            }
            var elements = 1
            for d in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("tensor '\(name)': shape \(shapeText(shape)) has too many elements") }
                elements = p
            }
            let (expected, overflow) = elements.multipliedReportingOverflow(by: storage.byteSize)
            guard !overflow, expected == end - begin else {
                throw fail("tensor '\(name)': shape \(shapeText(shape)) with dtype \(storage.rawValue) needs \(overflow ? "too many" : String(expected)) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
            }
            entries.append(Entry(name: name, storage: storage, shape: shape, begin: begin, end: end))
        }

        // Two tensors sharing bytes would silently alias; empty tensors occupy no bytes.
        let ranges = entries.filter { $0.end > $0.begin }.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.begin < a.end {
            throw fail("tensors '\(a.name)' data_offsets [\(a.begin), \(a.end)] and '\(b.name)' data_offsets [\(b.begin), \(b.end)] overlap (data section is \(dataSize) bytes)")
        }

        var tensors: [String: HostTensor] = [:]
        tensors.reserveCapacity(entries.count)
        for e in entries {
            let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[(dataStart + e.begin)..<(dataStart + e.end)]))
            tensors[e.name] = HostTensor(storage: e.storage, shape: e.shape, bytes: bytes)
        }
        return (tensors, metadata)
    }

    // MARK: - Helpers

    /// Memory-maps the file when possible so large files are not copied twice.
    static func readFileData(path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SinterError.file(path: path, message: "no such file")
        }
        if isDirectory.boolValue { throw SinterError.file(path: path, message: "is a directory, not a file") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SinterError.file(path: path, message: "cannot read file: \(error.localizedDescription)")
        }
    }

    /// JSON numbers arrive as NSNumber; accept only integer-typed ones (not 1.5, 3.0 or true).
    static func jsonInt(_ value: Any) -> Int? {
        guard let n = value as? NSNumber else { return nil }
        let type = String(cString: n.objCType)
        guard type != "c", type != "d", type != "f", type != "B" else { return nil }
        return value as? Int
    }

    static func jsonKind(_ value: Any) -> String {
        switch value {
        case is [String: Any]: return "an object"
        case is [Any]: return "a list"
        case is String: return "a string"
        case is NSNull: return "null"
        case is NSNumber: return "a number"
        default: return "\(type(of: value))"
        }
    }

    /// Compact JSON text of a header value for error messages.
    static func jsonText(_ value: Any?) -> String {
        guard let value else { return "nothing (key missing)" }
        if JSONSerialization.isValidJSONObject([value]),
           let data = try? JSONSerialization.data(withJSONObject: [value], options: [.fragmentsAllowed]),
           let text = String(data: data, encoding: .utf8) {
            return String(text.dropFirst().dropLast())
        }
        return "\(value)"
    }

    static func excerpt(_ data: Data) -> String {
        let prefix = String(decoding: data.prefix(40), as: UTF8.self)
        return "'\(prefix)\(data.count > 40 ? "..." : "")'"
    }

    /// A JSON string literal, escaping what JSON requires.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

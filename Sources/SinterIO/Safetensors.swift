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
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: path)
    }

    /// The complete file contents for `tensors`. The header is padded with spaces so the data
    /// section starts at a multiple of 8 bytes (aligned loads when the file is memory-mapped).
    public static func encode(_ tensors: [String: HostTensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        // A graph may name a parameter anything; the format reserves this one name.
        if tensors["__metadata__"] != nil {
            throw SinterError.file(path: "<safetensors>", message: "cannot write a tensor named '__metadata__' (the name is reserved for the header metadata)")
        }
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

    /// Headers longer than this are refused (the reference implementation's limit).
    public static let maxHeaderLength = 100_000_000

    /// Validates the header completely before copying any tensor data, so a malformed file
    /// fails with one specific message rather than a crash, a partial result or misread data:
    /// the length is sane, the header is UTF-8 JSON (an object, no duplicate names), each entry
    /// has a known dtype, a shape whose byte size matches its offsets, and the offsets tile the
    /// data section exactly (no gap, no overlap, nothing left over).
    static func parse(_ buffer: UnsafeRawBufferPointer, path: String) throws -> (tensors: [String: HostTensor], metadata: [String: String]) {
        func fail(_ message: String) -> SinterError { .file(path: path, message: message) }

        guard buffer.count >= 8 else {
            throw fail("file is too short to be safetensors: \(buffer.count) bytes, need at least 8 for the header length")
        }
        var rawLength: UInt64 = 0
        withUnsafeMutableBytes(of: &rawLength) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<8])) }
        let headerLength = UInt64(littleEndian: rawLength)
        guard headerLength <= UInt64(maxHeaderLength) else {
            throw fail("header length \(headerLength) is more than the limit of \(maxHeaderLength) bytes; the file is not safetensors or is damaged")
        }
        guard headerLength <= UInt64(buffer.count - 8) else {
            throw fail("header length \(headerLength) exceeds the file size (\(buffer.count) bytes, \(buffer.count - 8) after the 8-byte length); the file is truncated or not safetensors")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = buffer.count - dataStart
        let headerBytes = UnsafeRawBufferPointer(rebasing: buffer[8..<dataStart])
        // A header length off by a few bytes usually shows up as one of these.
        let lengthHint = "; is the header length (\(headerLength)) right?"

        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            let bad = firstInvalidUTF8(headerBytes)
            throw fail("header is not valid UTF-8 (at byte \(bad) of the header: '\(SinterError.excerpt(headerBytes[bad...].prefix(16)))')\(lengthHint)")
        }
        let json: HeaderJSON
        do {
            json = try HeaderJSON.parse(headerBytes)
        } catch let error as HeaderJSON.SyntaxError {
            let from = max(0, error.offset - 20)
            throw fail("header (\(headerLength) bytes) is not valid JSON: \(error.message) at byte \(error.offset) of the header (near '\(SinterError.excerpt(headerBytes[from...].prefix(40)))')\(lengthHint)")
        }
        guard case let .object(header) = json else {
            throw fail("header is not a JSON object (got \(json.kind))")
        }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard case let .object(pairs) = value else {
                    throw fail("\"__metadata__\" must be an object of strings, got \(value.kind)")
                }
                for (key, item) in pairs {
                    guard case let .string(s) = item else {
                        throw fail("\"__metadata__\" entry '\(SinterError.excerpt(key))' must be a string, got \(item.kind)")
                    }
                    metadata[key] = s
                }
                continue
            }
            let e = try entry(name, value, fail: fail)
            guard e.end <= dataSize else {
                throw fail("tensor '\(SinterError.excerpt(name))': data_offsets [\(e.begin), \(e.end)] out of range: the data section is \(dataSize) bytes")
            }
            entries.append(e)
        }

        // The offsets must tile the data section: sorted by position, each tensor starts where
        // the previous one ended (empty tensors occupy no bytes), and the last ends at the end.
        let ordered = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var expected = 0
        var previous: Entry?
        for e in ordered {
            if e.begin < expected, let p = previous {
                throw fail("tensors '\(SinterError.excerpt(p.name))' data_offsets [\(p.begin), \(p.end)] and '\(SinterError.excerpt(e.name))' data_offsets [\(e.begin), \(e.end)] overlap (data section is \(dataSize) bytes)")
            }
            if e.begin > expected {
                throw fail("tensor '\(SinterError.excerpt(e.name))' data_offsets [\(e.begin), \(e.end)] leave a gap: bytes [\(expected), \(e.begin)) of the data section belong to no tensor")
            }
            expected = e.end
            previous = e
        }
        guard expected == dataSize else {
            throw fail("the tensors' data_offsets cover \(expected) bytes but the data section (after the \(headerLength)-byte header) is \(dataSize) bytes\(lengthHint)")
        }

        var tensors: [String: HostTensor] = [:]
        tensors.reserveCapacity(entries.count)
        for e in entries {
            let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[(dataStart + e.begin)..<(dataStart + e.end)]))
            tensors[e.name] = HostTensor(storage: e.storage, shape: e.shape, bytes: bytes)
        }
        return (tensors, metadata)
    }

    /// One tensor's header entry, checked: dtype known, shape non-negative integers whose byte
    /// size (computed without overflow) equals end - begin, offsets ordered.
    private struct Entry { var name: String; var storage: StorageType; var shape: [Int]; var begin: Int; var end: Int }

    private static func entry(_ name: String, _ value: HeaderJSON, fail: (String) -> SinterError) throws -> Entry {
        let label = "tensor '\(SinterError.excerpt(name))'"
        guard case let .object(fields) = value else {
            throw fail("\(label): header entry must be an object with dtype, shape and data_offsets, got \(value.kind)")
        }
        func field(_ key: String) -> HeaderJSON? { fields.first { $0.key == key }?.value }
        guard case let .string(dtypeName)? = field("dtype") else {
            throw fail("\(label): missing or non-string \"dtype\"")
        }
        guard let storage = StorageType(rawValue: dtypeName) else {
            let known = StorageType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("\(label): unknown dtype '\(SinterError.excerpt(dtypeName))' (supported: \(known))")
        }
        guard case let .array(shapeItems)? = field("shape"),
              let shape = integers(shapeItems), shape.allSatisfy({ $0 >= 0 }) else {
            throw fail("\(label): shape must be a list of non-negative integers, got \(field("shape")?.excerpt ?? "nothing (key missing)")")
        }
        guard case let .array(offsetItems)? = field("data_offsets"), let offsets = integers(offsetItems), offsets.count == 2 else {
            throw fail("\(label): data_offsets must be a pair [begin, end] of integers, got \(field("data_offsets")?.excerpt ?? "nothing (key missing)")")
        }
        let begin = offsets[0], end = offsets[1]
        guard begin >= 0, begin <= end else {
            throw fail("\(label): data_offsets [\(begin), \(end)] out of range: begin must be non-negative and not after end")
        }
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("\(label): shape \(shapeText(shape)) has more elements than fit in memory") }
            elements = p
        }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: storage.byteSize)
        guard !overflow, expected == end - begin else {
            throw fail("\(label): shape \(shapeText(shape)) with dtype \(storage.rawValue) needs \(overflow ? "more than Int.max" : String(expected)) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return Entry(name: name, storage: storage, shape: shape, begin: begin, end: end)
    }

    private static func integers(_ items: [HeaderJSON]) -> [Int]? {
        var out: [Int] = []
        for item in items {
            guard case let .integer(v) = item else { return nil }
            out.append(v)
        }
        return out
    }

    private static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int {
        // Grow the prefix until it stops being valid; cheap enough for an error path.
        var good = 0
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2
            let end = min(index + length, bytes.count)
            if String(validating: UnsafeRawBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self) == nil { return index }
            index = end
            good = index
        }
        return good
    }

    // MARK: - Helpers

    /// Memory-maps the file when possible so large files are not copied twice. The path is
    /// checked to be a regular file first (a FIFO would block, a directory gives a Foundation
    /// error dump).
    static func readFileData(path: String, maxBytes: Int = InputFile.defaultMaxBytes) throws -> Data {
        let size = try InputFile.checkRegularFile(path, expected: "a safetensors file")
        guard size <= maxBytes else {
            throw SinterError.file(path: path, message: "is \(size) bytes, more than the limit of \(maxBytes) bytes for a safetensors file")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SinterError.file(path: path, message: "cannot read file (\((error as NSError).localizedFailureReason ?? "I/O error")); expected a safetensors file")
        }
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

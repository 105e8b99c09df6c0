import Foundation
import SinterIO
import SinterIR

/// Reading the tensors of a `torch.save` file without PyTorch, in both formats:
/// - legacy (before torch 1.6, and `_use_new_zipfile_serialization=False`): five pickles in a row
///   (magic number, protocol 1001, system info, the object with storages as persistent ids, the
///   list of storage keys), then for each key an int64 element count and the raw bytes;
/// - zip (the default since 1.6): `<dir>/data.pkl` with the same persistent ids, and each storage
///   in `<dir>/data/<key>`.
/// Every pickle goes through the restricted `Unpickler`. Only little-endian files are read.
public enum TorchCheckpoint {
    static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]  // 0x1950a86a20f9469cfc6c
    static let legacyProtocol = 1001

    /// The tensors of the `torch.save` file at `path`, named by their state-dict keys.
    public static func read(path: String, maxBytes: Int = InputFile.defaultMaxBytes) throws -> [String: HostTensor] {
        try parse(InputFile.read(path, expected: "a torch.save checkpoint (.pth, .pt, .bin)", maxBytes: maxBytes), path: path, maxBytes: maxBytes)
    }

    /// Same, from bytes in memory (either format); `path` names them in errors.
    public static func parse(_ bytes: [UInt8], path: String, maxBytes: Int = InputFile.defaultMaxBytes) throws -> [String: HostTensor] {
        if ZipArchive.looksLikeZip(bytes) { return try parse(zip: ZipArchive(bytes: bytes, path: path), maxBytes: maxBytes) }
        return try parseLegacy(bytes, path: path, maxBytes: maxBytes)
    }

    /// One pickle read the way a checkpoint's object pickle is (storages allowed as persistent
    /// ids), and its tensors' descriptions; what the pickle fuzz target runs.
    public static func unpickle(_ bytes: [UInt8], path: String) throws -> (value: PickleValue, tensors: [String: TorchTensorRef]) {
        var offset = 0
        let value = try Unpickler.load(bytes, offset: &offset, path: path, persistentLoad: StorageTable(path: path).load)
        var tensors: [String: TorchTensorRef] = [:]
        for (name, tensor) in try TorchTensors.collect(value, path: path) { tensors[name] = tensor }
        return (value, tensors)
    }

    /// True when `archive` is a torch zip checkpoint (it has a `<dir>/data.pkl`).
    public static func isCheckpoint(_ archive: ZipArchive) -> Bool { dataPickle(archive) != nil }

    static func dataPickle(_ archive: ZipArchive) -> ZipArchive.Entry? {
        archive.entries.first { $0.name.hasSuffix("/data.pkl") && $0.name.dropLast("/data.pkl".count).allSatisfy { $0 != "/" } }
    }

    /// A persistent id ('storage', torch.XStorage, key, location, numel[, view]) as a storage.
    static func storage(_ id: PickleValue, path: String) throws -> TorchStorageRef {
        func fail(_ message: String) -> SinterError { .file(path: path, message: "persistent id: \(message)") }
        guard case let .tuple(fields) = id, fields.count == 5 || fields.count == 4,
              fields[0].stringValue == "storage" else {
            throw fail("expected ('storage', type, key, location, numel), found a \(id.kind)")
        }
        guard case let .global(.storageType(dtype)) = fields[1] else { throw fail("storage type is a \(fields[1].kind), expected torch.*Storage") }
        let key: String
        switch fields[2] {
        case let .string(s): key = s
        case let .int(i): key = String(i)
        default: throw fail("storage key is a \(fields[2].kind)")
        }
        guard fields.count == 5, let count = fields[4].intValue, count >= 0 else { throw fail("storage '\(key)' has no element count") }
        return TorchStorageRef(key: key, dtype: dtype, count: count)
    }

    /// Storages seen in persistent ids, by key; the same key must keep one type and size.
    final class StorageTable {
        var byKey: [String: TorchStorageRef] = [:]
        let path: String
        init(path: String) { self.path = path }

        func load(_ id: PickleValue) throws -> PickleValue {
            if case let .tuple(fields) = id, fields.count == 6, fields[0].stringValue == "storage", !(fields[5].kind == "None") {
                throw SinterError.file(path: path, message: "persistent id: storage views (legacy view_metadata) are not supported")
            }
            let ref = try TorchCheckpoint.storage(id.droppingView, path: path)
            if let known = byKey[ref.key], known != ref {
                throw SinterError.file(path: path, message: "storage '\(ref.key)' is declared twice with different types or sizes")
            }
            byKey[ref.key] = ref
            return .storage(ref)
        }
    }

    /// The tensors of `object`, at most `maxBytes` of them in all.
    static func tensors(of object: PickleValue, storages: [String: [UInt8]], path: String, maxBytes: Int) throws -> [String: HostTensor] {
        var result: [String: HostTensor] = [:]
        var budget = maxBytes
        for (name, ref) in try TorchTensors.collect(object, path: path) {
            guard let data = storages[ref.storage.key] else {
                throw SinterError.file(path: path, message: "tensor '\(name)' refers to storage '\(ref.storage.key)', which the file does not contain")
            }
            result[name] = try TorchTensors.materialise(ref, name: name, data: data, path: path, budget: &budget)
        }
        return result
    }

    static func parseLegacy(_ bytes: [UInt8], path: String, maxBytes: Int) throws -> [String: HostTensor] {
        guard bytes.first == 0x80 else {
            throw SinterError.file(path: path, message: "is neither a torch.save zip nor a legacy torch.save file (it does not start with a pickle)")
        }
        var offset = 0
        guard case let .bigInt(magic) = try Unpickler.load(bytes, offset: &offset, path: path), magic == legacyMagic else {
            throw SinterError.file(path: path, message: "is not a legacy torch.save file: the first pickle is not the magic number 0x1950a86a20f9469cfc6c")
        }
        let version = try Unpickler.load(bytes, offset: &offset, path: path)
        guard version.intValue == legacyProtocol else {
            throw SinterError.file(path: path, message: "legacy torch.save protocol is \(version.intValue.map(String.init) ?? version.kind), expected 1001")
        }
        if case let .dict(info) = try Unpickler.load(bytes, offset: &offset, path: path),
           let little = info.entries.first(where: { $0.key.stringValue == "little_endian" }), case .bool(false) = little.value {
            throw SinterError.file(path: path, message: "is a big-endian torch.save file, which is not supported")
        }
        let table = StorageTable(path: path)
        let object = try Unpickler.load(bytes, offset: &offset, path: path, persistentLoad: table.load)
        guard case let .list(keys) = try Unpickler.load(bytes, offset: &offset, path: path) else {
            throw SinterError.file(path: path, message: "legacy torch.save: the fifth pickle is not the list of storage keys")
        }
        var storages: [String: [UInt8]] = [:]
        for key in keys.items {
            guard let name = key.stringValue, let ref = table.byKey[name] else {
                throw SinterError.file(path: path, message: "legacy torch.save: storage key \(key.stringValue ?? key.kind) was not declared by any tensor")
            }
            guard offset <= bytes.count - 8 else {
                throw SinterError.file(path: path, message: "truncated: storage '\(name)' has no element count at byte \(offset)")
            }
            let count = bytes[offset..<(offset + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            offset += 8
            guard count == UInt64(ref.count) else {
                throw SinterError.file(path: path, message: "storage '\(name)' holds \(count) elements, but its tensors declare \(ref.count)")
            }
            let (size, overflow) = ref.count.multipliedReportingOverflow(by: ref.dtype.byteSize)
            guard !overflow, size <= bytes.count - offset else {
                throw SinterError.file(path: path, message: "truncated: storage '\(name)' needs \(ref.count) x \(ref.dtype.byteSize) bytes at byte \(offset), \(bytes.count - offset) left")
            }
            storages[name] = Array(bytes[offset..<(offset + size)])
            offset += size
        }
        return try tensors(of: object, storages: storages, path: path, maxBytes: maxBytes)
    }

    static func parse(zip archive: ZipArchive, maxBytes: Int) throws -> [String: HostTensor] {
        let path = archive.path
        guard let pickle = dataPickle(archive) else {
            throw SinterError.file(path: path, message: "is a zip file but not a torch.save checkpoint (no <dir>/data.pkl)")
        }
        let directory = String(pickle.name.dropLast("data.pkl".count))
        if let order = archive.entry(named: directory + "byteorder") {
            let text = String(decoding: try archive.read(order, maxBytes: 16), as: UTF8.self)
            guard text == "little" else { throw SinterError.file(path: path, message: "byteorder is '\(text)'; only little-endian checkpoints are read") }
        }
        let table = StorageTable(path: path)
        var offset = 0
        let object = try Unpickler.load(try archive.read(pickle, maxBytes: maxBytes), offset: &offset, path: "\(path)#\(pickle.name)", persistentLoad: table.load)
        var storages: [String: [UInt8]] = [:]
        for (key, ref) in table.byKey {
            let name = "\(directory)data/\(key)"
            guard let entry = archive.entry(named: name) else {
                throw SinterError.file(path: path, message: "storage '\(key)' is missing (no member '\(name)')")
            }
            let (size, overflow) = ref.count.multipliedReportingOverflow(by: ref.dtype.byteSize)
            guard !overflow, entry.uncompressedSize == size else {
                throw SinterError.file(path: path, message: "member '\(name)' is \(entry.uncompressedSize) bytes; storage '\(key)' declares \(ref.count) x \(ref.dtype.byteSize)")
            }
            storages[key] = try archive.read(entry, maxBytes: maxBytes)
        }
        return try tensors(of: object, storages: storages, path: path, maxBytes: maxBytes)
    }
}

extension PickleValue {
    /// A legacy persistent id with its trailing `None` view field dropped.
    var droppingView: PickleValue {
        if case let .tuple(fields) = self, fields.count == 6 { return .tuple(Array(fields.prefix(5))) }
        return self
    }
}

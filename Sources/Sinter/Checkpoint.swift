import Foundation
import SinterIO
import SinterIR
import SinterRuntime

/// A training checkpoint: every persistent tensor (weights, optimizer slots, BatchNorm
/// statistics, counters) plus the trainer's own state (step, data order), in one file:
///
///     "SINTERCK" | format version (u32 LE) | SHA-256 of the payload (32 bytes) | zstd(payload)
///
/// where the payload is a safetensors file whose metadata holds `model`, `step` and the
/// trainer's fields. Written to a temporary file and renamed, so a crash never leaves half a
/// checkpoint; every read checks magic, version, checksum, model and shapes before anything is
/// loaded.
public struct Checkpoint: Equatable {
    public static let magic = Array("SINTERCK".utf8)
    public static let formatVersion: UInt32 = 1

    public var model: String
    public var step: Int
    /// Tensors by name: persistent tensors as they are, trainer state under `trainer.*`.
    public var tensors: [String: HostTensor]
    /// Small string facts (seed, batch size) kept for `sinter` to report and check.
    public var metadata: [String: String]

    public init(model: String, step: Int, tensors: [String: HostTensor], metadata: [String: String] = [:]) {
        self.model = model
        self.step = step
        self.tensors = tensors
        self.metadata = metadata
    }

    public func write(to path: String) throws {
        try AtomicFile.write(try encoded(), to: path)
    }

    /// The file's bytes: header, checksum and compressed payload.
    public func encoded() throws -> [UInt8] {
        var meta = metadata
        meta["model"] = model
        meta["step"] = String(step)
        return Self.seal(payload: try Safetensors.encode(tensors, metadata: meta))
    }

    /// Wraps a payload (a safetensors file) in the checkpoint header with its checksum. Public
    /// so that tests can craft checkpoints whose checksum is right and whose fields are not.
    public static func seal(payload: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(payload)
        var bytes = magic
        withUnsafeBytes(of: formatVersion.littleEndian) { bytes += $0 }
        bytes += hasher.finalize()
        bytes += Zstd.compress(payload, level: 3)
        return bytes
    }

    /// The payload of a checkpoint file after checking magic, version and checksum.
    public static func unseal(_ data: [UInt8], path: String) throws -> [UInt8] {
        let headerSize = magic.count + 4 + 32
        guard data.count >= headerSize, Array(data[0..<magic.count]) == magic else {
            throw SinterError.file(path: path, message: "not a Sinter checkpoint (bad magic; \(data.count) bytes)")
        }
        let version = data[magic.count..<magic.count + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
        guard version == formatVersion else {
            throw SinterError.file(path: path, message: "checkpoint format version \(version); this Sinter reads version \(formatVersion)")
        }
        let checksum = Array(data[(magic.count + 4)..<headerSize])
        let payload = try Zstd.decompress(Array(data[headerSize...]), source: path)
        var hasher = SHA256()
        hasher.update(payload)
        guard hasher.finalize() == checksum else {
            throw SinterError.file(path: path, message: "checkpoint is corrupt: checksum mismatch")
        }
        return payload
    }

    public static func read(path: String) throws -> Checkpoint {
        try decode(try readFile(path), path: path)
    }

    /// A checkpoint from a file's bytes; `path` names it in errors. Checks the header and the
    /// metadata fields (model, step, seed, batch); the tensors are checked against a model by
    /// `restore` and `Trainer.restore`.
    public static func decode(_ data: [UInt8], path: String) throws -> Checkpoint {
        let payload = try unseal(data, path: path)
        let (tensors, metadata) = try Safetensors.parseWithMetadata(data: payload, path: path)
        guard let model = metadata["model"] else { throw fieldError(path, "model", "missing") }
        guard !model.isEmpty, model.utf8.count <= 200,
              model.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) else {
            throw fieldError(path, "model", "'\(excerpt(model))' is not a model name")
        }
        guard let stepText = metadata["step"] else { throw fieldError(path, "step", "missing") }
        guard let step = Int(stepText), (0...maxStep).contains(step) else {
            throw fieldError(path, "step", "'\(excerpt(stepText))' is not a step count in 0...\(maxStep)")
        }
        if let seed = metadata["seed"], UInt64(seed) == nil {
            throw fieldError(path, "seed", "'\(excerpt(seed))' is not an unsigned 64-bit integer")
        }
        if let batch = metadata["batch"], Int(batch).map({ $0 >= 1 }) != true {
            throw fieldError(path, "batch", "'\(excerpt(batch))' is not a batch size (a positive integer)")
        }
        return Checkpoint(model: model, step: step, tensors: tensors,
                          metadata: metadata.filter { $0.key != "model" && $0.key != "step" })
    }

    /// The bytes of a regular file, its type checked first (a FIFO would block the read).
    static func readFile(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SinterError.file(path: path, message: "no such checkpoint file")
        }
        guard !isDirectory.boolValue else { throw SinterError.file(path: path, message: "is a directory, not a checkpoint file") }
        let type = (try? FileManager.default.attributesOfItem(atPath: path)[.type]) as? FileAttributeType
        guard type == .typeRegular else {
            throw SinterError.file(path: path, message: "is not a regular file (\(type?.rawValue ?? "unknown type")); expected a checkpoint file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SinterError.file(path: path, message: "cannot open the checkpoint for reading")
        }
        defer { try? handle.close() }
        do { return [UInt8](try handle.readToEnd() ?? Data()) } catch {
            throw SinterError.file(path: path, message: "cannot read the checkpoint: \((error as NSError).localizedFailureReason ?? "read error")")
        }
    }

    /// Loads the persistent tensors into `executable` after checking the model name and that the
    /// checkpoint has every persistent tensor with the right dtype, shape and finite values
    /// (nothing is written on error).
    public func restore(into executable: Executable, model expected: String, path: String) throws {
        try checkModel(expected, path: path)
        try validate(slots: executable.program.persistent, path: path)
        try executable.loadPersistent(tensors, requireAll: true)
    }

    public func checkModel(_ expected: String, path: String) throws {
        guard model == expected else {
            throw SinterError.file(path: path, message: "checkpoint is for model '\(Self.excerpt(model))', not '\(expected)'")
        }
    }
}

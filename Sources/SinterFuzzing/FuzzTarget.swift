import Foundation
import Sinter

/// The parsers under fuzz, each with valid seed inputs generated here (no files needed) and the
/// call into the real parser. Limits are lowered (64 MiB) so a mutant cannot make a run slow by
/// legitimately asking for gigabytes.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case safetensors, idx, gzip, zstd, png, jpeg, ir, checkpoint, zip, pickle, torch, onnx

    static let maxBytes = 64 << 20

    public func seeds() throws -> [[UInt8]] {
        switch self {
        case .safetensors:
            return try Self.tensorSets.map { try Safetensors.encode($0, metadata: ["note": "seed"]) } + [try Safetensors.encode([:])]
        case .idx:
            let plain = Self.idxImages
            return [plain, try Gzip.compress(plain), [0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]]
        case .gzip:
            let text = Array(String(repeating: "gzip fuzz seed text, ", count: 40).utf8)
            return [try Gzip.compress(text), try Gzip.compress([]), try Gzip.compress(text) + Gzip.compress(Self.noise(300, seed: 2)),
                    try Gzip.compress(Self.noise(2000, seed: 3), level: 1)]
        case .zstd:
            return [Zstd.compress(Self.noise(1000, seed: 4)), Zstd.compress([]), Zstd.compress(Self.idxImages) + Zstd.compress([1, 2, 3]),
                    Zstd.compress([UInt8](repeating: 5, count: 128 * 1024))]
        case .png:
            let context = try FuzzContext()
            defer { context.cleanUp() }
            var seeds: [[UInt8]] = []
            for (channels, size) in [(1, 3), (3, 5), (3, 1)] {
                let path = "\(context.directory)/seed.png"
                try PNGImage.write(path: path, width: size, height: size + 1, channels: channels, pixels: Self.noise(size * (size + 1) * channels, seed: UInt64(size)))
                seeds.append(try InputFile.read(path, expected: RasterImage.expected))
            }
            return seeds
        case .jpeg:
            return JPEGSeeds.base64.map { [UInt8](Data(base64Encoded: $0)!) }
        case .ir:
            return Self.irTexts.map { Array($0.utf8) }
        case .checkpoint:
            return try Self.tensorSets.map { try Safetensors.encode($0, metadata: ["model": "fuzz", "step": "7", "seed": "1"]) }
        case .zip:
            return [try ZipWriter.encode([.init(name: "pkg/a.txt", data: Array("stored member".utf8), deflate: false),
                                          .init(name: "pkg/b.bin", data: Self.noise(300, seed: 5) + [UInt8](repeating: 7, count: 500), deflate: true)]),
                    try ZipWriter.encode([]), try PickleWriter.zipCheckpoint(Self.tensorSets[1], deflate: true)]
        case .pickle:
            var state = PickleWriter()
            state.stateDict(Self.tensorSets[0], legacyView: true)
            // Also the shapes of past bugs, so mutants explore around them: sub-lists shared
            // through the memo (a walk of 2^k paths) and a tensor view with stride 0.
            var shared = PickleWriter()
            shared.proto(2); shared.emptyList(); shared.none(); shared.op(0x61); shared.put(0)
            for k in 1...6 { shared.op(0x30); shared.emptyList(); shared.mark(); shared.get(k - 1); shared.get(k - 1); shared.appends(); shared.put(k) }
            shared.stop()
            var broadcast = PickleWriter()
            broadcast.proto(2); broadcast.global("torch._utils", "_rebuild_tensor_v2")
            broadcast.mark(); broadcast.mark(); broadcast.string("storage"); broadcast.global("torch", "FloatStorage"); broadcast.string("0")
            broadcast.string("cpu"); broadcast.int(1); broadcast.tuple(); broadcast.persistentID()
            broadcast.int(0); broadcast.mark(); broadcast.int(4); broadcast.int(3); broadcast.tuple(); broadcast.mark(); broadcast.int(0); broadcast.int(0); broadcast.tuple()
            broadcast.bool(false); broadcast.none(); broadcast.tuple(); broadcast.reduce(); broadcast.stop()
            return [state.bytes, Self.plainPickle, shared.bytes, broadcast.bytes]
        case .onnx:
            return ONNXSeeds.all
        case .torch:
            return Self.tensorSets.map { PickleWriter.legacyCheckpoint($0) } + [try PickleWriter.zipCheckpoint(Self.tensorSets[0])]
        }
    }

    /// Runs the real parser on `input`; throws what it throws.
    public func parse(_ input: [UInt8], context: FuzzContext) throws {
        switch self {
        case .safetensors:
            _ = try Safetensors.read(data: input, path: "<fuzz>.safetensors")
        case .idx:
            let data = input.starts(with: [0x1f, 0x8b]) ? try Gzip.decompress(input, source: "<fuzz>.idx.gz", maxBytes: Self.maxBytes) : input
            _ = try IDXFile.parse(data, path: "<fuzz>.idx")
        case .gzip:
            _ = try Gzip.decompress(input, source: "<fuzz>.gz", maxBytes: Self.maxBytes)
        case .zstd:
            _ = try Zstd.decompress(input, source: "<fuzz>.zst", maxBytes: Self.maxBytes)
        case .png:
            _ = try PNGImage.decode(input, path: "<fuzz>.png", maxPixelBytes: Self.maxBytes)
        case .jpeg:
            // Both upsampling methods: one in two inputs each.
            _ = try JPEGImage.decode(input, path: "<fuzz>.jpg", maxPixelBytes: Self.maxBytes, fancyUpsampling: input.count % 2 == 0)
        case .ir:
            let graph = try parseIR(String(decoding: input, as: UTF8.self), file: "<fuzz>.sir")
            try verify(graph)
        case .checkpoint:
            // The input is the payload, sealed with a valid checksum so mutations reach the
            // fields behind it; one in five also damages the sealed file itself.
            var file = Checkpoint.magic
            withUnsafeBytes(of: Checkpoint.formatVersion.littleEndian) { file += $0 }
            var hasher = SHA256()
            hasher.update(input)
            file += hasher.finalize()
            file += Zstd.compress(input, level: 1)
            if input.count % 5 == 0, !file.isEmpty { file[input.count % file.count] ^= 0x41 }
            _ = try Checkpoint.read(path: try context.file("fuzz.ckpt", file))
        case .zip:
            let archive = try ZipArchive(bytes: input, path: "<fuzz>.zip")
            for entry in archive.entries { _ = try archive.read(entry, maxBytes: Self.maxBytes) }
        case .pickle:
            _ = try TorchCheckpoint.unpickle(input, path: "<fuzz>.pkl")
        case .torch:
            _ = try TorchCheckpoint.parse(input, path: "<fuzz>.pth", maxBytes: Self.maxBytes)
        case .onnx:
            // Decoding and the whole import (shape inference, folding, layout) on each mutant;
            // the imported graph must pass the verifier.
            let imported = try ONNXImporter(model: ONNXProtoDecoder.decodeModel(input, path: "<fuzz>.onnx"), path: "<fuzz>.onnx").run()
            try verify(imported.graph)
        }
    }

    static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    /// Protocol-4 plain data as Python writes it: FRAME, MEMOIZE, SHORT_BINUNICODE, LONG1,
    /// BINFLOAT, SHORT_BINBYTES, TUPLE3, STACK_GLOBAL of collections.OrderedDict, SETITEMS.
    static let plainPickle: [UInt8] = [
        0x80, 0x04, 0x95, 0x30, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94, 0x28, 0x8c, 0x01, 0x69, 0x94, 0x5d, 0x94, 0x28, 0x4b, 0x00,
        0x4d, 0xff, 0xff, 0x8a, 0x06, 0, 0, 0, 0, 0, 0x01, 0x65, 0x8c, 0x01, 0x66, 0x47, 0x3f, 0xd0, 0, 0, 0, 0, 0, 0,
        0x8c, 0x01, 0x62, 0x43, 0x02, 0x00, 0x01, 0x8c, 0x01, 0x74, 0x4e, 0x88, 0x89, 0x87, 0x94,
        0x8c, 0x02, 0x6f, 0x64, 0x8c, 0x0b] + Array("collections".utf8) + [0x8c, 0x0b] + Array("OrderedDict".utf8) +
        [0x93, 0x29, 0x52, 0x8c, 0x01, 0x61, 0x4b, 0x01, 0x73, 0x75, 0x2e]

    static var idxImages: [UInt8] { [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4] + noise(32, seed: 1) }

    static var tensorSets: [[String: HostTensor]] {
        [["w": HostTensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]), "b": HostTensor(storage: .u8, shape: [0], bytes: []),
          "step": HostTensor(storage: .i64, shape: [], bytes: [7, 0, 0, 0, 0, 0, 0, 0])],
         ["trainer.order": HostTensor(storage: .i64, shape: [3], bytes: noise(24, seed: 9)),
          "x": HostTensor(storage: .f64, shape: [1, 1], bytes: [0, 0, 0, 0, 0, 0, 240, 63])]]
    }

    static let irTexts = [
        """
        graph seed {
          %0 = input {name="a"} : f32[2,3] @ A.swift:1
          %1 = param {init="ones", name="b"} : f32[3] @ A.swift:2
          %2 = add(%0, %1) : f32[2,3] @ A.swift:3
          %3 = reduce_sum(%2) {axes=[0,1]} : f32[] @ A.swift:4
          output "sum" = %3
          output "raw" = %2
        }

        """,
        """
        graph small {
          %0 = input {name="x"} : f32[4,4]
          %1 = relu(%0) : f32[4,4]
          output "y" = %1
        }

        """,
        // The index ops: an i32 result, and a type that alone gives one_hot's depth.
        """
        graph classify {
          %0 = input {name="z"} : f32[3,5]
          %1 = argmax(%0) {axis=1} : i32[3]
          %2 = one_hot(%1) : f32[3,5]
          %3 = stop_gradient(%0) : f32[3,5]
          %4 = mul(%2, %3) : f32[3,5]
          output "picked" = %4
        }

        """,
    ]
}

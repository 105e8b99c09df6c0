import Foundation
import Sinter

/// The parsers under fuzz, each with valid seed inputs generated here (no files needed) and the
/// call into the real parser. Limits are lowered (64 MiB) so a mutant cannot make a run slow by
/// legitimately asking for gigabytes.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case safetensors, idx, gzip, zstd, png, ir, checkpoint

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
                seeds.append(try InputFile.read(path, expected: "a PNG image"))
            }
            return seeds
        case .ir:
            return Self.irTexts.map { Array($0.utf8) }
        case .checkpoint:
            return try Self.tensorSets.map { try Safetensors.encode($0, metadata: ["model": "fuzz", "step": "7", "seed": "1"]) }
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
        }
    }

    static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

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
    ]
}

import Foundation
import SinterIR

/// The initial values of params and state, from a slot's `init` attribute.
///
/// Deterministic by construction: each slot draws from its own generator seeded from
/// (run seed, slot name), so the values of `dense1/kernel` depend on nothing else: adding,
/// removing or reordering other params never changes them, and neither does the block layout.
public enum ParameterInitializer: Equatable, Sendable {
    case zeros
    case ones
    /// Keras GlorotUniform: uniform in ±sqrt(6 / (fan_in + fan_out)).
    case glorotUniform
    /// Keras HeNormal: truncated normal (cut at 2 sigma) whose spread gives std sqrt(2 / fan_in).
    case heNormal
    /// `normal:<std>`: plain normal with mean 0.
    case normal(std: Double)
    /// `uniform:<low>:<high>`.
    case uniform(low: Double, high: Double)

    /// Parses an `init` attribute; nil for anything unknown or malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch (parts[0], parts.count) {
        case ("zeros", 1): self = .zeros
        case ("ones", 1): self = .ones
        case ("glorot_uniform", 1): self = .glorotUniform
        case ("he_normal", 1): self = .heNormal
        case ("normal", 2):
            guard let std = Double(parts[1]), std.isFinite, std >= 0 else { return nil }
            self = .normal(std: std)
        case ("uniform", 3):
            guard let low = Double(parts[1]), let high = Double(parts[2]), low.isFinite, high.isFinite, low <= high else { return nil }
            self = .uniform(low: low, high: high)
        default: return nil
        }
    }

    /// Keras's fan rule (`_compute_fans`): rank 2 `(in, out)`; rank 1 `n, n`; rank 0 `1, 1`; rank ≥ 3
    /// treats every axis but the last two as the receptive field, which matches Keras for conv
    /// kernels `(kh, kw, in, out)` and conv-transpose kernels `(kh, kw, out, in)` alike.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (shape[0], shape[0])
        case 2: return (shape[0], shape[1])
        default:
            let receptive = shape.dropLast(2).reduce(1, *)
            return (receptive * shape[shape.count - 2], receptive * shape[shape.count - 1])
        }
    }

    /// Keras divides the truncated normal's stddev by this (the std of a unit normal truncated at
    /// ±2) so that the values actually drawn have the intended std.
    static let truncatedNormalCorrection = 0.87962566103423978

    /// Fills `count` values for a tensor of `shape`, drawing from `random`.
    func values(shape: [Int], random: inout SlotRandom) -> [Double] {
        let count = shape.reduce(1, *)
        let (fanIn, fanOut) = Self.fans(shape)
        switch self {
        case .zeros:
            return [Double](repeating: 0, count: count)
        case .ones:
            return [Double](repeating: 1, count: count)
        case .glorotUniform:
            let limit = (6.0 / Double(max(1, fanIn + fanOut))).squareRoot()
            return (0..<count).map { _ in random.uniform(-limit, limit) }
        case .heNormal:
            let sigma = (2.0 / Double(max(1, fanIn))).squareRoot() / Self.truncatedNormalCorrection
            return (0..<count).map { _ in
                var z = random.normal()
                while abs(z) > 2 { z = random.normal() }  // resample, like tf.random.truncated_normal
                return z * sigma
            }
        case let .normal(std):
            return (0..<count).map { _ in random.normal() * std }
        case let .uniform(low, high):
            return (0..<count).map { _ in random.uniform(low, high) }
        }
    }
}

/// xoshiro256** seeded through SplitMix64 from FNV-1a(name) ^ seed: one independent, reproducible
/// stream per persistent slot. (Swift's SystemRandomNumberGenerator cannot be seeded.)
struct SlotRandom {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spareNormal: Double?

    init(seed: UInt64, name: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        var splitmix = hash ^ seed
        func next() -> UInt64 {
            splitmix &+= 0x9e37_79b9_7f4a_7c15
            var z = splitmix
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        s0 = next(); s1 = next(); s2 = next(); s3 = next()
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * unit() }

    /// Standard normal by Box-Muller (both values of each pair are used).
    mutating func normal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        let u1 = 1 - unit()  // (0, 1]: log is finite
        let u2 = unit()
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spareNormal = radius * Foundation.sin(angle)
        return radius * Foundation.cos(angle)
    }
}

import Sinter

/// Seeded byte-level mutations, the engine shared by the fuzz tests and `sinter-fuzz`: flips,
/// overwrites with boundary values, truncations, insertions, deletions, duplications, length-field
/// tweaks (4- and 8-byte integers, both byte orders) and digit-run rewrites for text formats.
/// Deterministic for a given seed, so any failure replays.
public struct Mutator {
    public private(set) var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(generator.next() % UInt64(n)) }

    /// `input` with 1 to 4 mutations applied.
    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) { mutateOnce(&bytes) }
        return bytes
    }

    static let boundaryBytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x5b, 0x7b, 0x2c, 0x2d]
    static let boundaryWords: [UInt64] = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x7fff_ffff,
                                          0x8000_0000, 0xffff_ffff, 0x1_0000_0000, UInt64(Int64.max), UInt64.max]
    static let digitRuns = ["0", "1", "-1", "65536", "2147483648", "4294967296", "9223372036854775807",
                            "9223372036854775808", "18446744073709551616", "1e9", "1.5", "-0", "00"]

    mutating func mutateOnce(_ bytes: inout [UInt8]) {
        if bytes.isEmpty { bytes = [UInt8(truncatingIfNeeded: generator.next())]; return }
        let at = below(bytes.count)
        switch below(10) {
        case 0: bytes[at] ^= 1 << UInt8(below(8))
        case 1: bytes[at] = Self.boundaryBytes[below(Self.boundaryBytes.count)]
        case 2: bytes[at] = UInt8(truncatingIfNeeded: generator.next())
        case 3: bytes.removeLast(below(bytes.count) + 1)  // truncate
        case 4:  // insert random bytes
            let count = 1 + below(16)
            bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }, at: at)
        case 5: bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(32)))
        case 6:  // duplicate a range
            let end = min(bytes.count, at + 1 + below(64))
            bytes.insert(contentsOf: Array(bytes[at..<end]), at: below(bytes.count))
        case 7, 8: tweakLengthField(&bytes)
        default: rewriteDigits(&bytes)
        }
    }

    /// Adds a small delta to, or overwrites with a boundary value, a 4- or 8-byte integer at a
    /// random (often aligned, often header) position, little- or big-endian.
    mutating func tweakLengthField(_ bytes: inout [UInt8]) {
        let width = below(2) == 0 ? 4 : 8
        guard bytes.count >= width else { return }
        // Headers hold most length fields: favour the first 64 bytes.
        let limit = below(2) == 0 ? min(bytes.count - width + 1, 64) : bytes.count - width + 1
        var at = below(limit)
        if below(2) == 0 { at -= at % width }
        let bigEndian = below(2) == 0
        var value: UInt64 = 0
        for i in 0..<width {
            let b = UInt64(bytes[at + (bigEndian ? i : width - 1 - i)])
            value = value << 8 | b
        }
        if below(2) == 0 {
            let delta = UInt64(1 + below(8))
            value = below(2) == 0 ? value &+ delta : value &- delta
        } else {
            value = Self.boundaryWords[below(Self.boundaryWords.count)]
        }
        for i in 0..<width {
            let shift = UInt64(8 * (bigEndian ? width - 1 - i : i))
            bytes[at + i] = UInt8(truncatingIfNeeded: value >> shift)
        }
    }

    /// Replaces a run of ASCII digits (a JSON number, an IR dimension) with a boundary number.
    mutating func rewriteDigits(_ bytes: inout [UInt8]) {
        let isDigit: (UInt8) -> Bool = { $0 >= 0x30 && $0 <= 0x39 }
        let start = below(bytes.count)
        guard let first = bytes[start...].firstIndex(where: isDigit) ?? bytes[..<start].firstIndex(where: isDigit) else {
            bytes[below(bytes.count)] = UInt8(ascii: "9")
            return
        }
        let end = bytes[first...].firstIndex { !isDigit($0) } ?? bytes.count
        bytes.replaceSubrange(first..<end, with: Array(Self.digitRuns[below(Self.digitRuns.count)].utf8))
    }
}

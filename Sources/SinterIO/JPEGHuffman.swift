/// Why a JPEG cannot be decoded, without the file name: `JPEGImage.decode` adds the path and
/// turns it into a `SinterError.file`.
struct JPEGFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// One Huffman table of a DHT segment (ITU T.81 Annex C), for decoding MSB-first codes: a 9-bit
/// lookup answers the short codes in one step, and the canonical per-length limits (the largest
/// code of each length, T.81 F.2.2.3) answer the codes of 10 to 16 bits.
struct JPEGHuffmanTable {
    static let lookupBits = 9
    /// Indexed by the next 9 bits: symbol << 8 | code length, or 0 when the code is longer than
    /// 9 bits (a real entry has a length of at least 1, so it is never 0).
    private(set) var lookup = [UInt16](repeating: 0, count: 1 << lookupBits)
    /// Indexed by code length (1...16): the largest code of that length, -1 when there is none.
    private(set) var maxCode = [Int](repeating: -1, count: 17)
    /// Indexed by code length: what to add to a code of that length to get its symbol's index.
    private(set) var symbolOffset = [Int](repeating: 0, count: 17)
    let symbols: [UInt8]

    /// `counts[i]` codes of length i + 1, for `symbols` in order. Refused as libjpeg refuses it
    /// (jdhuff.c): more codes of a length than fit, which includes using the all-ones code.
    init(counts: [Int], symbols: [UInt8]) throws {
        self.symbols = symbols
        var code = 0, index = 0
        for length in 1...16 {
            let count = counts[length - 1]
            symbolOffset[length] = index - code
            if count > 0 {
                for _ in 0..<count {
                    if length <= Self.lookupBits {
                        let shift = Self.lookupBits - length
                        let entry = UInt16(symbols[index]) << 8 | UInt16(length)
                        for low in 0..<(1 << shift) { lookup[code << shift | low] = entry }
                    }
                    code += 1
                    index += 1
                    // Checked before the next code is used, so the lookup is never overrun.
                    guard code < 1 << length else {
                        throw JPEGFailure("bad Huffman table: \(count) codes of length \(length) do not fit")
                    }
                }
                maxCode[length] = code - 1
            }
            code <<= 1
        }
    }
}

/// The bits of an entropy-coded segment, MSB first, with the 0xFF 0x00 byte stuffing removed
/// (T.81 F.1.2.3). Reading stops at a marker: past it, and past the end of the file, zero bits
/// are supplied so a Huffman lookup may peek ahead, and `overran` tells whether any of those made-up
/// bits were consumed, which means the data is truncated or corrupt.
struct JPEGBitReader {
    let data: [UInt8]
    /// The next byte to read; at a marker, the position of its 0xFF.
    private(set) var position: Int
    /// Unread bits, left-aligned, and how many there are.
    private var bits: UInt64 = 0
    private var count = 0
    /// How many of the `count` bits (always the last ones) are made up.
    private var padding = 0
    private var atMarker = false

    init(data: [UInt8], position: Int) {
        self.data = data
        self.position = position
    }

    var overran: Bool { count < padding }

    private mutating func fill() {
        while count <= 56 {
            var byte: UInt64 = 0
            if !atMarker && position < data.count {
                let value = data[position]
                if value != 0xFF {
                    byte = UInt64(value)
                    position += 1
                } else {
                    // 0xFF then 0x00 is a data byte 0xFF; 0xFF fill bytes may come before either.
                    var next = position + 1
                    while next < data.count && data[next] == 0xFF { next += 1 }
                    if next < data.count && data[next] == 0 {
                        byte = 0xFF
                        position = next + 1
                    } else {
                        position = next - 1
                        atMarker = true
                    }
                }
            } else {
                atMarker = true
            }
            if atMarker { padding += 8 }
            bits |= byte << (56 - count)
            count += 8
        }
    }

    private mutating func consume(_ n: Int) {
        bits <<= UInt64(n)
        count -= n
    }

    /// The next `n` bits (1...16) as an unsigned number.
    mutating func bits(_ n: Int) -> Int {
        if count < n { fill() }
        let value = Int(bits >> UInt64(64 - n))
        consume(n)
        return value
    }

    mutating func bit() -> Bool { bits(1) != 0 }

    /// `n` bits as the signed value of magnitude category `n` (T.81 F.2.2.1, EXTEND).
    mutating func signed(_ n: Int) -> Int {
        guard n > 0 else { return 0 }
        let value = bits(n)
        return value < 1 << (n - 1) ? value - (1 << n) + 1 : value
    }

    /// The next symbol coded with `table`.
    mutating func decode(_ table: JPEGHuffmanTable) throws -> Int {
        if count < 16 { fill() }
        let entry = table.lookup[Int(bits >> UInt64(64 - JPEGHuffmanTable.lookupBits))]
        if entry != 0 {
            consume(Int(entry & 0xFF))
            return Int(entry >> 8)
        }
        for length in (JPEGHuffmanTable.lookupBits + 1)...16 {
            let code = Int(bits >> UInt64(64 - length))
            if code <= table.maxCode[length] {
                consume(length)
                let index = code + table.symbolOffset[length]
                guard index >= 0 && index < table.symbols.count else { break }
                return Int(table.symbols[index])
            }
        }
        throw JPEGFailure("corrupt entropy-coded data: no Huffman code matches near byte \(position)")
    }

    /// The position of the marker that ends the data read so far: where reading stopped, or the
    /// first 0xFF not followed by 0x00 or 0xFF after it (bytes in between are skipped, as libjpeg
    /// skips them with a warning). `data.count` when the file ends first.
    mutating func markerPosition() -> Int {
        var at = position
        while at < data.count {
            if data[at] == 0xFF {
                var next = at + 1
                while next < data.count && data[next] == 0xFF { next += 1 }
                if next >= data.count { return data.count }
                if data[next] != 0 { return next - 1 }
                at = next + 1
            } else {
                at += 1
            }
        }
        return data.count
    }

    /// Moves past the restart marker RST`index` (0...7) that ends a restart interval, dropping
    /// the padding bits before it and starting a fresh byte-aligned read after it.
    mutating func restart(index: Int) throws {
        let at = markerPosition()
        guard at + 1 < data.count else {
            throw JPEGFailure("truncated: the file ends where restart marker RST\(index) was expected")
        }
        let marker = data[at + 1]
        guard marker == 0xD0 + UInt8(index) else {
            throw JPEGFailure("bad marker: expected restart marker RST\(index) (0xFF\(JPEGMarker.hex(0xD0 + UInt8(index)))) at byte \(at), found 0xFF\(JPEGMarker.hex(marker))")
        }
        position = at + 2
        bits = 0
        count = 0
        padding = 0
        atMarker = false
    }
}

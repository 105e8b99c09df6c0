/// The marker codes of a JPEG file (the byte after 0xFF, ITU T.81 Table B.1) and which of them
/// Sinter decodes: Huffman-coded baseline, extended sequential and progressive 8-bit frames.
enum JPEGMarker {
    static let soi: UInt8 = 0xD8, eoi: UInt8 = 0xD9, sos: UInt8 = 0xDA, dqt: UInt8 = 0xDB, dri: UInt8 = 0xDD
    static let dht: UInt8 = 0xC4, sof0: UInt8 = 0xC0, sof1: UInt8 = 0xC1, sof2: UInt8 = 0xC2
    static let app0: UInt8 = 0xE0, app14: UInt8 = 0xEE, com: UInt8 = 0xFE

    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }

    /// Why a file holding marker `code` is refused, or nil when the marker is one Sinter reads
    /// or skips.
    static func refusal(_ code: UInt8) -> String? {
        switch code {
        case 0xC3: return "lossless JPEG (SOF3) is not supported"
        case 0xC5, 0xC6, 0xC7, 0xDE, 0xDF: return "hierarchical JPEG (\(name(code))) is not supported"
        case 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xCC: return "arithmetic coding (\(name(code))) is not supported, only Huffman coding"
        case 0xDC: return "a DNL marker (height given after the first scan) is not supported"
        case 0xC8, 0x02...0xBF, 0xF0...0xFD: return "unsupported marker 0xFF\(hex(code))"
        default: return nil
        }
    }

    static func name(_ code: UInt8) -> String {
        switch code {
        case 0xC0...0xCF where code != dht && code != 0xC8 && code != 0xCC: return "SOF\(code - 0xC0)"
        case dht: return "DHT"
        case 0xCC: return "DAC"
        case 0xD0...0xD7: return "RST\(code - 0xD0)"
        case soi: return "SOI"
        case eoi: return "EOI"
        case sos: return "SOS"
        case dqt: return "DQT"
        case 0xDC: return "DNL"
        case dri: return "DRI"
        case 0xDE: return "DHP"
        case 0xDF: return "EXP"
        case 0xE0...0xEF: return "APP\(code - 0xE0)"
        case com: return "COM"
        default: return "0xFF\(hex(code))"
        }
    }
}

/// The bytes of one marker segment after its length field, read with bounds checks: a
/// segment shorter than its fields is an error naming the segment and its file offset.
struct JPEGSegment {
    let bytes: ArraySlice<UInt8>
    let marker: UInt8
    /// The file offset of the marker, for messages.
    let offset: Int

    var count: Int { bytes.count }

    func byte(_ index: Int) throws -> Int {
        guard index >= 0 && index < bytes.count else {
            throw JPEGFailure("\(JPEGMarker.name(marker)) segment at byte \(offset) is too short (\(bytes.count + 2) bytes)")
        }
        return Int(bytes[bytes.startIndex + index])
    }

    func uint16(_ index: Int) throws -> Int { try byte(index) << 8 | byte(index + 1) }

    func fail(_ message: String) -> JPEGFailure {
        JPEGFailure("\(JPEGMarker.name(marker)) segment at byte \(offset): \(message)")
    }
}

/// A frame header (SOF0, SOF1 or SOF2).
struct JPEGFrameHeader {
    struct Component {
        var id: Int
        var h: Int
        var v: Int
        var quantTable: Int
    }
    var progressive: Bool
    var width: Int
    var height: Int
    var components: [Component]

    init(_ segment: JPEGSegment) throws {
        progressive = segment.marker == JPEGMarker.sof2
        let precision = try segment.byte(0)
        guard precision == 8 else {
            throw segment.fail("\(precision)-bit samples are not supported (only 8-bit)")
        }
        height = try segment.uint16(1)
        width = try segment.uint16(3)
        let count = try segment.byte(5)
        guard height > 0 else { throw segment.fail("height 0 (given later by a DNL marker) is not supported") }
        guard width > 0 else { throw segment.fail("width 0") }
        guard count == 1 || count == 3 else {
            throw segment.fail(count == 4 ? "4 components (CMYK or YCCK) are not supported, only gray (1) or YCbCr/RGB (3)"
                : "\(count) components are not supported, only gray (1) or YCbCr/RGB (3)")
        }
        guard segment.count == 6 + 3 * count else {
            throw segment.fail("length \(segment.count + 2) does not match \(count) components (expected \(8 + 3 * count))")
        }
        components = []
        for i in 0..<count {
            let sampling = try segment.byte(7 + 3 * i)
            let component = Component(id: try segment.byte(6 + 3 * i), h: sampling >> 4, v: sampling & 15, quantTable: try segment.byte(8 + 3 * i))
            guard (1...4).contains(component.h), (1...4).contains(component.v) else {
                throw segment.fail("component \(component.id) has sampling factors \(component.h)x\(component.v) (each must be 1 to 4)")
            }
            guard component.quantTable <= 3 else {
                throw segment.fail("component \(component.id) uses quantization table \(component.quantTable) (0 to 3 exist)")
            }
            guard !components.contains(where: { $0.id == component.id }) else {
                throw segment.fail("two components have the id \(component.id)")
            }
            components.append(component)
        }
    }
}

/// A scan header (SOS): which frame components the scan codes, with which Huffman tables, and
/// its spectral band (ss...se) and successive-approximation bits (ah, al).
struct JPEGScanHeader {
    struct Component {
        var index: Int
        var dcTable: Int
        var acTable: Int
    }
    var components: [Component]
    var ss: Int
    var se: Int
    var ah: Int
    var al: Int

    init(_ segment: JPEGSegment, frame: JPEGFrameHeader) throws {
        let count = try segment.byte(0)
        guard (1...4).contains(count) else { throw segment.fail("\(count) components in a scan (1 to 4 allowed)") }
        guard segment.count == 4 + 2 * count else {
            throw segment.fail("length \(segment.count + 2) does not match \(count) components (expected \(6 + 2 * count))")
        }
        components = []
        for i in 0..<count {
            let id = try segment.byte(1 + 2 * i), tables = try segment.byte(2 + 2 * i)
            guard let index = frame.components.firstIndex(where: { $0.id == id }) else {
                throw segment.fail("the scan names component \(id), which the frame does not have")
            }
            guard !components.contains(where: { $0.index == index }) else { throw segment.fail("the scan names component \(id) twice") }
            guard tables >> 4 <= 3, tables & 15 <= 3 else { throw segment.fail("Huffman table number above 3") }
            components.append(Component(index: index, dcTable: tables >> 4, acTable: tables & 15))
        }
        ss = try segment.byte(1 + 2 * count)
        se = try segment.byte(2 + 2 * count)
        let approximation = try segment.byte(3 + 2 * count)
        ah = approximation >> 4
        al = approximation & 15
        if count > 1 {
            let blocks = components.reduce(0) { $0 + frame.components[$1.index].h * frame.components[$1.index].v }
            guard blocks <= 10 else { throw segment.fail("an interleaved MCU of \(blocks) blocks (at most 10 allowed)") }
        }
        if frame.progressive {
            // The checks of libjpeg's jdphuff.c: a DC band alone, an AC band of one component,
            // refinement one bit at a time.
            let valid = (ss == 0 ? se == 0 : ss <= se && se <= 63 && count == 1) && (ah == 0 || al == ah - 1) && al <= 13
            guard valid else { throw segment.fail("bad progressive scan parameters Ss=\(ss) Se=\(se) Ah=\(ah) Al=\(al)") }
        }
    }
}

/// The table and application segments.
enum JPEGSegments {
    /// Quantization tables (DQT), stored in natural (row-major) order.
    static func readQuantTables(_ segment: JPEGSegment, into tables: inout [[UInt16]?]) throws {
        var at = 0
        while at < segment.count {
            let info = try segment.byte(at)
            let wide = info >> 4, index = info & 15
            guard wide <= 1, index <= 3 else { throw segment.fail("bad table precision/number byte 0x\(JPEGMarker.hex(UInt8(info)))") }
            var table = [UInt16](repeating: 0, count: 64)
            for k in 0..<64 {
                let value = wide == 1 ? try segment.uint16(at + 1 + 2 * k) : try segment.byte(at + 1 + k)
                table[JPEGIDCT.zigzag[k]] = UInt16(value)
            }
            tables[index] = table
            at += 1 + 64 * (wide + 1)
        }
    }

    /// Huffman tables (DHT): class 0 (DC) or 1 (AC), numbers 0 to 3.
    static func readHuffmanTables(_ segment: JPEGSegment, dc: inout [JPEGHuffmanTable?], ac: inout [JPEGHuffmanTable?]) throws {
        var at = 0
        while at < segment.count {
            let info = try segment.byte(at)
            let isAC = info >> 4, index = info & 15
            guard isAC <= 1, index <= 3 else { throw segment.fail("bad table class/number byte 0x\(JPEGMarker.hex(UInt8(info)))") }
            let counts = try (0..<16).map { try segment.byte(at + 1 + $0) }
            let total = counts.reduce(0, +)
            guard total <= 256 else { throw segment.fail("a Huffman table of \(total) symbols (at most 256)") }
            let symbols = try (0..<total).map { UInt8(try segment.byte(at + 17 + $0)) }
            // A DC symbol is a magnitude category; libjpeg refuses those above 15.
            if isAC == 0, let bad = symbols.first(where: { $0 > 15 }) {
                throw segment.fail("DC Huffman table \(index) has the symbol \(bad) (at most 15)")
            }
            let table: JPEGHuffmanTable
            do { table = try JPEGHuffmanTable(counts: counts, symbols: symbols) } catch let failure as JPEGFailure { throw segment.fail(failure.message) }
            if isAC == 0 { dc[index] = table } else { ac[index] = table }
            at += 17 + total
        }
    }

    /// The restart interval (DRI), in MCUs; 0 turns restarts off.
    static func restartInterval(_ segment: JPEGSegment) throws -> Int {
        guard segment.count == 2 else { throw segment.fail("length \(segment.count + 2), expected 4") }
        return try segment.uint16(0)
    }

    /// Whether an APP0 segment is a JFIF header (which implies YCbCr), as libjpeg tests it.
    static func isJFIF(_ segment: JPEGSegment) -> Bool {
        segment.count >= 14 && segment.bytes.starts(with: Array("JFIF\0".utf8))
    }

    /// The colour transform of an Adobe APP14 segment (0: RGB or CMYK, 1: YCbCr, 2: YCCK), or
    /// nil when the segment is not Adobe's.
    static func adobeTransform(_ segment: JPEGSegment) -> Int? {
        guard segment.count >= 12, segment.bytes.starts(with: Array("Adobe".utf8)) else { return nil }
        return Int(segment.bytes[segment.bytes.startIndex + 11])
    }
}

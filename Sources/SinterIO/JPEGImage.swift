import SinterIR

/// JPEG decoding in Swift (Sinter links no libjpeg): Huffman-coded baseline (SOF0), extended
/// sequential (SOF1) and progressive (SOF2) frames of 8-bit samples, gray or three components
/// (YCbCr, or RGB by the Adobe APP14 transform flag or 'R' 'G' 'B' component ids), any sampling
/// factors, restart intervals, any number of DQT/DHT tables; APPn (EXIF included, its
/// orientation not applied, as djpeg does not) and COM segments are skipped.
///
/// The pixels are exactly libjpeg-turbo's with its accurate integer IDCT: `djpeg -dct int` (fancy
/// chroma upsampling, the default) or `djpeg -dct int -nosmooth` (`fancyUpsampling` false: box),
/// with libjpeg's integer YCbCr tables; see JPEGIDCT and JPEGColor. Its float IDCT
/// (`-dct float`) differs from that by at most 2 levels, mean 0.03 (JPEGDecoderTests).
///
/// Refused with a message naming the file and the reason: arithmetic coding, lossless,
/// hierarchical, 12-bit, CMYK/YCCK, a missing table, a bad or unexpected marker, data that ends
/// early or does not decode, and images whose pixels or working memory exceed the limits;
/// sizes are checked before anything is allocated.
public enum JPEGImage {
    /// The first three bytes of every JPEG file (SOI and the 0xFF of the next marker).
    public static let signature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// Decodes JPEG bytes already in memory; `path` names them in errors. The decoded image may
    /// be at most `maxPixelBytes` (width x height x channels); the coefficients and component
    /// planes held while decoding at most 4 times that (and at least 16 MiB, for small images
    /// with large MCUs).
    public static func decode(_ bytes: [UInt8], path: String, maxPixelBytes: Int = RasterImage.defaultMaxPixelBytes,
                              fancyUpsampling: Bool = true) throws -> RasterImage {
        do {
            var decoder = JPEGDecoder(bytes: bytes, maxPixelBytes: maxPixelBytes, fancyUpsampling: fancyUpsampling)
            return try decoder.decode()
        } catch let failure as JPEGFailure {
            throw SinterError.file(path: path, message: "cannot read JPEG: \(failure.message)")
        }
    }
}

/// The marker loop and the decoder's state between segments.
struct JPEGDecoder {
    let bytes: [UInt8]
    let maxPixelBytes: Int
    let fancyUpsampling: Bool
    private var quantTables = [[UInt16]?](repeating: nil, count: 4)
    private var dcTables = [JPEGHuffmanTable?](repeating: nil, count: 4)
    private var acTables = [JPEGHuffmanTable?](repeating: nil, count: 4)
    private var restartInterval = 0
    private var jfif = false
    private var adobeTransform: Int?
    private var frame: JPEGFrameHeader?
    private var layouts: [JPEGComponentLayout] = []
    private var mcusWide = 0, mcusHigh = 0
    /// Per component: the quantization table as it was at the component's first scan (libjpeg
    /// latches it then), and whether a sequential or first DC scan has coded it.
    private var latchedQuant: [[UInt16]?] = []
    private var coded: [Bool] = []
    /// Every component's coefficients, allocated at the first scan.
    private var store: [Int16] = []
    private var scans = 0

    init(bytes: [UInt8], maxPixelBytes: Int, fancyUpsampling: Bool) {
        self.bytes = bytes
        self.maxPixelBytes = maxPixelBytes
        self.fancyUpsampling = fancyUpsampling
    }

    mutating func decode() throws -> RasterImage {
        guard bytes.starts(with: JPEGImage.signature) else {
            throw JPEGFailure("not a JPEG file (first bytes '\(SinterError.excerpt(bytes.prefix(3)))', expected FF D8 FF)")
        }
        var at = 2
        while true {
            guard at < bytes.count else {
                throw JPEGFailure("truncated: the file ends before the EOI marker (after \(scans) scan\(scans == 1 ? "" : "s"))")
            }
            guard bytes[at] == 0xFF else {
                throw JPEGFailure("bad marker: expected a marker (0xFF) at byte \(at), found 0x\(JPEGMarker.hex(bytes[at]))")
            }
            var codeAt = at + 1
            while codeAt < bytes.count && bytes[codeAt] == 0xFF { codeAt += 1 }
            guard codeAt < bytes.count else { throw JPEGFailure("truncated: the file ends inside a marker at byte \(at)") }
            let marker = bytes[codeAt], markerAt = codeAt - 1
            at = codeAt + 1
            if let refusal = JPEGMarker.refusal(marker) { throw JPEGFailure("\(refusal) (marker at byte \(markerAt))") }
            switch marker {
            case JPEGMarker.eoi: return try finish(eoiAt: markerAt)
            case JPEGMarker.soi: throw JPEGFailure("bad marker: a second SOI at byte \(markerAt)")
            case 0xD0...0xD7, 0x01: continue  // Parameterless (RSTn outside a scan, TEM): libjpeg ignores them.
            case 0x00: throw JPEGFailure("bad marker 0xFF00 at byte \(markerAt)")
            default: break
            }
            guard at + 2 <= bytes.count else { throw JPEGFailure("truncated: the file ends in the length of the \(JPEGMarker.name(marker)) segment at byte \(markerAt)") }
            let length = Int(bytes[at]) << 8 | Int(bytes[at + 1])
            guard length >= 2 else { throw JPEGFailure("bad \(JPEGMarker.name(marker)) segment at byte \(markerAt): length \(length)") }
            guard at + length <= bytes.count else {
                throw JPEGFailure("truncated: the \(JPEGMarker.name(marker)) segment at byte \(markerAt) is \(length) bytes long, the file ends \(bytes.count - at) bytes after it starts")
            }
            let segment = JPEGSegment(bytes: bytes[(at + 2)..<(at + length)], marker: marker, offset: markerAt)
            at += length
            switch marker {
            case JPEGMarker.sof0, JPEGMarker.sof1, JPEGMarker.sof2: try startFrame(segment)
            case JPEGMarker.dht: try JPEGSegments.readHuffmanTables(segment, dc: &dcTables, ac: &acTables)
            case JPEGMarker.dqt: try JPEGSegments.readQuantTables(segment, into: &quantTables)
            case JPEGMarker.dri: restartInterval = try JPEGSegments.restartInterval(segment)
            case JPEGMarker.sos: at = try decodeScan(segment, dataStart: at)
            case JPEGMarker.app0: jfif = jfif || JPEGSegments.isJFIF(segment)
            case JPEGMarker.app14: adobeTransform = JPEGSegments.adobeTransform(segment) ?? adobeTransform
            default: break  // Other APPn (EXIF, ICC, ...) and COM: skipped.
            }
        }
    }

    /// The frame header: the component geometry, checked against the limits before any
    /// allocation. Sizes are at most 65535 and factors at most 4, so no product here overflows.
    private mutating func startFrame(_ segment: JPEGSegment) throws {
        guard frame == nil else { throw segment.fail("a second frame header (multiple frames are hierarchical JPEG, not supported)") }
        let header = try JPEGFrameHeader(segment)
        let hMax = header.components.map(\.h).max()!, vMax = header.components.map(\.v).max()!
        func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
        mcusWide = ceilDiv(header.width, 8 * hMax)
        mcusHigh = ceilDiv(header.height, 8 * vMax)
        var offset = 0
        layouts = header.components.map { component in
            let sampleWidth = ceilDiv(header.width * component.h, hMax), sampleHeight = ceilDiv(header.height * component.v, vMax)
            let layout = JPEGComponentLayout(h: component.h, v: component.v, offset: offset,
                                             blocksWide: mcusWide * component.h, blocksHigh: mcusHigh * component.v,
                                             codedBlocksWide: ceilDiv(sampleWidth, 8), codedBlocksHigh: ceilDiv(sampleHeight, 8),
                                             sampleWidth: sampleWidth, sampleHeight: sampleHeight)
            offset += layout.blocksWide * layout.blocksHigh * 64
            return layout
        }
        let channels = header.components.count == 1 ? 1 : 3
        let pixelBytes = header.width * header.height * channels
        guard pixelBytes <= maxPixelBytes else {
            throw JPEGFailure("JPEG image is \(header.width)x\(header.height)x\(channels); decoded that is \(pixelBytes) bytes, more than the limit of \(maxPixelBytes) bytes")
        }
        // Two bytes a coefficient and one a plane sample, for every stored block.
        let workingBytes = offset * 3, workingLimit = max(4 * maxPixelBytes, 1 << 24)
        guard workingBytes <= workingLimit else {
            throw JPEGFailure("JPEG image \(header.width)x\(header.height) with \(header.components.count) components needs \(workingBytes) bytes of coefficients and planes to decode, more than the limit of \(workingLimit) bytes")
        }
        frame = header
        latchedQuant = [[UInt16]?](repeating: nil, count: header.components.count)
        coded = [Bool](repeating: false, count: header.components.count)
    }

    /// One scan: its header, then its entropy-coded data from `dataStart`; returns the position
    /// of the marker after the data.
    private mutating func decodeScan(_ segment: JPEGSegment, dataStart: Int) throws -> Int {
        guard let frame else { throw segment.fail("a scan before the frame header (SOF)") }
        let header = try JPEGScanHeader(segment, frame: frame)
        scans += 1
        for component in header.components where latchedQuant[component.index] == nil {
            let table = frame.components[component.index].quantTable
            guard let quant = quantTables[table] else {
                throw JPEGFailure("missing table: component \(frame.components[component.index].id) uses quantization table \(table), which no DQT segment defined before its first scan")
            }
            latchedQuant[component.index] = quant
        }
        var decoder = try JPEGEntropyDecoder(scan: header, progressive: frame.progressive, layouts: layouts, dc: dcTables, ac: acTables,
                                             reader: JPEGBitReader(data: bytes, position: dataStart))
        let available = bytes.count - dataStart
        if store.isEmpty {
            // Every component still needs a sequential or first DC scan, which spends at least a
            // bit on each of its blocks: a file too short for that is refused before allocating.
            let needed = layouts.reduce(0) { $0 + $1.codedBlocksWide * $1.codedBlocksHigh }
            guard available * 8 >= needed else {
                throw JPEGFailure("truncated: the \(frame.width)x\(frame.height) image has \(needed) blocks, each coded in at least one bit, but only \(available) bytes follow the first scan header")
            }
            store = [Int16](repeating: 0, count: layouts.last.map { $0.offset + $0.blocksWide * $0.blocksHigh * 64 } ?? 0)
        }
        switch decoder.pass {
        case .sequential, .dcFirst:
            guard available * 8 >= decoder.blockCount else {
                throw JPEGFailure("truncated: scan \(scans) codes \(decoder.blockCount) blocks, each in at least one bit, but only \(available) bytes follow its header")
            }
            for component in header.components { coded[component.index] = true }
        case .dcRefine, .acFirst, .acRefine:
            if let component = header.components.first(where: { !coded[$0.index] }) {
                throw JPEGFailure("bad progression: scan \(scans) refines component \(frame.components[component.index].id) or codes its AC band before its first DC scan")
            }
        }
        let (interval, number, wide, high) = (restartInterval, scans, mcusWide, mcusHigh)
        return try store.withUnsafeMutableBufferPointer { coefficients in
            try decoder.run(into: coefficients, mcusWide: wide, mcusHigh: high, restartInterval: interval, scanNumber: number)
        }
    }

    /// After EOI: the inverse DCT of every component, then upsampling and colour conversion.
    private func finish(eoiAt: Int) throws -> RasterImage {
        guard let frame else { throw JPEGFailure("no frame header (SOF) before EOI at byte \(eoiAt)") }
        if let missing = coded.firstIndex(of: false) {
            throw JPEGFailure("truncated or incomplete: component \(frame.components[missing].id) has no \(frame.progressive ? "DC " : "")scan before EOI at byte \(eoiAt)")
        }
        var workspace = [Int](repeating: 0, count: 64)
        let planes = layouts.indices.map { c -> [UInt8] in
            let layout = layouts[c], stride = layout.blocksWide * 8
            var plane = [UInt8](repeating: 0, count: stride * layout.codedBlocksHigh * 8)
            store.withUnsafeBufferPointer { coefficients in
                latchedQuant[c]!.withUnsafeBufferPointer { quant in
                    plane.withUnsafeMutableBufferPointer { out in
                        workspace.withUnsafeMutableBufferPointer { ws in
                            for by in 0..<layout.codedBlocksHigh {
                                for bx in 0..<layout.codedBlocksWide {
                                    JPEGIDCT.inverse(coefficients, start: layout.block(bx, by), quant: quant, into: out,
                                                     origin: by * 8 * stride + bx * 8, stride: stride, workspace: ws)
                                }
                            }
                        }
                    }
                }
            }
            return plane
        }
        let space = JPEGColor.space(count: frame.components.count, jfif: jfif, adobeTransform: adobeTransform, ids: frame.components.map(\.id))
        let pixels = JPEGColor.pixels(planes: planes, layouts: layouts, width: frame.width, height: frame.height, space: space,
                                      fancy: fancyUpsampling)
        return RasterImage(width: frame.width, height: frame.height, channels: space == .gray ? 1 : 3, pixels: pixels)
    }
}

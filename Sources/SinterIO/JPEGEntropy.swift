/// Where one frame component's blocks live in the coefficient store (64 coefficients a block,
/// natural order) and how many of them there are.
struct JPEGComponentLayout {
    var h: Int
    var v: Int
    /// The index of the component's first coefficient in the store.
    var offset: Int
    /// Blocks stored: whole MCUs of an interleaved scan, which codes dummy blocks at the right
    /// and bottom edges.
    var blocksWide: Int
    var blocksHigh: Int
    /// Blocks that hold image samples: what a scan of this component alone codes (T.81 A.2.2).
    var codedBlocksWide: Int
    var codedBlocksHigh: Int
    /// The component's size in samples: the image size scaled by h/hMax, v/vMax, rounded up.
    var sampleWidth: Int
    var sampleHeight: Int

    func block(_ bx: Int, _ by: Int) -> Int { offset + (by * blocksWide + bx) * 64 }
}

/// Decodes the entropy-coded data of one scan into the coefficient store: sequential (every
/// coefficient of a block, T.81 F.2) or one progressive pass (G.1.2: a DC or AC band, first or
/// refinement), with restart intervals. Corrupt data is an error, never an out-of-range write:
/// a run that passes the block's end and a Huffman code that matches nothing both throw.
struct JPEGEntropyDecoder {
    enum Pass { case sequential, dcFirst, dcRefine, acFirst, acRefine }

    let pass: Pass
    let scan: JPEGScanHeader
    /// The layouts of the scan's components, in scan order, and their tables (nil when the pass
    /// does not use that kind).
    let layouts: [JPEGComponentLayout]
    let dcTables: [JPEGHuffmanTable?]
    let acTables: [JPEGHuffmanTable?]
    var reader: JPEGBitReader
    private var predictors: [Int]
    private var eobRun = 0

    init(scan: JPEGScanHeader, progressive: Bool, layouts all: [JPEGComponentLayout], dc: [JPEGHuffmanTable?], ac: [JPEGHuffmanTable?],
         reader: JPEGBitReader) throws {
        self.scan = scan
        if !progressive { pass = .sequential } else if scan.ss == 0 { pass = scan.ah == 0 ? .dcFirst : .dcRefine } else {
            pass = scan.ah == 0 ? .acFirst : .acRefine
        }
        layouts = scan.components.map { all[$0.index] }
        let needsDC = pass == .sequential || pass == .dcFirst, needsAC = pass != .dcFirst && pass != .dcRefine
        func table(_ tables: [JPEGHuffmanTable?], _ index: Int, _ kind: String) throws -> JPEGHuffmanTable {
            guard let table = tables[index] else { throw JPEGFailure("missing table: a scan uses \(kind) Huffman table \(index), which no DHT segment defined") }
            return table
        }
        dcTables = try scan.components.map { needsDC ? try table(dc, $0.dcTable, "DC") : nil }
        acTables = try scan.components.map { needsAC ? try table(ac, $0.acTable, "AC") : nil }
        self.reader = reader
        predictors = [Int](repeating: 0, count: scan.components.count)
    }

    /// The number of blocks the scan codes (every block costs at least one bit in a sequential or
    /// DC pass).
    var blockCount: Int {
        if layouts.count == 1 { return layouts[0].codedBlocksWide * layouts[0].codedBlocksHigh }
        return layouts.reduce(0) { $0 + $1.blocksWide * $1.blocksHigh }
    }

    /// Decodes every MCU (`mcusWide` x `mcusHigh` of the frame when interleaved, one block each
    /// otherwise); returns the position of the marker that ends the scan.
    mutating func run(into store: UnsafeMutableBufferPointer<Int16>, mcusWide: Int, mcusHigh: Int, restartInterval: Int, scanNumber: Int) throws -> Int {
        let single = layouts.count == 1
        let wide = single ? layouts[0].codedBlocksWide : mcusWide
        let total = wide * (single ? layouts[0].codedBlocksHigh : mcusHigh)
        var restartIndex = 0
        for mcu in 0..<total {
            if restartInterval > 0 && mcu > 0 && mcu % restartInterval == 0 {
                try reader.restart(index: restartIndex)
                restartIndex = (restartIndex + 1) & 7
                for i in predictors.indices { predictors[i] = 0 }
                eobRun = 0
            }
            let mx = mcu % wide, my = mcu / wide
            if single {
                try decodeBlock(0, at: layouts[0].block(mx, my), store)
            } else {
                for s in layouts.indices {
                    let layout = layouts[s]
                    for by in 0..<layout.v {
                        for bx in 0..<layout.h { try decodeBlock(s, at: layout.block(mx * layout.h + bx, my * layout.v + by), store) }
                    }
                }
            }
            if reader.overran {
                throw JPEGFailure("truncated or corrupt: the entropy-coded data of scan \(scanNumber) ends in MCU \(mcu + 1) of \(total)")
            }
        }
        return reader.markerPosition()
    }

    private mutating func decodeBlock(_ s: Int, at block: Int, _ store: UnsafeMutableBufferPointer<Int16>) throws {
        switch pass {
        case .sequential: try decodeSequential(s, at: block, store)
        case .dcFirst:
            let category = try reader.decode(dcTables[s]!)
            predictors[s] += reader.signed(category)
            store[block] = Int16(truncatingIfNeeded: predictors[s] << scan.al)
        case .dcRefine:
            if reader.bit() { store[block] |= Int16(truncatingIfNeeded: 1 << scan.al) }
        case .acFirst: try decodeACFirst(s, at: block, store)
        case .acRefine: try decodeACRefine(s, at: block, store)
        }
    }

    private func corrupt(_ what: String) -> JPEGFailure {
        JPEGFailure("corrupt entropy-coded data: \(what) near byte \(reader.position)")
    }

    /// A whole block: the DC difference, then (run, size) codes up to an end of block.
    private mutating func decodeSequential(_ s: Int, at block: Int, _ store: UnsafeMutableBufferPointer<Int16>) throws {
        let category = try reader.decode(dcTables[s]!)
        predictors[s] += reader.signed(category)
        store[block] = Int16(truncatingIfNeeded: predictors[s])
        let table = acTables[s]!
        var k = 1
        while k < 64 {
            let symbol = try reader.decode(table)
            let run = symbol >> 4, size = symbol & 15
            if size == 0 {
                if run != 15 { break }
                k += 16
                continue
            }
            k += run
            guard k < 64 else { throw corrupt("a run of zeros past the end of a block") }
            store[block + JPEGIDCT.zigzag[k]] = Int16(truncatingIfNeeded: reader.signed(size))
            k += 1
        }
    }

    /// The first pass over an AC band: like a sequential block within ss...se, scaled by 2^al,
    /// with end-of-band runs that skip whole blocks.
    private mutating func decodeACFirst(_ s: Int, at block: Int, _ store: UnsafeMutableBufferPointer<Int16>) throws {
        if eobRun > 0 {
            eobRun -= 1
            return
        }
        let table = acTables[s]!
        var k = scan.ss
        while k <= scan.se {
            let symbol = try reader.decode(table)
            let run = symbol >> 4, size = symbol & 15
            if size != 0 {
                k += run
                guard k <= scan.se else { throw corrupt("a run of zeros past the end of the spectral band") }
                store[block + JPEGIDCT.zigzag[k]] = Int16(truncatingIfNeeded: reader.signed(size) * (1 << scan.al))
            } else if run == 15 {
                k += 15
            } else {
                eobRun = (1 << run) - 1 + (run > 0 ? reader.bits(run) : 0)
                break
            }
            k += 1
        }
    }

    /// A refinement pass over an AC band (libjpeg's decode_mcu_AC_refine): one correction bit
    /// for every coefficient already nonzero, and new coefficients of magnitude 2^al.
    private mutating func decodeACRefine(_ s: Int, at block: Int, _ store: UnsafeMutableBufferPointer<Int16>) throws {
        let plus = 1 << scan.al, minus = -1 << scan.al
        @inline(__always) func refine(_ at: Int) {
            let coefficient = Int(store[at])
            if coefficient != 0 && reader.bit() && coefficient & plus == 0 {
                store[at] = Int16(truncatingIfNeeded: coefficient + (coefficient >= 0 ? plus : minus))
            }
        }
        var k = scan.ss
        if eobRun == 0 {
            while k <= scan.se {
                let symbol = try reader.decode(acTables[s]!)
                var run = symbol >> 4
                let size = symbol & 15
                var value = 0
                if size != 0 {
                    guard size == 1 else { throw corrupt("a refinement coefficient of magnitude category \(size) (must be 1)") }
                    value = reader.bit() ? plus : minus
                } else if run != 15 {
                    eobRun = (1 << run) + (run > 0 ? reader.bits(run) : 0)
                    break
                }
                // Skip `run` coefficients still zero, refining the nonzero ones passed on the way.
                while k <= scan.se {
                    let at = block + JPEGIDCT.zigzag[k]
                    if store[at] != 0 {
                        refine(at)
                    } else {
                        if run == 0 { break }
                        run -= 1
                    }
                    k += 1
                }
                if value != 0 {
                    guard k <= scan.se else { throw corrupt("a new coefficient past the end of the spectral band") }
                    store[block + JPEGIDCT.zigzag[k]] = Int16(truncatingIfNeeded: value)
                }
                k += 1
            }
        }
        if eobRun > 0 {
            // Inside an end-of-band run: only correction bits for the rest of the band.
            while k <= scan.se {
                refine(block + JPEGIDCT.zigzag[k])
                k += 1
            }
            eobRun -= 1
        }
    }
}

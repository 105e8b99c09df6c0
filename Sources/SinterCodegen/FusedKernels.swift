import SinterIR
import SinterPasses

/// One tile of a main op's result, just written: per result dimension, a fixed index (a C
/// expression) or a range `[start, start + count)` (C expressions) to loop over.
struct Tile {
    enum Dim {
        case at(String)
        case range(start: String, count: String)
    }
    var dims: [Dim]
}

/// Fused work around a main op, called by its emitter (ReductionKernels, ConvKernels,
/// MatmulKernels), or a whole fused loop (LoopNest). All nil for an unfused kernel.
struct FusionHooks {
    /// Prologue: emits the statements computing the reduction's operand at flat index `index`
    /// (and storing prologue nodes other kernels read); returns the value's C expression.
    var load: ((inout CWriter, String) throws -> String)?
    /// Reduction epilogue: the result element at flat index `index` is `value`.
    var store: ((inout CWriter, String, String) throws -> Void)?
    /// Anchor epilogue: the tile is in `out`; apply the epilogue while it is in cache.
    var tile: ((inout CWriter, Tile) throws -> Void)?
    /// A fused elementwise loop (no main op): emits the whole loop.
    var loop: ((inout CWriter) throws -> Void)?
}

/// Emits a kernel of several nodes (or, with fusion on, any elementwise loop): its signature
/// lists the stored nodes (`y12`), then the buffers it reads (`x7`), then scratch. Each node is
/// a local `v12` per element; stores come after every local, so element i of a result is
/// written after every read of element i (what in-place reuse relies on).
struct FusedEmitter {
    let facts: FusionFacts
    let planned: PlannedKernel
    let kernel: Kernel
    let geometry: GroupGeometry
    let members: Set<Int>
    /// Distinct nodes read from memory, ascending (reshapes resolved to their base).
    let leaves: [Int]
    private var graph: Graph { facts.graph }

    init(_ facts: FusionFacts, _ planned: PlannedKernel) throws {
        guard let geometry = planned.group else {
            throw SinterError.verify(message: "fusion: \(planned.name) has no group geometry")
        }
        self.facts = facts
        self.planned = planned
        self.geometry = geometry
        kernel = planned.kernel
        members = Set(kernel.nodes)
        leaves = planned.reads
    }

    func function(inPlace: Set<Int>) throws -> [String] {
        var params: [String] = []
        for s in kernel.stored {
            params.append("\(graph[s].type.dtype.cType) *\(inPlace.contains(s) ? "" : "restrict ")y\(s)")
        }
        for b in leaves { params.append("const \(graph[b].type.dtype.cType) *x\(b)") }
        if planned.scratchBytes > 0 { params.append("uint8_t *restrict scratch") }
        var w = CWriter(splits: planned.threading.splits)
        let summary = kernel.nodes.map { "%\($0) \(graph[$0].op.rawValue)" }.joined(separator: " + ")
        w.line("/* \(kernel.name): \(summary.replacingOccurrences(of: "*/", with: "* /")) (fused, Docs/fusion.md)")
        for m in kernel.nodes { w.line("   \(describe(m, graph[m]))") }
        w.line("   stored: \(kernel.stored.map { "%\($0)" }.joined(separator: ", ")) */")
        try w.block("static void \(kernel.name)(\(params.joined(separator: ", ")))") { w in
            guard let main = kernel.main else {
                // A fused elementwise loop: the loop strategy runs the whole loop this emitter builds.
                var ctx = KernelContext(graph: graph, id: kernel.result, planned: planned,
                                        operandNames: graph[kernel.result].operands.map { "x\(facts.base($0))" })
                ctx.hooks.loop = { w in try self.emitLoop(&w) }
                return try planned.strategy.emit(ctx, &w)
            }
            var ctx = KernelContext(graph: graph, id: main, planned: planned, operandNames: graph[main].operands.map { o -> String? in
                let b = facts.base(o)
                return members.contains(b) ? "x_fused" : "x\(b)"
            })
            if fusionClass(of: graph[main].op) == .anchor {
                let carrier = kernel.stored.contains(main) ? main : kernel.stored.first { graph[$0].type.dtype == graph[main].type.dtype }!
                ctx.out = "y\(carrier)"
                ctx.hooks.tile = { w, tile in try self.emitTile(&w, tile, carrier: carrier) }
            } else {
                ctx.out = "y\(main)"
                if !geometry.members(in: .prologue).isEmpty { ctx.hooks.load = { w, index in try self.emitLoad(&w, index) } }
                if !geometry.members(in: .output).isEmpty { ctx.hooks.store = { w, index, value in try self.emitStore(&w, index, value) } }
            }
            try planned.strategy.emit(ctx, &w)
        }
        return w.lines
    }

    // MARK: Per-element statements

    private func literal(_ b: Int) -> String { cLiteral(graph[b].attrs.float("value", default: 0), graph[b].type.dtype) }

    /// `const float v12 = ...;` for each of `nodes`; `leaf(m, k)` reads operand k of m.
    private func locals(_ nodes: [Int], leaf: (Int, Int) -> String) throws -> [String] {
        try nodes.map { m in
            let operands = graph[m].operands.enumerated().map { k, o -> String in
                let b = facts.base(o)
                if b == kernel.main || members.contains(b) { return "v\(b)" }
                if facts.isConstant(b) { return literal(b) }
                return leaf(m, k)
            }
            return "const \(graph[m].type.dtype.cType) v\(m) = \(try ElementwiseExpr.expression(graph, m, operands));"
        }
    }

    /// Stored nodes of `nodes` (the main excluded: it writes itself).
    private func storedAmong(_ nodes: [Int]) -> [Int] { nodes.filter { kernel.stored.contains($0) && $0 != kernel.main } }

    // MARK: Elementwise loop

    /// One loop nest over the result's shape (coalesced), every node a local per element.
    private func emitLoop(_ w: inout CWriter) throws {
        var accesses: [StridedAccess] = []
        var index: [String: Int] = [:]
        func access(_ name: String, _ strides: [Int]) -> Int {
            let key = "\(name)@\(strides)"
            if let a = index[key] { return a }
            index[key] = accesses.count
            accesses.append(StridedAccess(name: name, offset: 0, strides: strides))
            return accesses.count - 1
        }
        let stores = kernel.stored.map { ($0, access("y\($0)", geometry.memberStrides($0))) }
        var reads: [String: Int] = [:]
        for m in kernel.nodes {
            for (k, o) in graph[m].operands.enumerated() where !members.contains(facts.base(o)) && !facts.isConstant(facts.base(o)) {
                reads["\(m).\(k)"] = access("x\(facts.base(o))", geometry.operandStrides(m, k))
            }
        }
        let nest = LoopNest(shape: geometry.outputSpace, accesses: accesses).coalesced()
        var failure: Error?
        nest.emit(&w) { refs in
            do {
                return try locals(kernel.nodes) { m, k in refs[reads["\(m).\(k)"]!] } + stores.map { "\(refs[$0.1]) = v\($0.0);" }
            } catch {
                failure = error
                return []
            }
        }
        if let failure { throw failure }
    }

    // MARK: Reductions

    /// Prologue at flat input index `index`: leaves are read at that index (or at 0 if scalar).
    private func emitLoad(_ w: inout CWriter, _ index: String) throws -> String {
        let nodes = geometry.members(in: .prologue)
        w.lines(try locals(nodes) { m, k in flatLeaf(m, k, index) })
        for s in storedAmong(nodes) { w.line("y\(s)[\(index)] = v\(s);") }
        return "v\(facts.base(graph[kernel.main!].operands[0]))"
    }

    /// Epilogue at flat output index `index`.
    private func emitStore(_ w: inout CWriter, _ index: String, _ value: String) throws {
        let main = kernel.main!
        let nodes = geometry.members(in: .output)
        try w.block("") { w in
            w.line("const \(graph[main].type.dtype.cType) v\(main) = \(value);")
            if kernel.stored.contains(main) { w.line("y\(main)[\(index)] = v\(main);") }
            w.lines(try locals(nodes) { m, k in flatLeaf(m, k, index) })
            for s in storedAmong(nodes) { w.line("y\(s)[\(index)] = v\(s);") }
        }
    }

    private func flatLeaf(_ m: Int, _ k: Int, _ index: String) -> String {
        let b = facts.base(graph[m].operands[k])
        return geometry.operandStrides(m, k).allSatisfy { $0 == 0 } ? "x\(b)[0]" : "x\(b)[\(index)]"
    }

    // MARK: Anchor epilogue

    /// Loops over the tile's ranges (merging neighbours contiguous for every access), reading
    /// the anchor's value from the carrier buffer and writing every stored node.
    private func emitTile(_ w: inout CWriter, _ tile: Tile, carrier: Int) throws {
        let main = kernel.main!
        let nodes = geometry.members(in: .output)
        var accesses: [(name: String, strides: [Int], output: Bool)] = []
        func access(_ name: String, _ strides: [Int], output: Bool) -> Int {
            if let a = accesses.firstIndex(where: { $0.name == name && $0.strides == strides }) { return a }
            accesses.append((name, strides, output))
            return accesses.count - 1
        }
        let carrierAccess = access("y\(carrier)", geometry.memberStrides(main), output: true)
        let stores = storedAmong(nodes).map { ($0, access("y\($0)", geometry.memberStrides($0), output: true)) }
        var reads: [String: Int] = [:]
        for m in nodes {
            for (k, o) in graph[m].operands.enumerated() {
                let b = facts.base(o)
                if b == main || members.contains(b) || facts.isConstant(b) { continue }
                reads["\(m).\(k)"] = access("x\(b)", geometry.operandStrides(m, k), output: false)
            }
        }
        // Loop dimensions: the ranges, size-1 ones dropped, contiguous neighbours merged.
        var loops: [(count: String, size: Int?, strides: [Int])] = []
        for (d, dim) in tile.dims.enumerated() {
            guard case let .range(_, count) = dim else { continue }
            let size = Int(count)
            if size == 1 { continue }
            let strides = accesses.map { $0.strides[d] }
            if let last = loops.last, let size, zip(last.strides, strides).allSatisfy({ $0 == $1 * size }) {
                let merged = last.size.map { "\($0 * size)" } ?? "(\(last.count)) * \(size)"
                loops[loops.count - 1] = (merged, last.size.map { $0 * size }, strides)
            } else {
                loops.append((count, size, strides))
            }
        }
        try w.block("") { w in
            for (a, access) in accesses.enumerated() {
                var terms: [String] = []
                for (d, dim) in tile.dims.enumerated() where access.strides[d] != 0 {
                    switch dim {
                    case let .at(index): terms.append("(\(index)) * \(access.strides[d])")
                    case let .range(start, _) where start != "0": terms.append("(\(start)) * \(access.strides[d])")
                    default: break
                    }
                }
                let b = Int(access.name.dropFirst())!
                let t = graph[b].type.dtype.cType
                let offset = terms.isEmpty ? "" : " + " + terms.joined(separator: " + ")
                w.line("\(access.output ? "" : "const ")\(t) *restrict ep\(a) = \(access.name)\(offset);")
            }
            func element(_ a: Int) -> String {
                let terms = loops.indices.compactMap { l -> String? in
                    let s = loops[l].strides[a]
                    return s == 0 ? nil : (s == 1 ? "e\(l)" : "e\(l) * \(s)")
                }
                return "ep\(a)[\(terms.isEmpty ? "0" : terms.joined(separator: " + "))]"
            }
            func level(_ l: Int, _ w: inout CWriter) throws {
                if l == loops.count {
                    w.line("const \(graph[main].type.dtype.cType) v\(main) = \(element(carrierAccess));")
                    w.lines(try locals(nodes) { m, k in element(reads["\(m).\(k)"]!) })
                    for (s, a) in stores { w.line("\(element(a)) = v\(s);") }
                    return
                }
                try w.block("for (long e\(l) = 0; e\(l) < \(loops[l].count); e\(l)++)") { w in try level(l + 1, &w) }
            }
            try level(0, &w)
        }
    }
}

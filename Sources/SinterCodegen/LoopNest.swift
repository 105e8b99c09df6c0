import SinterIR

/// One array walked by a `LoopNest`: `name[offset + sum_d i_d * strides[d]]`. A stride of 0
/// broadcasts along that dimension; negative strides walk backwards (reverse).
struct StridedAccess {
    var name: String
    var offset: Int
    var strides: [Int]
}

/// A loop nest over a static shape with several strided accesses: the common skeleton of
/// elementwise ops, broadcasting, transpose, slice, reverse, concat and constant padding.
///
/// `coalesced()` drops size-1 dimensions and merges neighbours that are contiguous for every
/// access, so a same-shape elementwise op becomes one flat loop and `x[B,H,W,C] + bias[C]` two.
struct LoopNest {
    var shape: [Int]
    var accesses: [StridedAccess]

    init(shape: [Int], accesses: [StridedAccess]) {
        self.shape = shape
        self.accesses = accesses
    }

    var count: Int { shape.reduce(1, *) }

    func coalesced() -> LoopNest {
        var dims: [(size: Int, strides: [Int])] = []
        for d in shape.indices where shape[d] != 1 {
            dims.append((shape[d], accesses.map { $0.strides[d] }))
        }
        var merged: [(size: Int, strides: [Int])] = []
        for dim in dims {
            if let last = merged.last,
               zip(last.strides, dim.strides).allSatisfy({ $0 == $1 * dim.size }) {
                merged[merged.count - 1] = (last.size * dim.size, dim.strides)
            } else {
                merged.append(dim)
            }
        }
        var result = self
        result.shape = merged.map(\.size)
        for a in result.accesses.indices {
            result.accesses[a].strides = merged.map { $0.strides[a] }
        }
        return result
    }

    /// The C index expression of access `a` inside the loops (loop variables `prefix0`, ...).
    func index(_ a: Int, prefix: String) -> String {
        var terms: [String] = []
        if accesses[a].offset != 0 { terms.append("\(accesses[a].offset)") }
        for (d, stride) in accesses[a].strides.enumerated() where stride != 0 {
            terms.append(stride == 1 ? "\(prefix)\(d)" : "\(prefix)\(d) * \(stride)")
        }
        return terms.isEmpty ? "0" : terms.joined(separator: " + ")
    }

    /// The element reference `name[index]` of access `a`.
    func element(_ a: Int, prefix: String = "i") -> String {
        "\(accesses[a].name)[\(index(a, prefix: prefix))]"
    }

    /// Emits the loops (coalesce first if wanted). `body` receives the element reference of each
    /// access and returns the innermost statement(s). The outermost loop is parallel (when the
    /// plan lets the kernel split: Threading.swift).
    func emit(_ w: inout CWriter, prefix: String = "i", parallel: Bool = true, body: ([String]) -> [String]) {
        let refs = accesses.indices.map { element($0, prefix: prefix) }
        emitLevel(0, &w, prefix: prefix, parallel: parallel, refs: refs, body: body)
    }

    private func emitLevel(_ d: Int, _ w: inout CWriter, prefix: String, parallel: Bool, refs: [String],
                           body: ([String]) -> [String]) {
        if d == shape.count {
            for statement in body(refs) { w.line(statement) }
            return
        }
        w.loop("\(prefix)\(d)", shape[d], parallel: parallel && d == 0) { w in
            emitLevel(d + 1, &w, prefix: prefix, parallel: false, refs: refs, body: body)
        }
    }
}

/// Strides of an operand of shape `operand` read in a loop over `result` under numpy
/// broadcasting (right-aligned; size-1 or missing dimensions get stride 0).
func broadcastStrides(_ operand: [Int], to result: [Int]) -> [Int] {
    let own = rowMajorStrides(operand)
    let shift = result.count - operand.count
    return result.indices.map { d in
        let od = d - shift
        if od < 0 || operand[od] == 1 { return 0 }
        return own[od]
    }
}

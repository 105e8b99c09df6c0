import SinterIR

/// Data-movement helpers on Sinter nodes that several operators share: slicing one axis,
/// gathering constant indices along an axis, and broadcasting.
extension ONNXImporter {
    /// `x[begin..<end]` along `axis` (Sinter's slice needs a non-empty range).
    func sliceAxis(_ id: Int, axis: Int, _ begin: Int, _ end: Int) throws -> Int {
        let shape = type(id).shape
        if begin == 0 && end == shape[axis] { return id }
        guard begin < end else { throw ONNXNodeFailure("the result would have size 0 along an axis; Sinter has no empty tensors") }
        var b = [Int](repeating: 0, count: shape.count), e = shape
        b[axis] = begin
        e[axis] = end
        return try add(.slice, [id], Attributes(["begin": .ints(b), "end": .ints(e)]))
    }

    /// `x` indexed along `axis` by constant `indices` (already in range): runs of consecutive
    /// indices become one slice each (a descending run is sliced then reversed), joined by concat.
    func gather(_ id: Int, axis: Int, _ indices: [Int]) throws -> Int {
        guard !indices.isEmpty else { throw ONNXNodeFailure("the result would have size 0 along an axis; Sinter has no empty tensors") }
        // The runs first, so a gather of millions of scattered indices is refused before it
        // makes a node.
        var runs: [(first: Int, last: Int, descending: Bool)] = []
        var start = 0
        while start < indices.count {
            var end = start + 1
            let step = end < indices.count ? indices[end] - indices[start] : 1
            if step == 1 || step == -1 {
                while end < indices.count && indices[end] - indices[end - 1] == step { end += 1 }
            }
            runs.append((indices[start], indices[end - 1], step == -1 && end - start > 1))
            guard runs.count <= 256 else {
                throw ONNXNodeFailure("gathering \(indices.count) scattered indices would need more than 256 slices; not supported")
            }
            start = end
        }
        let pieces = try runs.map { run -> Int in
            guard run.descending else { return try sliceAxis(id, axis: axis, run.first, run.last + 1) }
            let piece = try sliceAxis(id, axis: axis, run.last, run.first + 1)
            return try add(.reverse, [piece], Attributes(["axes": .ints([axis])]))
        }
        return pieces.count == 1 ? pieces[0] : try add(.concat, pieces, Attributes(["axis": .int(axis)]))
    }

    func broadcast(_ id: Int, to shape: [Int]) throws -> Int {
        var current = id
        let have = type(id).shape
        if have.count < shape.count { current = try reshape(current, [Int](repeating: 1, count: shape.count - have.count) + have) }
        if type(current).shape == shape { return current }
        return try add(.broadcastTo, [current], type: TensorType(type(id).dtype, shape))
    }

    func concat(_ ids: [Int], axis: Int) throws -> Int {
        ids.count == 1 ? ids[0] : try add(.concat, ids, Attributes(["axis": .int(axis)]))
    }
}

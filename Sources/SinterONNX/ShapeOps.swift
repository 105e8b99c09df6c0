import SinterIR

/// Operators that only move data or describe shapes: Constant, Shape, Reshape, Flatten, Squeeze,
/// Unsqueeze, Transpose, Concat, Split, Slice, Gather, Expand, Tile. The shape arithmetic of a
/// static graph (Shape -> Gather -> Concat -> Reshape) folds to constants here.
enum ShapeOps {
    typealias Handler = (NodeContext) throws -> [ImportedValue]

    static let table: [String: Handler] = [
        "Constant": { c in [try constantNode(c)] },
        "ConstantOfShape": { c in
            let shape = try shapeValues(c.constant(0, "shape") ?? ONNXConstant(type: .int64, shape: [0], values: []))
            var fill = ONNXConstant(type: .float, shape: [1], values: [0])
            if case let .tensor(proto)? = c.attribute("value") {
                fill = try ONNXConstant(proto, what: "attribute 'value'", path: c.importer.path)
                guard fill.count == 1 else { throw ONNXNodeFailure("attribute 'value' must hold one element") }
            }
            return [try filled(fill.type, shape, fill.values[0])]
        },
        "Shape": { c in
            let shape = c.shape(try c.required(0))
            let rank = shape.count
            func clampAxis(_ a: Int) -> Int { Swift.min(Swift.max(a < 0 ? a + rank : a, 0), rank) }
            let start = clampAxis(try c.int("start", 0)), end = clampAxis(try c.int("end", rank))
            let dims = start < end ? Array(shape[start..<end]) : []
            return [.constant(ONNXConstant(type: .int64, shape: [dims.count], values: dims.map(Double.init)))]
        },
        "Size": { c in
            [.constant(ONNXConstant(type: .int64, shape: [], values: [Double(c.shape(try c.required(0)).reduce(1, *))]))]
        },
        "Reshape": { c in
            let x = try c.required(0)
            let request = try c.opset < 5 ? (c.ints("shape") ?? []) : shapeValues(c.constant(1, "shape"))
            let inShape = c.shape(x)
            let allowZero = try c.int("allowzero", 0) != 0
            var shape: [Int] = []
            var inferred: Int?
            for (i, d) in request.enumerated() {
                if d == 0 && !allowZero {
                    guard i < inShape.count else { throw ONNXNodeFailure("shape entry \(i) is 0 (copy) but the input has rank \(inShape.count)") }
                    shape.append(inShape[i])
                } else if d == -1 {
                    guard inferred == nil else { throw ONNXNodeFailure("shape \(shapeText(request)) has more than one -1") }
                    inferred = i
                    shape.append(1)
                } else {
                    guard d >= 0 else { throw ONNXNodeFailure("shape \(shapeText(request)) has the entry \(d)") }
                    shape.append(d)
                }
            }
            try ShapeBounds.check(shape, "a shape entry")
            let total = inShape.reduce(1, *)
            if let i = inferred {
                let known = SizeLimits.elementCount(shape) ?? 0
                guard known > 0, total % known == 0 else { throw ONNXNodeFailure("cannot reshape \(shapeText(inShape)) to \(shapeText(request))") }
                shape[i] = total / known
            }
            guard SizeLimits.elementCount(shape) == total else {
                throw ONNXNodeFailure("cannot reshape \(shapeText(inShape)) (\(total) elements) to \(shapeText(request))")
            }
            return [try reshaped(c, x, shape)]
        },
        "Flatten": { c in
            let x = try c.required(0)
            let shape = c.shape(x)
            let given = try c.int("axis", 1)
            let axis = given < 0 ? given + shape.count : given
            guard axis >= 0 && axis <= shape.count else { throw ONNXNodeFailure("axis \(given) is out of range for rank \(shape.count)") }
            return [try reshaped(c, x, [shape[..<axis].reduce(1, *), shape[axis...].reduce(1, *)])]
        },
        "Squeeze": { c in
            let x = try c.required(0)
            let shape = c.shape(x)
            let given = try c.opset < 13 ? c.ints("axes") : c.constant(1, "axes")?.ints
            let axes = try given.map { try $0.map { try c.axis($0, rank: shape.count) } } ?? shape.indices.filter { shape[$0] == 1 }
            for a in axes where shape[a] != 1 { throw ONNXNodeFailure("axis \(a) has size \(shape[a]), not 1") }
            return [try reshaped(c, x, shape.indices.filter { !axes.contains($0) }.map { shape[$0] })]
        },
        "Unsqueeze": { c in
            let x = try c.required(0)
            let shape = c.shape(x)
            guard let given = try c.opset < 13 ? c.ints("axes") : c.constant(1, "axes")?.ints else { throw ONNXNodeFailure("needs axes") }
            let rank = shape.count + given.count
            let axes = Set(try given.map { try c.axis($0, rank: rank) })
            guard axes.count == given.count else { throw ONNXNodeFailure("axes \(shapeText(given)) repeat an axis") }
            var out: [Int] = [], rest = shape[...]
            for a in 0..<rank {
                if axes.contains(a) { out.append(1) } else { out.append(rest.removeFirst()) }
            }
            return [try reshaped(c, x, out)]
        },
        "Transpose": { c in
            let x = try c.required(0)
            let rank = c.shape(x).count
            let perm = try c.ints("perm") ?? Array((0..<rank).reversed())
            guard perm.sorted() == Array(0..<rank) else { throw ONNXNodeFailure("perm \(shapeText(perm)) is not a permutation of 0..<\(rank)") }
            if let constant = x.constant { return [.constant(constant.transposed(perm))] }
            // A channels-last input is transposed directly: compose with its layout.
            guard case let .runtime(id, layout, type) = x else { fatalError("unreachable") }
            let composed = layout == .channelsLast ? perm.map { toChannelsFirst[$0] } : perm
            return [c.runtime(try c.importer.permute(id, composed), .asONNX, type)]
        },
        "Concat": { c in [try concatenate(c)] },
        "Split": { c in try split(c) },
        "Slice": { c in [try slice(c)] },
        "Gather": { c in [try gather(c)] },
        "Expand": { c in
            let x = try c.required(0)
            let request = try shapeValues(c.constant(1, "shape"))
            guard let shape = broadcastShapes(c.shape(x), request) else {
                throw ONNXNodeFailure("\(shapeText(c.shape(x))) does not broadcast to \(shapeText(request))")
            }
            if let problem = ShapeBounds.problem(shape) { throw ONNXNodeFailure(problem) }
            if let constant = x.constant {
                try foldable(shape)
                return [.constant(constant.broadcast(to: shape))]
            }
            return [c.runtime(try c.importer.broadcast(c.node(x), to: shape), .asONNX, x.elementType)]
        },
        "Tile": { c in
            let x = try c.required(0)
            let repeats = try shapeValues(c.constant(1, "repeats"))
            var shape = c.shape(x)
            guard repeats.count == shape.count else { throw ONNXNodeFailure("repeats has \(repeats.count) entries for rank \(shape.count)") }
            try ShapeBounds.check(repeats, "a repeat count")
            guard repeats.allSatisfy({ $0 > 0 }) else { throw ONNXNodeFailure("repeats must be positive") }
            if let problem = ShapeBounds.problem(zip(shape, repeats).map(*)) { throw ONNXNodeFailure(problem) }
            var id = try c.node(x)
            for (axis, r) in repeats.enumerated() where r != 1 {
                // [.., d, ..] -> [.., 1, d, ..] -> broadcast [.., r, d, ..] -> [.., r*d, ..]
                let split = Array(shape[..<axis]) + [1] + Array(shape[axis...])
                var wide = split
                wide[axis] = r
                id = try c.importer.broadcast(c.importer.reshape(id, split), to: wide)
                shape[axis] *= r
                id = try c.importer.reshape(id, shape)
            }
            return [c.runtime(id, .asONNX, x.elementType)]
        },
    ]

    /// A constant shape/axes input as Ints; a missing one is an error.
    static func shapeValues(_ c: ONNXConstant?) throws -> [Int] {
        guard let c else { throw ONNXNodeFailure("a required shape input is missing") }
        guard c.count <= 64 else { throw ONNXNodeFailure("a shape input with \(c.count) entries") }
        guard c.rank <= 1 else { throw ONNXNodeFailure("a shape input must be 1-D, got \(shapeText(c.shape))") }
        return c.ints
    }

    /// Refuses to fold a constant of `shape` when it would be too large to hold.
    static func foldable(_ shape: [Int]) throws {
        if let problem = ShapeBounds.problem(shape) { throw ONNXNodeFailure(problem) }
        guard shape.reduce(1, *) <= ONNXConstant.maxElements else {
            throw ONNXNodeFailure("a folded constant of shape \(shapeText(shape)) is too large")
        }
    }

    static func filled(_ type: ONNXElementType, _ shape: [Int], _ value: Double) throws -> ImportedValue {
        try foldable(shape)
        return .constant(ONNXConstant(type: type, shape: shape, values: [Double](repeating: value, count: shape.reduce(1, *))))
    }

    static func constantNode(_ c: NodeContext) throws -> ImportedValue {
        switch (c.node.attributes.first?.name, c.node.attributes.first?.value) {
        case let ("value", .tensor(proto)?):
            return .constant(try ONNXConstant(proto, what: "attribute 'value'", path: c.importer.path))
        case let ("value_float", .float(v)?): return .constant(ONNXConstant(type: .float, shape: [], values: [Double(v)]))
        case let ("value_floats", .floats(v)?): return .constant(ONNXConstant(type: .float, shape: [v.count], values: v.map(Double.init)))
        case let ("value_int", .int(v)?): return .constant(ONNXConstant(type: .int64, shape: [], values: [Double(v)]))
        case let ("value_ints", .ints(v)?): return .constant(ONNXConstant(type: .int64, shape: [v.count], values: v.map(Double.init)))
        case let (name?, _): throw c.unsupported(name, "(this kind of constant)")
        default: throw ONNXNodeFailure("has no value attribute")
        }
    }

    /// `x` with a new ONNX shape of the same element count.
    static func reshaped(_ c: NodeContext, _ x: ImportedValue, _ shape: [Int]) throws -> ImportedValue {
        if let constant = x.constant { return .constant(constant.reshaped(shape)) }
        return c.runtime(try c.importer.reshape(c.node(x), shape), .asONNX, x.elementType)
    }

    /// Whether every runtime input is channels-last and every input rank 4, so a data-movement op
    /// can work in that layout with its axes mapped.
    static func staysChannelsLast(_ c: NodeContext, _ inputs: [ImportedValue]) -> Bool {
        var anyChannelsLast = false
        for input in inputs {
            guard c.shape(input).count == 4 else { return false }
            if case let .runtime(_, layout, _) = input {
                guard layout == .channelsLast else { return false }
                anyChannelsLast = true
            }
        }
        return anyChannelsLast
    }

    static func concatenate(_ c: NodeContext) throws -> ImportedValue {
        let inputs = try (0..<c.inputCount).map { try c.required($0) }.filter { c.shape($0).reduce(1, *) > 0 }
        guard let first = inputs.first else { throw ONNXNodeFailure("every input is empty") }
        let rank = c.shape(first).count
        let axis = try c.axis(c.int("axis", 0), rank: rank)
        for input in inputs {
            let s = c.shape(input)
            guard s.count == rank, s.indices.allSatisfy({ $0 == axis || s[$0] == c.shape(first)[$0] }) else {
                throw ONNXNodeFailure("input shapes \(inputs.map { shapeText(c.shape($0)) }.joined(separator: ", ")) do not concatenate along axis \(axis)")
            }
        }
        if inputs.allSatisfy({ $0.constant != nil }) {
            let constants = inputs.map { $0.constant! }
            var shape = constants[0].shape
            shape[axis] = constants.reduce(0) { $0 + $1.shape[axis] }
            try foldable(shape)
            let outer = shape[..<axis].reduce(1, *)
            var values: [Double] = []
            values.reserveCapacity(shape.reduce(1, *))
            for o in 0..<outer {
                for k in constants {
                    let block = k.shape[axis...].reduce(1, *)
                    values.append(contentsOf: k.values[(o * block)..<((o + 1) * block)])
                }
            }
            return .constant(ONNXConstant(type: constants[0].type, shape: shape, values: values))
        }
        let layout: ONNXLayout = staysChannelsLast(c, inputs) ? .channelsLast : .asONNX
        let ids = try inputs.map { try c.node($0, layout) }
        return c.runtime(try c.importer.concat(ids, axis: layout.axis(axis)), layout, first.elementType)
    }

    static func split(_ c: NodeContext) throws -> [ImportedValue] {
        let x = try c.required(0)
        let shape = c.shape(x)
        let axis = try c.axis(c.int("axis", 0), rank: shape.count)
        let count = c.node.outputs.count
        var sizes = try c.opset < 13 ? c.ints("split") : c.constant(1, "split")?.ints
        if sizes == nil {
            let parts = try c.int("num_outputs", count)
            guard parts > 0 else { throw ONNXNodeFailure("num_outputs must be positive") }
            let chunk = (shape[axis] + parts - 1) / parts
            sizes = (0..<parts).map { Swift.max(0, Swift.min(chunk, shape[axis] - $0 * chunk)) }
        }
        guard let sizes, sizes.reduce(0, +) == shape[axis], sizes.allSatisfy({ $0 >= 0 }) else {
            throw ONNXNodeFailure("split sizes do not add up to \(shape[axis]) along axis \(axis)")
        }
        var results: [ImportedValue] = []
        var begin = 0
        for size in sizes {
            results.append(try sliceValue(c, x, axes: [axis], ranges: [Array(begin..<(begin + size))]))
            begin += size
        }
        return results
    }

    /// `x` indexed along each of `axes` by the matching index list (constants folded; runtime
    /// values keep a channels-last layout).
    static func sliceValue(_ c: NodeContext, _ x: ImportedValue, axes: [Int], ranges: [[Int]]) throws -> ImportedValue {
        let shape = c.shape(x)
        if let constant = x.constant {
            var current = constant
            for (axis, indices) in zip(axes, ranges) {
                var outShape = current.shape
                outShape[axis] = indices.count
                try foldable(outShape)
                let outer = current.shape[..<axis].reduce(1, *), inner = current.shape[(axis + 1)...].reduce(1, *)
                var values: [Double] = []
                values.reserveCapacity(outShape.reduce(1, *))
                for o in 0..<outer {
                    for i in indices {
                        let start = (o * current.shape[axis] + i) * inner
                        values.append(contentsOf: current.values[start..<(start + inner)])
                    }
                }
                current = ONNXConstant(type: current.type, shape: outShape, values: values)
            }
            return .constant(current)
        }
        guard case let .runtime(id, layout, type) = x else { fatalError("unreachable") }
        var current = id
        for (axis, indices) in zip(axes, ranges) where indices != Array(0..<shape[axis]) {
            current = try c.importer.gather(current, axis: layout.axis(axis), indices)
        }
        return c.runtime(current, layout, type)
    }

    static func slice(_ c: NodeContext) throws -> ImportedValue {
        let x = try c.required(0)
        let shape = c.shape(x)
        let starts: [Int], ends: [Int], axesGiven: [Int]?, steps: [Int]?
        if c.opset < 10 {
            starts = try c.ints("starts") ?? []
            ends = try c.ints("ends") ?? []
            axesGiven = try c.ints("axes")
            steps = nil
        } else {
            starts = try shapeValues(c.constant(1, "starts"))
            ends = try shapeValues(c.constant(2, "ends"))
            axesGiven = try c.constant(3, "axes")?.ints
            steps = try c.constant(4, "steps")?.ints
        }
        let axes = try (axesGiven ?? Array(0..<starts.count)).map { try c.axis($0, rank: shape.count) }
        guard starts.count == ends.count, axes.count == starts.count, steps.map({ $0.count == starts.count }) ?? true else {
            throw ONNXNodeFailure("starts, ends, axes and steps have different lengths")
        }
        var ranges: [[Int]] = []
        for (i, axis) in axes.enumerated() {
            let dim = shape[axis], step = steps?[i] ?? 1
            guard step != 0 else { throw ONNXNodeFailure("a step of 0") }
            func normalised(_ v: Int) -> Int { v < 0 ? (v == Int.min ? Int.min : v + dim) : v }
            var start = normalised(starts[i]), end = normalised(ends[i])
            if step > 0 {
                start = Swift.min(Swift.max(start, 0), dim)
                end = Swift.min(Swift.max(end, 0), dim)
            } else {
                start = Swift.min(Swift.max(start, 0), dim - 1)
                end = Swift.min(Swift.max(end, -1), dim - 1)
            }
            ranges.append(Array(stride(from: start, to: end, by: step)))
        }
        return try sliceValue(c, x, axes: axes, ranges: ranges)
    }

    static func gather(_ c: NodeContext) throws -> ImportedValue {
        let data = try c.required(0)
        guard let indices = try c.constant(1, "indices") else { throw ONNXNodeFailure("needs indices") }
        let shape = c.shape(data)
        let axis = try c.axis(c.int("axis", 0), rank: shape.count)
        let list = try indices.ints.map { i -> Int in
            let j = i < 0 ? i + shape[axis] : i
            guard j >= 0 && j < shape[axis] else { throw ONNXNodeFailure("index \(i) is out of range for size \(shape[axis])") }
            return j
        }
        let gathered = try sliceValue(c, data, axes: [axis], ranges: [list])
        return try reshaped(c, gathered, Array(shape[..<axis]) + indices.shape + Array(shape[(axis + 1)...]))
    }
}

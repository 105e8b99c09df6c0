import SinterIR

/// Pools, normalisations and Pad, all on channels-last values (the spatial axes of an NCHW
/// tensor are Sinter axes 1 and 2, channels axis 3).
enum PoolNormOps {
    typealias Handler = (NodeContext) throws -> [ImportedValue]

    static let table: [String: Handler] = [
        "MaxPool": { c in try OneDimensional.applies(c) ? OneDimensional.lifted(c, lift: [0]) { [try pool($0, max: true)] } : [try pool(c, max: true)] },
        "AveragePool": { c in try OneDimensional.applies(c) ? OneDimensional.lifted(c, lift: [0]) { [try pool($0, max: false)] } : [try pool(c, max: false)] },
        "GlobalAveragePool": { c in [try globalPool(c, .reduceMean)] },
        "GlobalMaxPool": { c in [try globalPool(c, .reduceMax)] },
        "BatchNormalization": { c in [try batchNorm(c)] },
        "InstanceNormalization": { c in [try instanceNorm(c)] },
        "Pad": { c in [try pad(c)] },
        "LayerNormalization": { c in try layerNorm(c) },
    ]

    /// The layout and type of a value; a constant counts as one held as in ONNX.
    static func runtimeLayout(_ x: ImportedValue) -> (ONNXLayout, ONNXElementType) {
        if case let .runtime(_, layout, type) = x { return (layout, type) }
        return (.asONNX, x.elementType)
    }

    static func spatialInput(_ c: NodeContext) throws -> (ImportedValue, [Int]) {
        let x = try c.required(0)
        let shape = c.shape(x)
        guard shape.count == 4 else { throw ONNXNodeFailure("only 1-D and 2-D windows are supported (NCL or NCHW input), got \(shapeText(shape))") }
        guard x.elementType.isFloat else { throw ONNXNodeFailure("needs a float input, got \(x.elementType)") }
        return (x, shape)
    }

    static func pool(_ c: NodeContext, max: Bool) throws -> ImportedValue {
        let (x, shape) = try spatialInput(c)
        guard c.node.outputs.count < 2 || c.node.outputs[1].isEmpty else { throw ONNXNodeFailure("the Indices output is not supported") }
        guard let kernel = try c.ints("kernel_shape"), kernel.count == 2, kernel.allSatisfy({ $0 > 0 }) else {
            throw ONNXNodeFailure("kernel_shape must have 2 positive entries")
        }
        let window = try ConvOps.window(c, kernel: kernel)
        guard window.dilations == [1, 1] else { throw c.unsupported("dilations", shapeText(window.dilations)) }
        var pads = try ConvOps.forwardPads(c, input: [shape[2], shape[3]], window: window)
        let i = c.importer
        var input = try c.node(x, .channelsLast)
        // Ceil mode: extra end padding (never counted) so the floor formula gives the ceiling.
        var extra = [0, 0]
        if try c.int("ceil_mode", 0) != 0 {
            for (axis, size) in [shape[2], shape[3]].enumerated() {
                let padded = size + pads[2 * axis] + pads[2 * axis + 1]
                var out = (padded - kernel[axis] + window.strides[axis] - 1) / window.strides[axis] + 1
                // A last window that would start in the end padding is dropped (as PyTorch and onnxruntime do).
                if (out - 1) * window.strides[axis] >= size + pads[2 * axis] { out -= 1 }
                extra[axis] = Swift.max(0, (out - 1) * window.strides[axis] + kernel[axis] - padded)
            }
        }
        if !max, try c.int("count_include_pad", 0) != 0, pads.contains(where: { $0 > 0 }) {
            // The padding counts in the mean: pad with zeros first, then average without padding.
            input = try i.add(.pad, [input], Attributes(["pads": .ints([0, 0] + pads + [0, 0]), "mode": .string("constant")]))
            pads = [0, 0, 0, 0]
        }
        pads[1] += extra[0]
        pads[3] += extra[1]
        let y = try i.add(max ? .maxPool : .avgPool, [input], Attributes(["window": .ints(kernel), "strides": .ints(window.strides), "pads": .ints(pads)]))
        return c.runtime(y, .channelsLast, x.elementType)
    }

    static func globalPool(_ c: NodeContext, _ op: Op) throws -> ImportedValue {
        let x = try c.required(0)
        let rank = c.shape(x).count
        if rank == 4 {
            let y = try c.importer.add(op, [c.node(x, .channelsLast)], Attributes(["axes": .ints([1, 2]), "keepdims": .bool(true)]))
            return c.runtime(y, .channelsLast, x.elementType)
        }
        guard rank >= 3 else { throw ONNXNodeFailure("needs a rank 3 or more input") }
        let y = try c.importer.add(op, [c.node(x)], Attributes(["axes": .ints(Array(2..<rank)), "keepdims": .bool(true)]))
        return c.runtime(y, .asONNX, x.elementType)
    }

    /// A per-channel [C] vector shaped to broadcast against `x` in `layout`.
    static func channelVector(_ c: NodeContext, _ value: ImportedValue, rank: Int, layout: ONNXLayout, hint: String) throws -> Int {
        let count = c.shape(value).reduce(1, *)
        let shape = layout == .channelsLast ? [count] : [count] + [Int](repeating: 1, count: Swift.max(0, rank - 2))
        if let constant = value.constant { return try c.node(.constant(constant.reshaped(shape)), hint: hint) }
        return try c.importer.reshape(c.node(value), shape)
    }

    static func batchNorm(_ c: NodeContext) throws -> ImportedValue {
        let x = try c.required(0)
        let shape = c.shape(x)
        guard shape.count >= 2, x.elementType.isFloat else { throw ONNXNodeFailure("needs a float input of rank 2 or more") }
        if try c.int("training_mode", 0) != 0 { throw c.unsupported("training_mode", 1) }
        guard c.node.outputs.dropFirst().allSatisfy(\.isEmpty) else { throw ONNXNodeFailure("only inference (one output) is supported") }
        let epsilon = try c.float("epsilon", 1e-5)
        let layout: ONNXLayout = shape.count == 4 ? .channelsLast : .asONNX
        let params = try (1...4).map { try c.required($0) }
        for (k, p) in params.enumerated() where c.shape(p) != [shape[1]] {
            throw ONNXNodeFailure("\(["scale", "B", "mean", "var"][k]) has shape \(shapeText(c.shape(p))), expected [\(shape[1])]")
        }
        let i = c.importer
        let input = try c.node(x, layout)
        let name = c.node.inputs[1]
        // Constant statistics fold to one multiply-add: a = scale / sqrt(var + eps), b = B - mean * a.
        if let scale = params[0].constant, let bias = params[1].constant, let mean = params[2].constant, let variance = params[3].constant {
            let a = zip(scale.values, variance.values).map { Double(Float($0) / Float($1 + epsilon).squareRoot()) }
            let b = (0..<a.count).map { Double(Float(bias.values[$0]) - Float(mean.values[$0]) * Float(a[$0])) }
            let av = try channelVector(c, .constant(ONNXConstant(type: scale.type, shape: [a.count], values: a)), rank: shape.count, layout: layout, hint: name + ".bn_scale")
            let bv = try channelVector(c, .constant(ONNXConstant(type: scale.type, shape: [b.count], values: b)), rank: shape.count, layout: layout, hint: name + ".bn_shift")
            return c.runtime(try i.add(.add, [i.add(.mul, [input, av]), bv]), layout, x.elementType)
        }
        let vectors = try params.enumerated().map { try channelVector(c, $1, rank: shape.count, layout: layout, hint: c.node.inputs[$0 + 1]) }
        let eps = try ElementwiseOps.scalar(c, epsilon, like: input)
        let inv = try i.add(.rsqrt, [i.add(.add, [vectors[3], eps])])
        let normalised = try i.add(.mul, [i.add(.sub, [input, vectors[2]]), i.add(.mul, [inv, vectors[0]])])
        return c.runtime(try i.add(.add, [normalised, vectors[1]]), layout, x.elementType)
    }

    static func instanceNorm(_ c: NodeContext) throws -> ImportedValue {
        let x = try c.required(0)
        let shape = c.shape(x)
        guard shape.count >= 3, x.elementType.isFloat else { throw ONNXNodeFailure("needs a float input of rank 3 or more") }
        let epsilon = try c.float("epsilon", 1e-5)
        let layout: ONNXLayout = shape.count == 4 ? .channelsLast : .asONNX
        let axes = layout == .channelsLast ? [1, 2] : Array(2..<shape.count)
        let i = c.importer
        let input = try c.node(x, layout)
        let reduce = Attributes(["axes": .ints(axes), "keepdims": .bool(true)])
        let centred = try i.add(.sub, [input, i.add(.reduceMean, [input], reduce)])
        let variance = try i.add(.reduceMean, [i.add(.square, [centred])], reduce)
        let inv = try i.add(.rsqrt, [i.add(.add, [variance, ElementwiseOps.scalar(c, epsilon, like: input)])])
        let scale = try channelVector(c, c.required(1), rank: shape.count, layout: layout, hint: c.node.inputs[1])
        let bias = try channelVector(c, c.required(2), rank: shape.count, layout: layout, hint: c.node.inputs[2])
        return c.runtime(try i.add(.add, [i.add(.mul, [i.add(.mul, [centred, inv]), scale]), bias]), layout, x.elementType)
    }

    /// Over the axes from `axis` on: (x - mean) / sqrt(var + eps) * scale + bias; also the Mean
    /// and InvStdDev outputs (kept dims), when asked for.
    static func layerNorm(_ c: NodeContext) throws -> [ImportedValue] {
        let x = try c.required(0)
        let shape = c.shape(x)
        guard x.elementType.isFloat, !shape.isEmpty else { throw ONNXNodeFailure("needs a float input of rank 1 or more") }
        let axis = try c.axis(c.int("axis", -1), rank: shape.count)
        let epsilon = try c.float("epsilon", 1e-5)
        let i = c.importer
        let input = try c.node(x)
        let reduce = Attributes(["axes": .ints(Array(axis..<shape.count)), "keepdims": .bool(true)])
        let mean = try i.add(.reduceMean, [input], reduce)
        let centred = try i.add(.sub, [input, mean])
        let variance = try i.add(.reduceMean, [i.add(.square, [centred])], reduce)
        let inv = try i.add(.rsqrt, [i.add(.add, [variance, ElementwiseOps.scalar(c, epsilon, like: input)])])
        var y = try i.add(.mul, [i.add(.mul, [centred, inv]), c.inputNode(1)])
        if try c.input(2) != nil { y = try i.add(.add, [y, c.inputNode(2)]) }
        return [c.runtime(y, .asONNX, x.elementType), c.runtime(mean, .asONNX, x.elementType), c.runtime(inv, .asONNX, x.elementType)]
    }

    static func pad(_ c: NodeContext) throws -> ImportedValue {
        let x = try c.required(0)
        let shape = c.shape(x), rank = shape.count
        let mode = try c.string("mode", "constant")
        var pads: [Int]
        var value = 0.0
        var axes = Array(0..<rank)
        if c.opset < 11 {
            pads = try c.ints("pads") ?? c.ints("paddings") ?? []
            value = try c.float("value", 0)
        } else {
            pads = try ShapeOps.shapeValues(c.constant(1, "pads"))
            if let v = try c.constant(2, "constant_value") {
                guard v.count == 1 else { throw ONNXNodeFailure("constant_value must be a scalar") }
                value = v.values[0]
            }
            if let given = try c.constant(3, "axes")?.ints { axes = try given.map { try c.axis($0, rank: rank) } }
        }
        try ShapeBounds.check(pads, "a pad")
        guard pads.count == 2 * axes.count else { throw ONNXNodeFailure("pads \(shapeText(pads)) must have \(2 * axes.count) entries") }
        var before = [Int](repeating: 0, count: rank), after = before
        for (k, axis) in axes.enumerated() { before[axis] = pads[k]; after[axis] = pads[k + axes.count] }
        let (have, type) = runtimeLayout(x)
        let layout: ONNXLayout = rank == 4 ? have : .asONNX
        let i = c.importer
        var y = try c.node(x, layout)
        // Negative pads crop.
        for axis in 0..<rank where before[axis] < 0 || after[axis] < 0 {
            let a = layout.axis(axis)
            y = try i.sliceAxis(y, axis: a, Swift.max(0, -before[axis]), shape[axis] - Swift.max(0, -after[axis]))
            before[axis] = Swift.max(0, before[axis]); after[axis] = Swift.max(0, after[axis])
        }
        guard before.contains(where: { $0 > 0 }) || after.contains(where: { $0 > 0 }) else { return c.runtime(y, layout, type) }
        var sinterPads = [Int](repeating: 0, count: 2 * rank)
        for axis in 0..<rank { sinterPads[2 * layout.axis(axis)] = before[axis]; sinterPads[2 * layout.axis(axis) + 1] = after[axis] }
        switch mode {
        case "constant":
            let padding = Attributes(["pads": .ints(sinterPads), "mode": .string("constant")])
            let padded = try i.add(.pad, [y], padding)
            if value == 0 && value.sign == .plus {
                y = padded
            } else {
                // The IR pads with +0 only: a mask of the original elements picks x or the value
                // exactly (x - v padded then + v would lose small x, and gives NaN for v = -inf).
                let ones = try i.add(.constant, [], Attributes(["value": .float(1)]), type: i.type(y))
                let inside = try i.add(.pad, [ones], padding)
                y = try i.add(.select, [inside, padded, ElementwiseOps.scalar(c, value, like: y)])
            }
        case "reflect":
            y = try i.add(.pad, [y], Attributes(["pads": .ints(sinterPads), "mode": .string("reflect")]))
        case "edge":
            for axis in 0..<rank where sinterPads[2 * axis] > 0 || sinterPads[2 * axis + 1] > 0 {
                var pieces: [Int] = []
                let size = i.type(y).shape[axis]
                var edgeShape = i.type(y).shape
                if sinterPads[2 * axis] > 0 {
                    edgeShape[axis] = sinterPads[2 * axis]
                    pieces.append(try i.broadcast(i.sliceAxis(y, axis: axis, 0, 1), to: edgeShape))
                }
                pieces.append(y)
                if sinterPads[2 * axis + 1] > 0 {
                    edgeShape[axis] = sinterPads[2 * axis + 1]
                    pieces.append(try i.broadcast(i.sliceAxis(y, axis: axis, size - 1, size), to: edgeShape))
                }
                y = try i.concat(pieces, axis: axis)
            }
        default: throw c.unsupported("mode", mode)
        }
        return c.runtime(y, layout, type)
    }
}

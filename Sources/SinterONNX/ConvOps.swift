import SinterIR

/// Conv and ConvTranspose: NCHW/OIHW in ONNX, NHWC/HWIO in Sinter. The input is taken
/// channels-last (a transpose only if its producer made NCHW), constant weights are permuted,
/// dilated and split by group at import time, and the result stays channels-last.
enum ConvOps {
    typealias Handler = (NodeContext) throws -> [ImportedValue]

    static let table: [String: Handler] = [
        "Conv": { c in try OneDimensional.applies(c) ? OneDimensional.lifted(c, lift: [0, 1]) { [try conv($0, transposed: false)] } : [try conv(c, transposed: false)] },
        "ConvTranspose": { c in try OneDimensional.applies(c) ? OneDimensional.lifted(c, lift: [0, 1]) { [try conv($0, transposed: true)] } : [try conv(c, transposed: true)] },
    ]

    /// Kernel geometry along the two spatial axes.
    struct Window {
        var kernel: [Int]
        var strides: [Int]
        var dilations: [Int]
        var effective: [Int] { zip(kernel, dilations).map { ($0 - 1) * $1 + 1 } }
    }

    static func window(_ c: NodeContext, kernel: [Int]) throws -> Window {
        let strides = try c.ints("strides") ?? [1, 1]
        let dilations = try c.ints("dilations") ?? [1, 1]
        if let given = try c.ints("kernel_shape"), given != kernel {
            throw ONNXNodeFailure("kernel_shape \(shapeText(given)) does not match the weights' \(shapeText(kernel))")
        }
        try ShapeBounds.check(strides + dilations + kernel, "a stride, dilation or kernel size")
        guard strides.count == 2, dilations.count == 2, strides.allSatisfy({ $0 > 0 }), dilations.allSatisfy({ $0 > 0 }) else {
            throw ONNXNodeFailure("strides \(shapeText(strides)) and dilations \(shapeText(dilations)) must be two positive ints")
        }
        return Window(kernel: kernel, strides: strides, dilations: dilations)
    }

    /// ONNX `pads` [h_begin, w_begin, h_end, w_end] or `auto_pad`, as Sinter's [top, bottom, left, right]
    /// for a forward window over `input`.
    static func forwardPads(_ c: NodeContext, input: [Int], window: Window) throws -> [Int] {
        let autoPad = try c.string("auto_pad", "NOTSET")
        switch autoPad {
        case "NOTSET":
            let pads = try c.ints("pads") ?? [0, 0, 0, 0]
            guard pads.count == 4 else { throw ONNXNodeFailure("pads \(shapeText(pads)) must have 4 entries") }
            try ShapeBounds.check(pads, "a pad")
            return [pads[0], pads[2], pads[1], pads[3]]
        case "VALID": return [0, 0, 0, 0]
        case "SAME_UPPER", "SAME_LOWER":
            var out: [Int] = []
            for axis in 0..<2 {
                let o = (input[axis] + window.strides[axis] - 1) / window.strides[axis]
                let total = Swift.max(0, (o - 1) * window.strides[axis] + window.effective[axis] - input[axis])
                let small = total / 2, large = total - total / 2
                out += autoPad == "SAME_UPPER" ? [small, large] : [large, small]
            }
            return out
        default: throw c.unsupported("auto_pad", autoPad)
        }
    }

    static func conv(_ c: NodeContext, transposed: Bool) throws -> ImportedValue {
        let x = try c.required(0), w = try c.required(1)
        let xShape = c.shape(x), wShape = c.shape(w)
        guard xShape.count == 4, wShape.count == 4 else {
            throw ONNXNodeFailure("only 1-D and 2-D convolutions are supported (input \(shapeText(xShape)), weights \(shapeText(wShape)))")
        }
        guard x.elementType.isFloat else { throw ONNXNodeFailure("needs a float input, got \(x.elementType)") }
        guard (xShape + wShape).allSatisfy({ $0 > 0 }) else {
            throw ONNXNodeFailure("empty input \(shapeText(xShape)) or weights \(shapeText(wShape)); Sinter has no empty tensors")
        }
        let group = try c.int("group", 1)
        try ShapeBounds.check([group], "group")
        let window = try window(c, kernel: Array(wShape[2...]))
        // Conv: W is [M, C/g, kh, kw]; ConvTranspose: W is [C, M/g, kh, kw].
        let inChannels = transposed ? wShape[0] : wShape[1] * group
        guard group > 0, xShape[1] == inChannels, wShape[0] % group == 0 else {
            throw ONNXNodeFailure("input \(shapeText(xShape)) does not fit weights \(shapeText(wShape)) with group \(group)")
        }
        let outChannels = transposed ? wShape[1] * group : wShape[0]
        if let bias = try c.input(2), c.shape(bias) != [outChannels] {
            throw ONNXNodeFailure("bias \(shapeText(c.shape(bias))) must be [\(outChannels)]")
        }
        let i = c.importer
        let input = try c.node(x, .channelsLast)
        if !transposed, group > 1, group == xShape[1], outChannels == group, let weights = w.constant {
            var y = try DepthwiseConv.build(c, input, weights, window: window,
                                            pads: forwardPads(c, input: [xShape[2], xShape[3]], window: window))
            if let bias = try c.input(2) { y = try i.add(.add, [y, c.node(bias, hint: c.node.inputs[2])]) }
            return c.runtime(y, .channelsLast, x.elementType)
        }
        // Each group's HWIO kernel: [kh', kw', in/g, out/g] with dilation holes filled by zeros.
        var kernels: [Int] = []
        for g in 0..<group {
            let rows = transposed ? Array((g * xShape[1] / group)..<((g + 1) * xShape[1] / group)) : Array((g * outChannels / group)..<((g + 1) * outChannels / group))
            kernels.append(try hwioKernel(c, w, rows: rows, window: window, group: g, groups: group))
        }
        var pieces: [Int] = []
        let perGroupIn = xShape[1] / group, perGroupOut = outChannels / group
        for g in 0..<group {
            let xs = group == 1 ? input : try i.sliceAxis(input, axis: 3, g * perGroupIn, (g + 1) * perGroupIn)
            pieces.append(transposed
                ? try convTranspose(c, xs, kernels[g], input: [xShape[2], xShape[3]], window: window, outChannels: perGroupOut)
                : try i.add(.conv2d, [xs, kernels[g]], Attributes(["strides": .ints(window.strides),
                                                                   "pads": .ints(forwardPads(c, input: [xShape[2], xShape[3]], window: window))])))
        }
        var y = try i.concat(pieces, axis: 3)
        if let bias = try c.input(2) { y = try i.add(.add, [y, c.node(bias, hint: c.node.inputs[2])]) }
        return c.runtime(y, .channelsLast, x.elementType)
    }

    /// The HWIO kernel of one group: rows `rows` of W's first axis, dilated, permuted
    /// [a, b, kh, kw] -> [kh, kw, b, a]. Runtime weights are sliced and transposed by nodes
    /// (dilation then needs constants).
    static func hwioKernel(_ c: NodeContext, _ w: ImportedValue, rows: [Int], window: Window, group: Int, groups: Int) throws -> Int {
        let hint = c.node.inputs[1] + ".hwio" + (groups > 1 ? ".g\(group)" : "")
        guard let constant = w.constant else {
            guard window.dilations == [1, 1] else { throw ONNXNodeFailure("dilated convolution needs constant weights") }
            var id = try c.node(w)
            if groups > 1 { id = try c.importer.sliceAxis(id, axis: 0, rows[0], rows[rows.count - 1] + 1) }
            return try c.importer.permute(id, [2, 3, 1, 0])
        }
        var k = constant
        if groups > 1 {
            let inner = k.shape[1...].reduce(1, *)
            var shape = k.shape
            shape[0] = rows.count
            k = ONNXConstant(type: k.type, shape: shape, values: Array(k.values[(rows[0] * inner)..<((rows[rows.count - 1] + 1) * inner)]))
        }
        if window.dilations != [1, 1] {
            let (a, b) = (k.shape[0], k.shape[1])
            let (eh, ew) = (window.effective[0], window.effective[1])
            var values = [Double](repeating: 0, count: a * b * eh * ew)
            for p in 0..<(a * b) {
                for r in 0..<window.kernel[0] {
                    for s in 0..<window.kernel[1] {
                        values[(p * eh + r * window.dilations[0]) * ew + s * window.dilations[1]] =
                            k.values[(p * window.kernel[0] + r) * window.kernel[1] + s]
                    }
                }
            }
            k = ONNXConstant(type: k.type, shape: [a, b, eh, ew], values: values)
        }
        return try c.importer.runtime(.constant(k.transposed([2, 3, 1, 0])), layout: .asONNX, nameHint: hint)
    }

    /// ConvTranspose of one group as the data gradient of a forward conv whose input is this
    /// op's output. Pads from `pads`, `output_shape` or `auto_pad`; when they are negative or the
    /// output padding reaches a stride, the full result is computed and cropped or zero-padded.
    static func convTranspose(_ c: NodeContext, _ x: Int, _ kernel: Int, input: [Int], window: Window, outChannels: Int) throws -> Int {
        let outputPadding = try c.ints("output_padding") ?? [0, 0]
        guard outputPadding.count == 2 else { throw ONNXNodeFailure("output_padding must have 2 entries") }
        try ShapeBounds.check(outputPadding + (c.ints("output_shape") ?? []) + (c.ints("pads") ?? []), "an output padding, output shape or pad")
        let autoPad = try c.string("auto_pad", "NOTSET")
        var begin = [0, 0], end = [0, 0]
        let full = (0..<2).map { window.strides[$0] * (input[$0] - 1) + window.effective[$0] }
        let outputShape = try c.ints("output_shape").map { Array($0.suffix(2)) }
        if outputShape != nil || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
            let target = outputShape ?? (0..<2).map { input[$0] * window.strides[$0] }
            for axis in 0..<2 {
                let total = full[axis] + outputPadding[axis] - target[axis]
                let half = total >= 0 ? total / 2 : -((-total + 1) / 2)
                (begin[axis], end[axis]) = autoPad == "SAME_UPPER" ? (half, total - half) : (total - half, half)
            }
        } else if autoPad == "NOTSET" || autoPad == "VALID" {
            if autoPad == "NOTSET", let pads = try c.ints("pads") {
                guard pads.count == 4 else { throw ONNXNodeFailure("pads must have 4 entries") }
                begin = [pads[0], pads[1]]
                end = [pads[2], pads[3]]
            }
        } else {
            throw c.unsupported("auto_pad", autoPad)
        }
        let out = (0..<2).map { full[$0] + outputPadding[$0] - begin[$0] - end[$0] }
        guard out.allSatisfy({ $0 > 0 }) else { throw ONNXNodeFailure("the output would be empty (\(shapeText(out)))") }
        let i = c.importer
        let n = i.type(x).shape[0], dtype = i.type(x).dtype
        let direct = (0..<2).allSatisfy { begin[$0] >= 0 && end[$0] >= 0 && outputPadding[$0] < window.strides[$0] }
        if direct {
            return try i.add(.conv2dInputGrad, [x, kernel], Attributes(["strides": .ints(window.strides), "pads": .ints([begin[0], end[0], begin[1], end[1]])]),
                             type: TensorType(dtype, [n, out[0], out[1], outChannels]))
        }
        var y = try i.add(.conv2dInputGrad, [x, kernel], Attributes(["strides": .ints(window.strides), "pads": .ints([0, 0, 0, 0])]),
                          type: TensorType(dtype, [n, full[0], full[1], outChannels]))
        var pads = [0, 0, 0, 0, 0, 0, 0, 0]
        for axis in 0..<2 {
            let lo = begin[axis], hi = lo + out[axis]
            pads[2 * (axis + 1)] = Swift.max(0, -lo)
            pads[2 * (axis + 1) + 1] = Swift.max(0, hi - full[axis])
            y = try i.sliceAxis(y, axis: axis + 1, Swift.max(0, lo), Swift.min(full[axis], hi))
        }
        if pads.contains(where: { $0 > 0 }) {
            y = try i.add(.pad, [y], Attributes(["pads": .ints(pads), "mode": .string("constant")]))
        }
        return y
    }
}

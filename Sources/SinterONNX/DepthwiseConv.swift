import SinterIR

/// A depthwise convolution (group = input channels = output channels, MobileNet's), which as
/// `group` separate conv2d nodes would be hundreds of tiny kernels per layer. Instead: one
/// multiply-add per kernel tap, `y = sum over (r, s) of x[r.., s..] * w[:, r, s]`, on the padded
/// channels-last input at stride 1, then every `stride`-th row and column kept.
enum DepthwiseConv {
    static func build(_ c: NodeContext, _ input: Int, _ weights: ONNXConstant, window: ConvOps.Window, pads: [Int]) throws -> Int {
        let i = c.importer
        let shape = i.type(input).shape
        let (n, channels) = (shape[0], shape[3])
        var x = input
        if pads.contains(where: { $0 != 0 }) {
            guard pads.allSatisfy({ $0 >= 0 }) else { throw ONNXNodeFailure("negative pads are not supported") }
            x = try i.add(.pad, [x], Attributes(["pads": .ints([0, 0] + pads + [0, 0]), "mode": .string("constant")]))
        }
        let padded = i.type(x).shape
        let (kh, kw) = (window.kernel[0], window.kernel[1])
        let (dh, dw) = (window.dilations[0], window.dilations[1])
        let (eh, ew) = (window.effective[0], window.effective[1])
        let (oh, ow) = (padded[1] - eh + 1, padded[2] - ew + 1)
        guard oh > 0, ow > 0 else { throw ONNXNodeFailure("the kernel is larger than the padded input") }
        let dtype: ONNXElementType = i.type(input).dtype == .f64 ? .double : .float
        var sum: Int?
        for r in 0..<kh {
            for s in 0..<kw {
                // w is [C, 1, kh, kw]: the tap's weight for every channel.
                let tap = (0..<channels).map { weights.values[($0 * kh + r) * kw + s] }
                if tap.allSatisfy({ $0 == 0 }) { continue }
                let begin = [0, r * dh, s * dw, 0], end = [n, r * dh + oh, s * dw + ow, channels]
                let window = try begin == [0, 0, 0, 0] && end == padded ? x
                    : i.add(.slice, [x], Attributes(["begin": .ints(begin), "end": .ints(end)]))
                let vector = try i.runtime(.constant(ONNXConstant(type: dtype, shape: [channels], values: tap)), layout: .asONNX,
                                           nameHint: c.node.inputs[1] + ".tap\(r).\(s)")
                let term = try i.add(.mul, [window, vector])
                sum = try sum.map { try i.add(.add, [$0, term]) } ?? term
            }
        }
        var y = try sum ?? i.add(.constant, [], Attributes(["value": .float(0)]), type: TensorType(i.type(input).dtype, [n, oh, ow, channels]))
        for (axis, stride) in [(1, window.strides[0]), (2, window.strides[1])] where stride > 1 {
            y = try subsample(i, y, axis: axis, stride: stride)
        }
        return y
    }

    /// Every `stride`-th element along `axis` from 0: the rows kept by a strided window
    /// ((size - 1) / stride + 1 of them), by padding to a multiple of the stride, splitting the
    /// axis in two and keeping index 0 of the inner part.
    static func subsample(_ i: ONNXImporter, _ id: Int, axis: Int, stride: Int) throws -> Int {
        var shape = i.type(id).shape
        let kept = (shape[axis] - 1) / stride + 1
        var x = id
        if kept * stride > shape[axis] {
            var pads = [Int](repeating: 0, count: 2 * shape.count)
            pads[2 * axis + 1] = kept * stride - shape[axis]
            x = try i.add(.pad, [x], Attributes(["pads": .ints(pads), "mode": .string("constant")]))
        }
        let split = Array(shape[..<axis]) + [kept, stride] + Array(shape[(axis + 1)...])
        x = try i.reshape(x, split)
        x = try i.sliceAxis(x, axis: axis + 1, 0, 1)
        shape[axis] = kept
        return try i.reshape(x, shape)
    }
}

import SinterIR

/// QuantizeLinear and DequantizeLinear, per tensor or per axis, 8- and 16-bit integers.
/// Constant inputs (quantised weights) are folded at import, so float kernels read dequantised
/// weights. Runtime quantisation is emulated exactly in float: round half to even (by the
/// 1.5 * 2^23 trick, exact for every value that is not clipped anyway), add the zero point,
/// saturate to the type's range. Quantised runtime values stay floats holding integers.
enum QuantizationOps {
    typealias Handler = (NodeContext) throws -> [ImportedValue]

    static let table: [String: Handler] = [
        "QuantizeLinear": { c in [try quantize(c)] },
        "DequantizeLinear": { c in [try dequantize(c)] },
    ]

    static let quantisedTypes: [ONNXElementType] = [.uint8, .int8, .uint16, .int16, .int32]

    /// Scale and zero point as per-element vectors aligned with `axis` of `shape` (a scalar
    /// for per-tensor), plus the ONNX integer type.
    static func parameters(_ c: NodeContext, shape: [Int], quantisedType: ONNXElementType?) throws -> (scale: ONNXConstant, zero: ONNXConstant, axis: Int?, type: ONNXElementType) {
        if try c.int("block_size", 0) != 0 { throw c.unsupported("block_size", try c.int("block_size", 0)) }
        guard let scale = try c.constant(1, "scale") else { throw ONNXNodeFailure("needs a scale") }
        let zero = try c.constant(2, "zero_point")
        var type = quantisedType ?? zero?.type ?? .uint8
        if let code = try? c.int("output_dtype", 0), code != 0, let t = ONNXElementType(rawValue: code) { type = t }
        guard quantisedTypes.contains(type) else { throw ONNXNodeFailure("quantised type \(type) is not supported (int8, uint8, int16, uint16, int32)") }
        let zeroPoint = zero ?? ONNXConstant(type: type, shape: scale.shape, values: [Double](repeating: 0, count: scale.count))
        guard zeroPoint.count == scale.count else { throw ONNXNodeFailure("scale and zero point have different shapes") }
        if scale.count == 1 { return (scale.reshaped([]), zeroPoint.reshaped([]), nil, type) }
        let axis = try c.axis(c.int("axis", 1), rank: shape.count)
        guard scale.rank == 1, scale.count == shape[axis] else {
            throw ONNXNodeFailure("per-axis scale \(shapeText(scale.shape)) does not match axis \(axis) of \(shapeText(shape))")
        }
        return (scale, zeroPoint.reshaped([zeroPoint.count]), axis, type)
    }

    /// A per-axis [C] vector shaped to broadcast along ONNX `axis` of a rank-`rank` value held in `layout`.
    static func aligned(_ v: ONNXConstant, axis: Int?, rank: Int, layout: ONNXLayout, type: ONNXElementType) -> ONNXConstant {
        let c = ONNXConstant(type: type, shape: v.shape, values: v.values)
        guard let axis else { return c }
        let sinterAxis = layout.axis(axis)
        var shape = [Int](repeating: 1, count: rank - sinterAxis)
        shape[0] = v.count
        return c.reshaped(shape)
    }

    static func quantize(_ c: NodeContext) throws -> ImportedValue {
        let x = try c.required(0)
        let shape = c.shape(x)
        let (scale, zero, axis, type) = try parameters(c, shape: shape, quantisedType: nil)
        let range = type.integerRange!
        if let constant = x.constant {
            let values = constant.values.enumerated().map { k, v -> Double in
                let channel = axis.map { (k / shape[($0 + 1)...].reduce(1, *)) % shape[$0] } ?? 0
                let q = (v / scale.values[channel]).rounded(.toNearestOrEven) + zero.values[channel]
                return Swift.min(Swift.max(q, range.lowerBound), range.upperBound)
            }
            return .constant(ONNXConstant(type: type, shape: shape, values: values))
        }
        guard x.elementType.isFloat, case let .runtime(id, layout, _) = x else { throw ONNXNodeFailure("needs a float input") }
        let i = c.importer
        let floatType: ONNXElementType = i.type(id).dtype == .f64 ? .double : .float
        let s = try c.node(.constant(aligned(scale, axis: axis, rank: shape.count, layout: layout, type: floatType)), hint: c.node.inputs[1] + ".q")
        let z = try c.node(.constant(aligned(zero, axis: axis, rank: shape.count, layout: layout, type: floatType)), hint: (c.node.inputs.count > 2 ? c.node.inputs[2] : c.name) + ".q")
        let magic = try ElementwiseOps.scalar(c, floatType == .float ? 12582912 : 6755399441055744, like: id)
        let rounded = try i.add(.sub, [i.add(.add, [i.add(.div, [id, s]), magic]), magic])
        let shifted = try i.add(.add, [rounded, z])
        let low = try ElementwiseOps.scalar(c, range.lowerBound, like: id), high = try ElementwiseOps.scalar(c, range.upperBound, like: id)
        return c.runtime(try i.add(.minimum, [i.add(.maximum, [shifted, low]), high]), layout, type)
    }

    static func dequantize(_ c: NodeContext) throws -> ImportedValue {
        let x = try c.required(0)
        let shape = c.shape(x)
        let (scale, zero, axis, _) = try parameters(c, shape: shape, quantisedType: x.elementType.isFloat ? nil : x.elementType)
        let outType: ONNXElementType = scale.type == .double ? .double : .float
        if let constant = x.constant {
            let values = constant.values.enumerated().map { k, v -> Double in
                let channel = axis.map { (k / shape[($0 + 1)...].reduce(1, *)) % shape[$0] } ?? 0
                let y = (v - zero.values[channel]) * scale.values[channel]
                return outType == .float ? Double(Float(y)) : y
            }
            return .constant(ONNXConstant(type: outType, shape: shape, values: values))
        }
        guard case let .runtime(id, layout, _) = x else { fatalError("unreachable") }
        let i = c.importer
        var input = id
        if !i.type(id).dtype.isFloat { input = try i.add(.cast, [id], Attributes(["to": .dtype(outType == .double ? .f64 : .f32)])) }
        let s = try c.node(.constant(aligned(scale, axis: axis, rank: shape.count, layout: layout, type: outType)), hint: c.node.inputs[1] + ".dq")
        let z = try c.node(.constant(aligned(zero, axis: axis, rank: shape.count, layout: layout, type: outType)), hint: (c.node.inputs.count > 2 ? c.node.inputs[2] : c.name) + ".dq")
        return c.runtime(try i.add(.mul, [i.add(.sub, [input, z]), s]), layout, outType)
    }
}

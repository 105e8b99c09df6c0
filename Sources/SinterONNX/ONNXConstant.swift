import SinterIR

/// A tensor whose values the importer knows: an initializer, a `Constant`, or the folded result of
/// shape arithmetic. Values are Doubles whatever the ONNX type (exact for every float32 and for
/// integers up to 2^53; larger int64s, such as INT64_MAX in Slice ends, are only ever clamped).
public struct ONNXConstant: Sendable, Equatable {
    public var type: ONNXElementType
    public var shape: [Int]
    public var values: [Double]

    public init(type: ONNXElementType, shape: [Int], values: [Double]) {
        precondition(values.count == (SizeLimits.elementCount(shape) ?? -1), "constant value count does not match its shape")
        self.type = type
        self.shape = shape
        self.values = values
    }

    public var count: Int { values.count }
    public var rank: Int { shape.count }

    /// Every value as an Int, clamped to Int's range (INT64_MAX stays Int.max, NaN becomes 0).
    public var ints: [Int] { values.map(clampedInt) }

    /// The one value all elements share, if they all do.
    public var splat: Double? {
        guard let first = values.first, values.allSatisfy({ $0 == first || ($0.isNaN && first.isNaN) }) else { return nil }
        return first
    }

    /// The same values with a new shape of the same element count.
    func reshaped(_ newShape: [Int]) -> ONNXConstant { ONNXConstant(type: type, shape: newShape, values: values) }

    /// Axes permuted: result axis i is this tensor's axis perm[i].
    func transposed(_ perm: [Int]) -> ONNXConstant {
        let strides = rowMajorStrides(shape)
        return gathered(perm.map { shape[$0] }) { axis, coordinate in coordinate * strides[perm[axis]] }
    }

    /// This tensor broadcast (numpy rules) to `target`, which the caller has checked it fits.
    func broadcast(to target: [Int]) -> ONNXConstant {
        if shape == target { return self }
        let padded = [Int](repeating: 1, count: target.count - rank) + shape
        let strides = rowMajorStrides(padded)
        return gathered(target) { axis, coordinate in padded[axis] == 1 ? 0 : coordinate * strides[axis] }
    }

    /// A tensor of `outShape` whose element at each coordinate is this tensor's element at the sum
    /// of `offset(axis, coordinate)` over the axes.
    private func gathered(_ outShape: [Int], offset: (Int, Int) -> Int) -> ONNXConstant {
        let outStrides = rowMajorStrides(outShape)
        let total = SizeLimits.elementCount(outShape) ?? 0
        var out = [Double](repeating: 0, count: total)
        for index in 0..<total {
            var rest = index, source = 0
            for axis in outShape.indices {
                let coordinate = rest / outStrides[axis]
                rest -= coordinate * outStrides[axis]
                source += offset(axis, coordinate)
            }
            out[index] = values[source]
        }
        return ONNXConstant(type: type, shape: outShape, values: out)
    }

    /// The values rounded and range-checked as the ONNX type would hold them (casts, folded
    /// integer arithmetic).
    func convertedValues(to newType: ONNXElementType) -> [Double] {
        switch newType {
        case .float: return values.map { Double(Float($0)) }
        case .double: return values
        case .bool: return values.map { $0 != 0 ? 1 : 0 }
        default:
            guard let range = newType.integerRange else { return values }
            // Casting a float to an integer type truncates toward zero (saturating here, where
            // C would be undefined).
            return values.map { $0.isNaN ? 0 : Swift.min(Swift.max($0.rounded(.towardZero), range.lowerBound), range.upperBound) }
        }
    }
}

/// The bounds every ONNX shape the importer handles must keep, so no arithmetic on shapes can
/// overflow (any product of dimensions stays below 2^40): rank at most 16, each dimension at most
/// 2^24, and the product of the non-zero dimensions at most 2^40. Real models are far inside both.
enum ShapeBounds {
    static let maxDimension = 1 << 24
    static let maxProduct = 1 << 40

    /// Why `shape` is out of bounds, or nil.
    static func problem(_ shape: [Int]) -> String? {
        guard shape.count <= 16 else { return "rank \(shape.count) is more than the 16 Sinter imports" }
        var product = 1
        for d in shape {
            guard d >= 0 && d <= maxDimension else { return "the shape \(shapeText(shape)) has a dimension outside 0...\(maxDimension)" }
            product *= Swift.max(d, 1)
            guard product <= maxProduct else { return "the shape \(shapeText(shape)) has more than 2^40 elements" }
        }
        return nil
    }

    /// An attribute or size that feeds shape arithmetic (strides, pads, kernel sizes, groups,
    /// repeats): refused beyond ±2^24.
    static func check(_ values: [Int], _ what: String) throws {
        if let bad = values.first(where: { Swift.abs($0) > maxDimension }) {
            throw ONNXNodeFailure("\(what) \(bad) is out of range (at most \(maxDimension))")
        }
    }
}

/// `value` as an Int, clamped to Int's range; NaN is 0.
func clampedInt(_ value: Double) -> Int {
    if value.isNaN { return 0 }
    if value >= 9.2233720368547758e18 { return Int.max }
    if value <= -9.2233720368547758e18 { return Int.min }
    return Int(value)
}

/// The numpy broadcast of two shapes, or nil when they do not broadcast.
func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    let pa = [Int](repeating: 1, count: rank - a.count) + a
    let pb = [Int](repeating: 1, count: rank - b.count) + b
    var out: [Int] = []
    for (x, y) in zip(pa, pb) {
        if x == y || y == 1 { out.append(x) } else if x == 1 { out.append(y) } else { return nil }
    }
    return out
}

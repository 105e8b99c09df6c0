import Foundation
import SinterIR

/// Resize and Upsample. Each resized axis is one linear map from input to output positions, so
/// nearest, linear and cubic interpolation with every coordinate mode become a constant
/// [out, in] matrix applied along that axis (one matmul). Integer nearest upsampling that is a
/// pure repeat (the style-transfer networks' x2) is a broadcast instead.
enum ResizeOps {
    typealias Handler = (NodeContext) throws -> [ImportedValue]

    static let table: [String: Handler] = [
        "Resize": { c in [try resize(c)] },
        "Upsample": { c in [try resize(c)] },
    ]

    struct Settings {
        var mode: String
        var coordinates: String
        var nearest: String
        var cubicA: Double
        var excludeOutside: Bool
    }

    static func resize(_ c: NodeContext) throws -> ImportedValue {
        let x = try c.required(0)
        let shape = c.shape(x), rank = shape.count
        let upsample = c.opType == "Upsample"
        var mode = try c.string("mode", "nearest")
        if mode == "bilinear" { mode = "linear" }
        guard ["nearest", "linear", "cubic"].contains(mode) else { throw c.unsupported("mode", mode) }
        let legacy = upsample || c.opset < 11
        let settings = Settings(mode: mode, coordinates: legacy ? "asymmetric" : try c.string("coordinate_transformation_mode", "half_pixel"),
                                nearest: legacy ? "floor" : try c.string("nearest_mode", "round_prefer_floor"),
                                cubicA: try c.float("cubic_coeff_a", -0.75), excludeOutside: try c.int("exclude_outside", 0) != 0)
        if try c.int("antialias", 0) != 0 { throw c.unsupported("antialias", 1) }
        if settings.coordinates == "tf_crop_and_resize" { throw c.unsupported("coordinate_transformation_mode", settings.coordinates) }
        var axes = Array(0..<rank)
        if let given = try c.ints("axes") { axes = try given.map { try c.axis($0, rank: rank) } }
        guard !axes.isEmpty, Set(axes).count == axes.count else { throw ONNXNodeFailure("axes must name each resized axis once") }
        // An empty axis has nothing to sample from (and would make every ratio infinite).
        if let empty = axes.first(where: { shape[$0] == 0 }) {
            throw ONNXNodeFailure("cannot resize axis \(empty) of \(shapeText(shape)): it is empty")
        }
        // Scales and sizes, for the listed axes.
        var scales: [Double]?, sizes: [Int]?
        if upsample && c.opset < 9 {
            scales = try c.floats("scales")
        } else {
            let scaleInput = upsample || c.opset == 10 ? 1 : 2
            if let s = try c.constant(scaleInput, "scales"), s.count > 0 { scales = s.values }
            if !upsample && c.opset >= 11, let s = try c.constant(3, "sizes"), s.count > 0 { sizes = s.ints }
        }
        var outShape = shape
        var axisScale = [Double](repeating: 1, count: rank)
        if let sizes {
            try ShapeBounds.check(sizes, "a size")
            guard sizes.count == axes.count, sizes.allSatisfy({ $0 > 0 }) else { throw ONNXNodeFailure("sizes \(shapeText(sizes)) must give one positive size per axis") }
            let policy = try c.string("keep_aspect_ratio_policy", "stretch")
            var ratios = zip(axes, sizes).map { Double($1) / Double(shape[$0]) }
            if policy != "stretch" {
                guard policy == "not_larger" || policy == "not_smaller" else { throw c.unsupported("keep_aspect_ratio_policy", policy) }
                let one = policy == "not_larger" ? ratios.min()! : ratios.max()!
                ratios = ratios.map { _ in one }
                for (k, a) in axes.enumerated() {
                    let size = (Double(shape[a]) * one).rounded()
                    guard size.isFinite, size <= Double(ShapeBounds.maxDimension) else { throw ONNXNodeFailure("sizes make axis \(a) too large") }
                    outShape[a] = Int(size)
                    axisScale[a] = ratios[k]
                }
            } else {
                for (k, a) in axes.enumerated() { outShape[a] = sizes[k]; axisScale[a] = ratios[k] }
            }
        } else if let scales {
            guard scales.count == axes.count, scales.allSatisfy({ $0 > 0 }) else { throw ONNXNodeFailure("scales must give one positive scale per axis") }
            for (k, a) in axes.enumerated() {
                let size = floor(Double(shape[a]) * scales[k])
                guard size.isFinite, size <= Double(ShapeBounds.maxDimension) else { throw ONNXNodeFailure("scale \(scales[k]) makes axis \(a) too large") }
                outShape[a] = Int(size)
                axisScale[a] = scales[k]
            }
        } else {
            throw ONNXNodeFailure("needs scales or sizes")
        }
        guard x.elementType.isFloat else { throw ONNXNodeFailure("needs a float input") }
        let (have, type) = PoolNormOps.runtimeLayout(x)
        if let problem = ShapeBounds.problem(outShape) { throw ONNXNodeFailure(problem) }
        guard outShape.allSatisfy({ $0 > 0 }) else { throw ONNXNodeFailure("the output \(shapeText(outShape)) would be empty") }
        let layout: ONNXLayout = rank == 4 ? have : .asONNX
        let i = c.importer
        var y = try c.node(x, layout)
        for axis in 0..<rank where outShape[axis] != shape[axis] || axisScale[axis] != 1 {
            let sinterAxis = layout.axis(axis)
            let (inSize, outSize, scale) = (shape[axis], outShape[axis], axisScale[axis])
            if mode == "nearest", let repeats = pureRepeat(inSize, outSize, scale, settings) {
                y = try repeatAxis(i, y, axis: sinterAxis, repeats)
                continue
            }
            let matrix = try weights(inSize, outSize, scale, settings)
            let identity = inSize == outSize && (0..<outSize).allSatisfy { o in
                matrix[o].enumerated().allSatisfy { $0.element == ($0.offset == o ? 1 : 0) }
            }
            if identity { continue }
            y = try applyAlong(c, y, axis: sinterAxis, matrix: matrix, hint: "\(c.name).resize\(axis)")
        }
        return c.runtime(y, layout, type)
    }

    /// The repeat count when nearest resizing along an axis copies each input element `r` times.
    static func pureRepeat(_ inSize: Int, _ outSize: Int, _ scale: Double, _ s: Settings) -> Int? {
        guard outSize % inSize == 0, scale == Double(outSize / inSize) else { return nil }
        let r = outSize / inSize
        let indices = (0..<outSize).map { nearestIndex(Double($0), inSize, outSize, scale, s) }
        return indices == (0..<outSize).map({ $0 / r }) ? r : nil
    }

    static func repeatAxis(_ i: ONNXImporter, _ id: Int, axis: Int, _ r: Int) throws -> Int {
        var shape = i.type(id).shape
        let split = Array(shape[...axis]) + [1] + Array(shape[(axis + 1)...])
        var wide = split
        wide[axis + 1] = r
        let expanded = try i.broadcast(i.reshape(id, split), to: wide)
        shape[axis] *= r
        return try i.reshape(expanded, shape)
    }

    /// Input coordinate of output position `x` (ONNX coordinate_transformation_mode).
    static func sourceCoordinate(_ x: Double, _ inSize: Int, _ outSize: Int, _ scale: Double, _ mode: String) -> Double {
        switch mode {
        // The resized length is the real scale x length, not the rounded output size (as the
        // ONNX reference computes it; they differ when scales are given).
        case "align_corners":
            let length = scale * Double(inSize)
            return length == 1 ? 0 : x * Double(inSize - 1) / (length - 1)
        case "asymmetric": return x / scale
        case "pytorch_half_pixel": return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0
        case "tf_half_pixel_for_nn": return (x + 0.5) / scale
        case "half_pixel_symmetric":
            let adjustment = Double(outSize) / (scale * Double(inSize))
            let offset = Double(inSize) / 2 * (1 - adjustment)
            return offset + (x + 0.5) / scale - 0.5
        default: return (x + 0.5) / scale - 0.5
        }
    }

    static func nearestIndex(_ x: Double, _ inSize: Int, _ outSize: Int, _ scale: Double, _ s: Settings) -> Int {
        let v = sourceCoordinate(x, inSize, outSize, scale, s.coordinates)
        let index: Double
        switch s.nearest {
        case "floor": index = floor(v)
        case "ceil": index = ceil(v)
        case "round_prefer_ceil": index = v - floor(v) == 0.5 ? ceil(v) : v.rounded()
        default: index = v - floor(v) == 0.5 ? floor(v) : v.rounded()
        }
        return Swift.min(Swift.max(clampedInt(index), 0), inSize - 1)
    }

    /// The [out][in] interpolation weights along one axis.
    static func weights(_ inSize: Int, _ outSize: Int, _ scale: Double, _ s: Settings) throws -> [[Double]] {
        guard SizeLimits.saturatingProduct(inSize, outSize) <= 1 << 24 else {
            throw ONNXNodeFailure("resizing \(inSize) to \(outSize) positions this way needs a \(outSize)x\(inSize) matrix, too large")
        }
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: inSize), count: outSize)
        for o in 0..<outSize {
            switch s.mode {
            case "nearest":
                matrix[o][nearestIndex(Double(o), inSize, outSize, scale, s)] = 1
            case "linear":
                let v = Swift.min(Swift.max(sourceCoordinate(Double(o), inSize, outSize, scale, s.coordinates), 0), Double(inSize - 1))
                let i0 = Int(floor(v)), t = v - floor(v)
                matrix[o][i0] += 1 - t
                matrix[o][Swift.min(i0 + 1, inSize - 1)] += t
            default:
                let v = sourceCoordinate(Double(o), inSize, outSize, scale, s.coordinates)
                let i0 = Int(floor(v)), t = v - floor(v)
                let a = s.cubicA
                func w(_ d: Double) -> Double {
                    let d = Swift.abs(d)
                    if d <= 1 { return (a + 2) * d * d * d - (a + 3) * d * d + 1 }
                    if d < 2 { return a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a }
                    return 0
                }
                var row: [(Int, Double)] = []
                for k in -1...2 { row.append((i0 + k, w(t - Double(k)))) }
                if s.excludeOutside {
                    row = row.filter { $0.0 >= 0 && $0.0 < inSize }
                    let total = row.reduce(0) { $0 + $1.1 }
                    row = row.map { ($0.0, $0.1 / total) }
                }
                for (index, weight) in row { matrix[o][Swift.min(Swift.max(index, 0), inSize - 1)] += weight }
            }
        }
        return matrix
    }

    /// y = M applied along `axis`: the axis is moved to the front, the rest flattened, one matmul.
    static func applyAlong(_ c: NodeContext, _ id: Int, axis: Int, matrix: [[Double]], hint: String) throws -> Int {
        let i = c.importer
        let shape = i.type(id).shape
        let rest = shape.indices.filter { $0 != axis }
        let front = try i.permute(id, [axis] + rest)
        let flat = try i.reshape(front, [shape[axis], rest.reduce(1) { $0 * shape[$1] }])
        let m = ONNXConstant(type: i.type(id).dtype == .f64 ? .double : .float, shape: [matrix.count, shape[axis]], values: matrix.flatMap { $0 })
        let product = try i.add(.matmul, [i.materialize(m, nameHint: hint), flat])
        let unflat = try i.reshape(product, [matrix.count] + rest.map { shape[$0] })
        // Back: axis k of the result sits at position (k == axis ? 0 : its place among `rest` + 1).
        let inverse = shape.indices.map { $0 == axis ? 0 : rest.firstIndex(of: $0)! + 1 }
        return try i.permute(unflat, inverse)
    }
}

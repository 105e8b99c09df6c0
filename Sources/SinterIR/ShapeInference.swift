/// Type rules of every op. `infer` returns the result type or fails with a message that names the
/// shapes involved; Graph.add wraps it with the op name and the user's source line.
public enum ShapeInference {
    public enum Failure: Error { case message(String) }

    static func fail(_ message: String) -> Failure { .message(message) }

    public static func infer(_ op: Op, _ operands: [TensorType], _ attrs: Attributes, declared: TensorType?) throws -> TensorType {
        // Sizes first: the rules below use `count` and plain arithmetic on dimensions.
        for (i, operand) in operands.enumerated() {
            if let problem = SizeLimits.problem(with: operand) { throw fail("operand \(i): \(problem)") }
        }
        if let declared, let problem = SizeLimits.problem(with: declared) { throw fail("declared type: \(problem)") }
        let result = try rule(op, operands, attrs, declared)
        if let problem = SizeLimits.problem(with: result) { throw fail("result: \(problem)") }
        if let declared, declared != result {
            throw fail("declared type \(declared) but operands give \(result)")
        }
        return result
    }

    /// numpy broadcasting: shapes aligned on the right, each dimension equal or 1.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
        }
        return out
    }

    private static func count(_ n: Int, _ operands: [TensorType]) throws {
        guard operands.count == n else { throw fail("takes \(n) operand(s), got \(operands.count)") }
    }

    private static func needDeclared(_ declared: TensorType?) throws -> TensorType {
        guard let declared else { throw fail("needs an explicit result type") }
        return declared
    }

    private static func sameDType(_ operands: [TensorType]) throws {
        if let first = operands.first, let other = operands.first(where: { $0.dtype != first.dtype }) {
            throw fail("element types differ: \(first) and \(other)")
        }
    }

    /// Normalises (possibly negative) axes and checks them against the rank.
    public static func normalizedAxes(_ axes: [Int], rank: Int) throws -> [Int] {
        let result = try axes.map { axis -> Int in
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0 && a < rank else { throw fail("axis \(axis) out of range for rank \(rank)") }
            return a
        }
        guard Set(result).count == result.count else { throw fail("repeated axis in \(axes)") }
        return result.sorted()
    }

    /// Output size of a window op (conv, pool) along one spatial axis.
    static func windowOut(_ n: Int, _ k: Int, _ s: Int, _ before: Int, _ after: Int) throws -> Int {
        guard let padded = SizeLimits.sum(n, before).flatMap({ SizeLimits.sum($0, after) }),
              k >= 1, s >= 1, before >= 0, after >= 0, padded >= k else {
            throw fail("window \(k) stride \(s) pads (\(before),\(after)) do not fit size \(n)")
        }
        return (padded - k) / s + 1
    }

    static func windowAttrs(_ attrs: Attributes, windowKey: String?) throws -> (window: [Int], strides: [Int], pads: [Int]) {
        let strides = try attrs.ints("strides")
        let pads = try attrs.ints("pads")
        let window = try windowKey.map { try attrs.ints($0) } ?? [1, 1]
        guard strides.count == 2, pads.count == 4, window.count == 2 else {
            throw fail("strides must have 2 values, pads 4 (top,bottom,left,right), window 2")
        }
        return (window, strides, pads)
    }

    /// NHWC x HWIO -> NHWC.
    static func convShape(_ x: [Int], _ w: [Int], _ attrs: Attributes) throws -> [Int] {
        guard x.count == 4, w.count == 4 else {
            throw fail("input \(shapeText(x)) must be NHWC and kernel \(shapeText(w)) HWIO")
        }
        guard x[3] == w[2] else {
            throw fail("input has \(x[3]) channels \(shapeText(x)) but kernel expects \(w[2]) \(shapeText(w))")
        }
        let (_, s, p) = try windowAttrs(attrs, windowKey: nil)
        return [x[0], try windowOut(x[1], w[0], s[0], p[0], p[1]), try windowOut(x[2], w[1], s[1], p[2], p[3]), w[3]]
    }

    static func poolShape(_ x: [Int], _ attrs: Attributes) throws -> [Int] {
        guard x.count == 4 else { throw fail("input \(shapeText(x)) must be NHWC") }
        let (k, s, p) = try windowAttrs(attrs, windowKey: "window")
        return [x[0], try windowOut(x[1], k[0], s[0], p[0], p[1]), try windowOut(x[2], k[1], s[1], p[2], p[3]), x[3]]
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func rule(_ op: Op, _ t: [TensorType], _ attrs: Attributes, _ declared: TensorType?) throws -> TensorType {
        switch op {
        case .input, .param, .state, .constant:
            try count(0, t)
            return try needDeclared(declared)
        case .randomNormal, .randomUniform:
            try count(1, t)
            let result = try needDeclared(declared)
            guard result.dtype.isFloat else { throw fail("random values must be floating point") }
            return result
        case .cast:
            try count(1, t)
            return TensorType(try attrs.dtype("to"), t[0].shape)
        case _ where op.isUnaryElementwise:
            try count(1, t)
            guard t[0].dtype.isFloat else { throw fail("needs a floating-point operand, got \(t[0])") }
            return t[0]
        case _ where op.isBinaryElementwise:
            try count(2, t)
            try sameDType(t)
            guard let shape = broadcast(t[0].shape, t[1].shape) else {
                throw fail("shapes \(shapeText(t[0].shape)) and \(shapeText(t[1].shape)) do not broadcast")
            }
            return TensorType(t[0].dtype, shape)
        case .select:
            try count(3, t)
            try sameDType(t)
            guard let ab = broadcast(t[1].shape, t[2].shape), let shape = broadcast(t[0].shape, ab) else {
                throw fail("shapes \(t.map { shapeText($0.shape) }.joined(separator: ", ")) do not broadcast")
            }
            return TensorType(t[1].dtype, shape)
        case .reduceSum, .reduceMean, .reduceMax:
            try count(1, t)
            let axes = try normalizedAxes(try attrs.ints("axes"), rank: t[0].rank)
            let keep = attrs.bool("keepdims", default: false)
            var shape: [Int] = []
            for (axis, n) in t[0].shape.enumerated() {
                if axes.contains(axis) { if keep { shape.append(1) } } else { shape.append(n) }
            }
            return TensorType(t[0].dtype, shape)
        case .argmax:
            try count(1, t)
            let axis = try normalizedAxes([try attrs.int("axis")], rank: t[0].rank)[0]
            guard t[0].shape[axis] > 0 else { throw fail("axis \(axis) of \(t[0]) is empty: there is no maximum") }
            var shape = t[0].shape
            shape.remove(at: axis)
            return TensorType(.i32, shape)
        case .oneHot:
            try count(1, t)
            let result = try needDeclared(declared)
            guard t[0].dtype == .i32 else { throw fail("indices must be i32, got \(t[0])") }
            guard result.dtype.isFloat, result.rank == t[0].rank + 1, Array(result.shape.dropLast()) == t[0].shape,
                  let depth = result.shape.last, depth >= 1 else {
                throw fail("one_hot of \(t[0]) is floating point, of shape \(shapeText(t[0].shape)) plus a positive depth; declared \(result)")
            }
            return result
        case .reshape:
            try count(1, t)
            let result = try needDeclared(declared)
            guard result.count == t[0].count, result.dtype == t[0].dtype else {
                throw fail("cannot reshape \(t[0]) (\(t[0].count) elements) to \(result) (\(result.count) elements)")
            }
            return result
        case .broadcastTo:
            try count(1, t)
            let result = try needDeclared(declared)
            guard result.dtype == t[0].dtype, broadcast(t[0].shape, result.shape) == result.shape else {
                throw fail("cannot broadcast \(t[0]) to \(result)")
            }
            return result
        case .transpose:
            try count(1, t)
            let perm = try attrs.ints("perm")
            guard perm.sorted() == Array(0..<t[0].rank) else {
                throw fail("perm \(perm) is not a permutation of the \(t[0].rank) axes of \(t[0])")
            }
            return TensorType(t[0].dtype, perm.map { t[0].shape[$0] })
        case .concat:
            guard !t.isEmpty else { throw fail("needs at least one operand") }
            try sameDType(t)
            let axis = try normalizedAxes([try attrs.int("axis")], rank: t[0].rank)[0]
            var shape = t[0].shape
            for other in t.dropFirst() {
                guard other.rank == t[0].rank,
                      zip(other.shape, t[0].shape).enumerated().allSatisfy({ $0.offset == axis || $0.element.0 == $0.element.1 }) else {
                    throw fail("cannot concatenate \(shapeText(t[0].shape)) and \(shapeText(other.shape)) on axis \(axis)")
                }
                guard let sum = SizeLimits.sum(shape[axis], other.shape[axis]) else {
                    throw fail("concatenating on axis \(axis) overflows Int (\(t.map { shapeText($0.shape) }.joined(separator: ", ")))")
                }
                shape[axis] = sum
            }
            return TensorType(t[0].dtype, shape)
        case .slice:
            try count(1, t)
            let begin = try attrs.ints("begin"), end = try attrs.ints("end")
            guard begin.count == t[0].rank, end.count == t[0].rank,
                  zip(zip(begin, end), t[0].shape).allSatisfy({ $0.0 >= 0 && $0.0 < $0.1 && $0.1 <= $1 }) else {
                throw fail("slice begin \(begin) end \(end) does not fit \(t[0])")
            }
            return TensorType(t[0].dtype, zip(begin, end).map { $1 - $0 })
        case .pad:
            try count(1, t)
            let pads = try attrs.ints("pads")
            let mode = try attrs.string("mode")
            guard pads.count == 2 * t[0].rank, pads.allSatisfy({ $0 >= 0 }) else {
                throw fail("pads \(pads) must hold a (before, after) pair of non-negative sizes for each of the \(t[0].rank) axes")
            }
            guard mode == "constant" || mode == "reflect" else { throw fail("mode must be \"constant\" or \"reflect\", got \"\(mode)\"") }
            if mode == "reflect" {
                for (axis, n) in t[0].shape.enumerated() where pads[2 * axis] >= n || pads[2 * axis + 1] >= n {
                    throw fail("reflect padding \(pads[2 * axis]),\(pads[2 * axis + 1]) must be smaller than axis \(axis) of size \(n)")
                }
            }
            return TensorType(t[0].dtype, try t[0].shape.enumerated().map { axis, n in
                guard let size = SizeLimits.sum(n, pads[2 * axis]).flatMap({ SizeLimits.sum($0, pads[2 * axis + 1]) }) else {
                    throw fail("pads \(pads) on axis \(axis) of size \(n) overflow Int")
                }
                return size
            })
        case .reverse:
            try count(1, t)
            _ = try normalizedAxes(try attrs.ints("axes"), rank: t[0].rank)
            return t[0]
        case .matmul:
            try count(2, t)
            try sameDType(t)
            let ta = attrs.bool("transpose_a", default: false), tb = attrs.bool("transpose_b", default: false)
            let a = t[0].shape, b = t[1].shape
            guard (a.count == 2 && b.count == 2) || (a.count == 3 && b.count == 3 && a[0] == b[0]) else {
                throw fail("operands \(shapeText(a)) and \(shapeText(b)) must both be rank 2, or rank 3 with one batch size")
            }
            let r = a.count
            let (m, ka) = ta ? (a[r - 1], a[r - 2]) : (a[r - 2], a[r - 1])
            let (kb, n) = tb ? (b[r - 1], b[r - 2]) : (b[r - 2], b[r - 1])
            guard ka == kb else {
                throw fail("inner dimensions differ: \(shapeText(a))\(ta ? "ᵀ" : "") x \(shapeText(b))\(tb ? "ᵀ" : "")")
            }
            return TensorType(t[0].dtype, r == 3 ? [a[0], m, n] : [m, n])
        case .conv2d:
            try count(2, t)
            try sameDType(t)
            return TensorType(t[0].dtype, try convShape(t[0].shape, t[1].shape, attrs))
        case .conv2dInputGrad:
            try count(2, t)
            try sameDType(t)
            let x = try needDeclared(declared)
            let dy = try convShape(x.shape, t[1].shape, attrs)
            guard dy == t[0].shape else {
                throw fail("a conv of \(x) with kernel \(shapeText(t[1].shape)) gives \(shapeText(dy)), not the gradient's \(shapeText(t[0].shape))")
            }
            return x
        case .conv2dFilterGrad:
            try count(2, t)
            try sameDType(t)
            let w = try needDeclared(declared)
            let dy = try convShape(t[0].shape, w.shape, attrs)
            guard dy == t[1].shape else {
                throw fail("a conv of \(shapeText(t[0].shape)) with kernel \(w) gives \(shapeText(dy)), not the gradient's \(shapeText(t[1].shape))")
            }
            return w
        case .maxPool, .avgPool:
            try count(1, t)
            return TensorType(t[0].dtype, try poolShape(t[0].shape, attrs))
        case .maxPoolGrad:
            try count(2, t)
            try sameDType(t)
            guard try poolShape(t[0].shape, attrs) == t[1].shape else {
                throw fail("pooling \(t[0]) does not give the gradient's shape \(shapeText(t[1].shape))")
            }
            return t[0]
        case .avgPoolGrad:
            try count(1, t)
            let x = try needDeclared(declared)
            guard try poolShape(x.shape, attrs) == t[0].shape else {
                throw fail("pooling \(x) does not give the gradient's shape \(shapeText(t[0].shape))")
            }
            return x
        case .resizeBilinear, .resizeBilinearGrad:
            try count(1, t)
            let result = try needDeclared(declared)
            guard t[0].rank == 4, result.rank == 4, result.shape[0] == t[0].shape[0], result.shape[3] == t[0].shape[3] else {
                throw fail("resize keeps N and C of NHWC: \(t[0]) -> \(result)")
            }
            return result
        case .assign:
            try count(2, t)
            guard t[0] == t[1] else { throw fail("cannot assign \(t[1]) to state of type \(t[0])") }
            return t[0]
        case .adamUpdate, .rmspropUpdate, .sgdUpdate:
            let slots = op == .adamUpdate ? 2 : 1
            try count(slots + 3, t)
            for slot in 1...slots where t[slot] != t[0] {
                throw fail("optimizer slot \(t[slot]) must match the parameter \(t[0])")
            }
            guard t[slots + 2] == t[0] else { throw fail("gradient \(t[slots + 2]) must match the parameter \(t[0])") }
            guard t[slots + 1].shape.isEmpty else { throw fail("iteration counter must be a scalar, got \(t[slots + 1])") }
            return t[0]
        default:
            throw fail("no shape rule")
        }
    }
}

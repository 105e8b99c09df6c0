import SinterIR

/// Appends nodes to a graph at one source location: the small vocabulary the gradient rules are
/// written in. Every node goes through `Graph.add`, so every gradient node is type-checked.
struct GradientBuilder {
    let graph: Graph
    let location: SourceLocation

    func type(_ id: Int) -> TensorType { graph.type(of: id) }
    func shape(_ id: Int) -> [Int] { graph.type(of: id).shape }

    func node(_ op: Op, _ operands: [Int], _ attrs: Attributes = Attributes(), type: TensorType? = nil) throws -> Int {
        try graph.add(op, operands, attrs, type: type, at: location)
    }

    /// A scalar constant of the given element type (binary ops broadcast it).
    func scalar(_ value: Double, _ dtype: DType) throws -> Int {
        try node(.constant, [], Attributes(["value": .float(value)]), type: TensorType(dtype, []))
    }

    func zeros(_ type: TensorType) throws -> Int {
        try node(.constant, [], Attributes(["value": .float(0)]), type: type)
    }

    func unary(_ op: Op, _ x: Int) throws -> Int { try node(op, [x]) }
    func binary(_ op: Op, _ a: Int, _ b: Int) throws -> Int { try node(op, [a, b]) }
    func add(_ a: Int, _ b: Int) throws -> Int { try binary(.add, a, b) }
    func sub(_ a: Int, _ b: Int) throws -> Int { try binary(.sub, a, b) }
    func mul(_ a: Int, _ b: Int) throws -> Int { try binary(.mul, a, b) }
    func div(_ a: Int, _ b: Int) throws -> Int { try binary(.div, a, b) }
    func neg(_ a: Int) throws -> Int { try unary(.neg, a) }

    /// a * value, with value a scalar constant of a's element type. (Not an overload of `mul`: an
    /// integer literal would silently pick the node-id version.)
    func scale(_ a: Int, by value: Double) throws -> Int { try mul(a, try scalar(value, type(a).dtype)) }

    /// A comparison of x with a scalar constant.
    func compare(_ op: Op, _ x: Int, _ value: Double) throws -> Int { try binary(op, x, try scalar(value, type(x).dtype)) }

    func select(_ cond: Int, _ a: Int, _ b: Int) throws -> Int { try node(.select, [cond, a, b]) }

    /// cond ? g : 0.
    func mask(_ cond: Int, _ g: Int) throws -> Int { try select(cond, g, try scalar(0, type(g).dtype)) }

    func reshape(_ x: Int, _ shape: [Int]) throws -> Int {
        if self.shape(x) == shape { return x }
        return try node(.reshape, [x], type: TensorType(type(x).dtype, shape))
    }

    func broadcast(_ x: Int, _ shape: [Int]) throws -> Int {
        if self.shape(x) == shape { return x }
        return try node(.broadcastTo, [x], type: TensorType(type(x).dtype, shape))
    }

    func reduceSum(_ x: Int, axes: [Int], keepdims: Bool) throws -> Int {
        try node(.reduceSum, [x], Attributes(["axes": .ints(axes), "keepdims": .bool(keepdims)]))
    }

    func slice(_ x: Int, begin: [Int], end: [Int]) throws -> Int {
        if begin.allSatisfy({ $0 == 0 }) && end == shape(x) { return x }
        return try node(.slice, [x], Attributes(["begin": .ints(begin), "end": .ints(end)]))
    }

    /// Zero padding.
    func pad(_ x: Int, _ pads: [Int]) throws -> Int {
        if pads.allSatisfy({ $0 == 0 }) { return x }
        return try node(.pad, [x], Attributes(["pads": .ints(pads), "mode": .string("constant")]))
    }

    func reverse(_ x: Int, axes: [Int]) throws -> Int {
        try node(.reverse, [x], Attributes(["axes": .ints(axes)]))
    }

    func matmul(_ a: Int, _ b: Int, transposeA: Bool, transposeB: Bool) throws -> Int {
        var attrs = Attributes()
        if transposeA { attrs["transpose_a"] = .bool(true) }
        if transposeB { attrs["transpose_b"] = .bool(true) }
        return try node(.matmul, [a, b], attrs)
    }

    /// Sums a cotangent of a broadcast result back to an operand's shape: reduce_sum over the
    /// leading axes the operand lacks and over the axes where the operand has size 1 but the
    /// result does not (keepdims), then reshape to the operand's shape.
    func unbroadcast(_ g: Int, to target: [Int]) throws -> Int {
        let source = shape(g)
        if source == target { return g }
        let lead = source.count - target.count
        var axes: [Int] = []
        for (axis, n) in source.enumerated() where n != 1 {
            if axis < lead || target[axis - lead] == 1 { axes.append(axis) }
        }
        let summed = axes.isEmpty ? g : try reduceSum(g, axes: axes, keepdims: true)
        return try reshape(summed, target)
    }
}

/// The gradient rule of each op. `contributions` returns, for each operand, the cotangent
/// contribution to that operand (nil where `needed` is false or the operand gets no gradient).
enum GradientRules {
    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func contributions(of id: Int, in graph: Graph, cotangent g: Int, needed: [Bool]) throws -> [Int?] {
        let node = graph[id]
        let b = GradientBuilder(graph: graph, location: node.location)
        let ops = node.operands
        let y = id
        var result = [Int?](repeating: nil, count: ops.count)
        func want(_ index: Int) -> Bool { index < needed.count && needed[index] }
        func noRule(_ why: String) -> SinterError {
            .autodiff(message: "\(node.location): no gradient for \(node.op.rawValue) (%\(id) : \(node.type)): \(why)")
        }
        let dtype = node.type.dtype

        switch node.op {
        // MARK: Elementwise, one operand
        case .neg:
            result[0] = try b.neg(g)
        case .exp:
            result[0] = try b.mul(g, y)
        case .log:
            result[0] = try b.div(g, ops[0])
        case .sqrt:
            // g * 0.5 / y
            result[0] = try b.div(try b.scale(g, by: 0.5), y)
        case .rsqrt:
            // y = x^(-1/2): dy/dx = -0.5 * y^3
            result[0] = try b.mul(g, try b.scale(try b.mul(try b.unary(.square, y), y), by: -0.5))
        case .square:
            result[0] = try b.mul(g, try b.scale(ops[0], by: 2))
        case .abs:
            // sign(0) = 0, so |x|'(0) = 0 as in TF.
            result[0] = try b.mul(g, try b.unary(.sign, ops[0]))
        case .relu:
            // relu'(0) = 0 (TF). The mask is read from the output (y > 0 exactly where x > 0), as
            // TF's ReluGrad does: the next layer keeps y alive anyway, so x can die after the
            // forward pass instead of waiting for the backward one (a third less peak memory
            // for the conv autoencoder).
            result[0] = try b.mask(try b.compare(.greater, y, 0), g)
        case .relu6:
            // Gradient only where 0 < x < 6 (TF Relu6Grad).
            let inside = try b.mul(try b.compare(.greater, ops[0], 0), try b.compare(.less, ops[0], 6))
            result[0] = try b.mask(inside, g)
        case .sigmoid:
            // g * y * (1 - y)
            let oneMinus = try b.sub(try b.scalar(1, dtype), y)
            result[0] = try b.mul(g, try b.mul(y, oneMinus))
        case .tanh:
            // g * (1 - y^2)
            let oneMinus = try b.sub(try b.scalar(1, dtype), try b.unary(.square, y))
            result[0] = try b.mul(g, oneMinus)
        case .softplus:
            result[0] = try b.mul(g, try b.unary(.sigmoid, ops[0]))
        case .selu:
            // x < 0: y + scale*alpha (= scale*alpha*exp(x)); else scale (TF SeluGrad, so scale at 0).
            let negative = try b.compare(.less, ops[0], 0)
            let negativeSlope = try b.add(y, try b.scalar(SeluConstants.scale * SeluConstants.alpha, dtype))
            result[0] = try b.select(negative, try b.mul(g, negativeSlope), try b.scale(g, by: SeluConstants.scale))
        case .leakyRelu:
            let alpha = try node.attrs.float("alpha")
            result[0] = try b.select(try b.compare(.greater, ops[0], 0), g, try b.scale(g, by: alpha))
        case .clip:
            // Gradient passes on [low, high] (inclusive), none outside (TF clip_by_value).
            let low = try node.attrs.float("low"), high = try node.attrs.float("high")
            let inside = try b.mul(try b.compare(.greaterEqual, ops[0], low), try b.compare(.lessEqual, ops[0], high))
            result[0] = try b.mask(inside, g)
        case .cast:
            let from = graph.type(of: ops[0])
            guard from.dtype.isFloat else { break }
            result[0] = from.dtype == dtype ? g : try b.node(.cast, [g], Attributes(["to": .dtype(from.dtype)]))

        // MARK: Elementwise, two operands
        case .add, .sub, .mul, .div, .maximum, .minimum, .pow:
            let a = ops[0], c = ops[1]
            var ga: Int?, gc: Int?
            switch node.op {
            case .add:
                if want(0) { ga = g }
                if want(1) { gc = g }
            case .sub:
                if want(0) { ga = g }
                if want(1) { gc = try b.neg(g) }
            case .mul:
                if want(0) { ga = try b.mul(g, c) }
                if want(1) { gc = try b.mul(g, a) }
            case .div:
                if want(0) { ga = try b.div(g, c) }
                // g * ((-a / c) / c), as TF.
                if want(1) { gc = try b.mul(g, try b.div(try b.div(try b.neg(a), c), c)) }
            case .maximum, .minimum:
                // Ties go to the first operand (TF).
                let firstWins = try b.binary(node.op == .maximum ? .greaterEqual : .lessEqual, a, c)
                let zero = try b.scalar(0, dtype)
                if want(0) { ga = try b.select(firstWins, g, zero) }
                if want(1) { gc = try b.select(firstWins, zero, g) }
            case .pow:
                // d/da = c * a^(c-1); d/dc = y * log(a) where a > 0, else 0 (TF).
                if want(0) {
                    let power = try b.binary(.pow, a, try b.sub(c, try b.scalar(1, dtype)))
                    ga = try b.mul(g, try b.mul(c, power))
                }
                if want(1) {
                    let positive = try b.compare(.greater, a, 0)
                    let safe = try b.select(positive, a, try b.scalar(1, dtype))
                    let logA = try b.mask(positive, try b.unary(.log, safe))
                    gc = try b.mul(g, try b.mul(y, logA))
                }
            default:
                break
            }
            if let ga { result[0] = try b.unbroadcast(ga, to: graph.type(of: a).shape) }
            if let gc { result[1] = try b.unbroadcast(gc, to: graph.type(of: c).shape) }

        case .select:
            let zero = try b.scalar(0, dtype)
            if want(1) { result[1] = try b.unbroadcast(try b.select(ops[0], g, zero), to: graph.type(of: ops[1]).shape) }
            if want(2) { result[2] = try b.unbroadcast(try b.select(ops[0], zero, g), to: graph.type(of: ops[2]).shape) }

        // MARK: Reductions
        case .reduceSum, .reduceMean, .reduceMax:
            let x = graph.type(of: ops[0])
            let axes = try reductionAxes(node, rank: x.rank)
            let keptShape = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
            let gKept = try b.reshape(g, keptShape)
            switch node.op {
            case .reduceSum:
                result[0] = try b.broadcast(gKept, x.shape)
            case .reduceMean:
                let n = axes.reduce(1) { $0 * x.shape[$1] }
                let scaled = n == 1 ? gKept : try b.scale(gKept, by: 1 / Double(n))
                result[0] = try b.broadcast(scaled, x.shape)
            default:
                // Ties share the gradient equally (TF): mask * g / count.
                let yKept = try b.reshape(y, keptShape)
                let isMax = try b.binary(.equal, ops[0], yKept)
                let ties = try b.reduceSum(isMax, axes: axes, keepdims: true)
                result[0] = try b.mul(isMax, try b.div(gKept, ties))
            }

        // MARK: Data movement
        case .reshape:
            result[0] = try b.reshape(g, graph.type(of: ops[0]).shape)
        case .broadcastTo:
            result[0] = try b.unbroadcast(g, to: graph.type(of: ops[0]).shape)
        case .transpose:
            let perm = try node.attrs.ints("perm")
            var inverse = [Int](repeating: 0, count: perm.count)
            for (i, p) in perm.enumerated() { inverse[p] = i }
            result[0] = try b.node(.transpose, [g], Attributes(["perm": .ints(inverse)]))
        case .concat:
            let rank = node.type.rank
            let axis = try ShapeInference.normalizedAxes([try node.attrs.int("axis")], rank: rank)[0]
            var offset = 0
            for (index, operand) in ops.enumerated() {
                let size = graph.type(of: operand).shape[axis]
                if want(index) {
                    var begin = [Int](repeating: 0, count: rank), end = node.type.shape
                    begin[axis] = offset
                    end[axis] = offset + size
                    result[index] = try b.slice(g, begin: begin, end: end)
                }
                offset += size
            }
        case .slice:
            let begin = try node.attrs.ints("begin"), end = try node.attrs.ints("end")
            let x = graph.type(of: ops[0]).shape
            var pads: [Int] = []
            for axis in x.indices { pads += [begin[axis], x[axis] - end[axis]] }
            result[0] = try b.pad(g, pads)
        case .pad:
            let pads = try node.attrs.ints("pads")
            let mode = try node.attrs.string("mode")
            let x = graph.type(of: ops[0]).shape
            if mode == "constant" {
                result[0] = try b.slice(g, begin: x.indices.map { pads[2 * $0] },
                                        end: x.indices.map { pads[2 * $0] + x[$0] })
            } else if mode == "reflect" {
                var current = g
                for axis in x.indices where pads[2 * axis] > 0 || pads[2 * axis + 1] > 0 {
                    current = try foldReflect(b, current, axis: axis, size: x[axis], before: pads[2 * axis], after: pads[2 * axis + 1])
                }
                result[0] = current
            } else {
                throw noRule("unknown pad mode \"\(mode)\"")
            }
        case .reverse:
            result[0] = try b.node(.reverse, [g], node.attrs)

        // MARK: Anchors
        case .matmul:
            let ta = node.attrs.bool("transpose_a", default: false)
            let tb = node.attrs.bool("transpose_b", default: false)
            let a = ops[0], c = ops[1]
            switch (ta, tb) {
            case (false, false):  // y = a c
                if want(0) { result[0] = try b.matmul(g, c, transposeA: false, transposeB: true) }
                if want(1) { result[1] = try b.matmul(a, g, transposeA: true, transposeB: false) }
            case (false, true):   // y = a cᵀ
                if want(0) { result[0] = try b.matmul(g, c, transposeA: false, transposeB: false) }
                if want(1) { result[1] = try b.matmul(g, a, transposeA: true, transposeB: false) }
            case (true, false):   // y = aᵀ c
                if want(0) { result[0] = try b.matmul(c, g, transposeA: false, transposeB: true) }
                if want(1) { result[1] = try b.matmul(a, g, transposeA: false, transposeB: false) }
            case (true, true):    // y = aᵀ cᵀ
                if want(0) { result[0] = try b.matmul(c, g, transposeA: true, transposeB: true) }
                if want(1) { result[1] = try b.matmul(g, a, transposeA: true, transposeB: true) }
            }
        case .conv2d:
            // (x, w) -> y
            if want(0) { result[0] = try b.node(.conv2dInputGrad, [g, ops[1]], node.attrs, type: graph.type(of: ops[0])) }
            if want(1) { result[1] = try b.node(.conv2dFilterGrad, [ops[0], g], node.attrs, type: graph.type(of: ops[1])) }
        case .conv2dInputGrad:
            // (dy, w) -> x, linear in each operand.
            if want(0) { result[0] = try b.node(.conv2d, [g, ops[1]], node.attrs) }
            if want(1) { result[1] = try b.node(.conv2dFilterGrad, [g, ops[0]], node.attrs, type: graph.type(of: ops[1])) }
        case .conv2dFilterGrad:
            // (x, dy) -> w, linear in each operand.
            if want(0) { result[0] = try b.node(.conv2dInputGrad, [ops[1], g], node.attrs, type: graph.type(of: ops[0])) }
            if want(1) { result[1] = try b.node(.conv2d, [ops[0], g], node.attrs) }

        // MARK: Windows
        case .maxPool:
            result[0] = try b.node(.maxPoolGrad, [ops[0], g], node.attrs)
        case .avgPool:
            result[0] = try b.node(.avgPoolGrad, [g], node.attrs, type: graph.type(of: ops[0]))
        case .avgPoolGrad:
            result[0] = try b.node(.avgPool, [g], node.attrs)
        case .resizeBilinear:
            result[0] = try b.node(.resizeBilinearGrad, [g], node.attrs, type: graph.type(of: ops[0]))
        case .resizeBilinearGrad:
            result[0] = try b.node(.resizeBilinear, [g], node.attrs, type: graph.type(of: ops[0]))

        case .maxPoolGrad:
            throw noRule("max_pool_grad is not differentiable (no second-order rule for max pooling)")
        default:
            if node.op.isEffect { throw noRule("effects have no value to differentiate") }
            throw noRule("the op has no gradient rule")
        }
        return result
    }

    static func reductionAxes(_ node: Node, rank: Int) throws -> [Int] {
        do {
            return try ShapeInference.normalizedAxes(try node.attrs.ints("axes"), rank: rank)
        } catch ShapeInference.Failure.message(let message) {
            throw SinterError.autodiff(message: "\(node.location): \(node.op.rawValue): \(message)")
        }
    }

    /// The gradient of reflect padding along one axis. Forward, with n = size, p = before, q = after:
    /// out[j] = x[p - j] for j < p, out[p + i] = x[i], out[p + n + k] = x[n - 2 - k] for k < q.
    /// Backward: the middle slice, plus the reversed left border g[0..<p] added at x[1...p], plus the
    /// reversed right border g[p+n..<p+n+q] added at x[n-1-q..<n-1]. (p, q < n, so the zero pads
    /// below are non-negative.)
    static func foldReflect(_ b: GradientBuilder, _ g: Int, axis: Int, size n: Int, before p: Int, after q: Int) throws -> Int {
        let shape = b.shape(g)
        let rank = shape.count
        func range(_ lo: Int, _ hi: Int) throws -> Int {
            var begin = [Int](repeating: 0, count: rank), end = shape
            begin[axis] = lo
            end[axis] = hi
            return try b.slice(g, begin: begin, end: end)
        }
        func padAxis(_ x: Int, _ lo: Int, _ hi: Int) throws -> Int {
            var pads = [Int](repeating: 0, count: 2 * rank)
            pads[2 * axis] = lo
            pads[2 * axis + 1] = hi
            return try b.pad(x, pads)
        }
        var result = try range(p, p + n)
        if p > 0 {
            let left = try b.reverse(try range(0, p), axes: [axis])
            result = try b.add(result, try padAxis(left, 1, n - 1 - p))
        }
        if q > 0 {
            let right = try b.reverse(try range(p + n, p + n + q), axes: [axis])
            result = try b.add(result, try padAxis(right, n - 1 - q, 1))
        }
        return result
    }
}

import Foundation
import XCTest
import SinterIR
import SinterAutodiff

// Tests of the autodiff transform and the optimizer graph builders.
//
// Structure: gradient graphs type-check and verify, gradients have the operand's type, expected ops
// appear, no dead gradient nodes, locations point at the forward node, zero-gradient and error cases.
// Numbers: a small float64 reference interpreter (below, test-only) evaluates forward and gradient
// graphs, and every rule for elementwise / reduction / data-movement / matmul ops is checked against
// central finite differences of <dy, y(x)>. Conv, pool and resize rules are checked end to end
// through compiled C elsewhere.

// MARK: - Reference interpreter (float64, test-only)

private struct ADRefTensor {
    var shape: [Int]
    var data: [Double]

    init(_ shape: [Int], _ data: [Double]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) values")
        self.shape = shape
        self.data = data
    }

    init(filled value: Double, _ shape: [Int]) {
        self.init(shape, [Double](repeating: value, count: shape.reduce(1, *)))
    }

    var count: Int { data.count }
}

/// Calls `body` with every multi-index of `shape` in row-major order.
private func adForEachIndex(_ shape: [Int], _ body: ([Int]) -> Void) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    var index = [Int](repeating: 0, count: shape.count)
    for _ in 0..<count {
        body(index)
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < shape[axis] { break }
            index[axis] = 0
            axis -= 1
        }
    }
}

private func adFlatIndex(_ index: [Int], _ strides: [Int]) -> Int {
    var flat = 0
    for (i, s) in zip(index, strides) { flat += i * s }
    return flat
}

/// The element of `t` that numpy broadcasting reads for output index `index`.
private func adBroadcastRead(_ t: ADRefTensor, _ strides: [Int], _ index: [Int]) -> Double {
    let lead = index.count - t.shape.count
    var flat = 0
    for axis in t.shape.indices where t.shape[axis] != 1 {
        flat += index[axis + lead] * strides[axis]
    }
    return t.data[flat]
}

private enum ADRefError: Error { case unsupported(String) }

/// Evaluates a graph in float64. Effects are skipped. Supports sources, elementwise ops,
/// reductions, reshape, broadcast_to, transpose, concat, slice, pad, reverse and matmul.
private func refEvaluate(_ graph: Graph, feeds: [String: ADRefTensor], upTo limit: Int? = nil) throws -> [ADRefTensor?] {
    let last = limit ?? graph.nodes.count - 1
    var values = [ADRefTensor?](repeating: nil, count: last + 1)
    for id in 0...last {
        let node = graph[id]
        if node.op.isEffect { continue }
        let args = try node.operands.map { operand -> ADRefTensor in
            guard let value = values[operand] else { throw ADRefError.unsupported("operand %\(operand) has no value") }
            return value
        }
        let value: ADRefTensor
        if node.op.isSource && node.op != .constant {
            guard let fed = feeds[node.sourceName ?? ""] else { throw ADRefError.unsupported("no feed for %\(id) '\(node.sourceName ?? "")'") }
            value = fed
        } else {
            value = try refEvaluateNode(node, args)
        }
        guard value.shape == node.type.shape else {
            throw ADRefError.unsupported("%\(id) \(node.op.rawValue): computed shape \(value.shape), type says \(node.type)")
        }
        values[id] = value
    }
    return values
}

private let refSeluScale = 1.0507009873554805
private let refSeluAlpha = 1.6732632423543772

// swiftlint:disable:next cyclomatic_complexity function_body_length
private func refEvaluateNode(_ node: Node, _ args: [ADRefTensor]) throws -> ADRefTensor {
    let outShape = node.type.shape
    let attrs = node.attrs
    switch node.op {
    case .input, .param, .state:
        throw ADRefError.unsupported("source without a feed")
    case .constant:
        return ADRefTensor(filled: try attrs.float("value"), outShape)
    case _ where node.op.isUnaryElementwise:
        let f: (Double) -> Double
        switch node.op {
        case .neg: f = { -$0 }
        case .stopGradient: f = { $0 }
        case .exp: f = { Foundation.exp($0) }
        case .log: f = { Foundation.log($0) }
        case .sqrt: f = { Foundation.sqrt($0) }
        case .rsqrt: f = { 1 / Foundation.sqrt($0) }
        case .square: f = { $0 * $0 }
        case .abs: f = { Swift.abs($0) }
        case .sign: f = { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
        case .relu: f = { Swift.max($0, 0) }
        case .relu6: f = { Swift.min(Swift.max($0, 0), 6) }
        case .sigmoid: f = { 1 / (1 + Foundation.exp(-$0)) }
        case .tanh: f = { Foundation.tanh($0) }
        case .softplus: f = { $0 > 0 ? $0 + Foundation.log1p(Foundation.exp(-$0)) : Foundation.log1p(Foundation.exp($0)) }
        case .selu: f = { $0 > 0 ? refSeluScale * $0 : refSeluScale * refSeluAlpha * Foundation.expm1($0) }
        case .leakyRelu:
            let alpha = try attrs.float("alpha")
            f = { $0 > 0 ? $0 : alpha * $0 }
        case .clip:
            let low = try attrs.float("low"), high = try attrs.float("high")
            f = { Swift.min(Swift.max($0, low), high) }
        case .cast:
            let to = try attrs.dtype("to")
            f = to == .i32 ? { $0.rounded(.towardZero) } : { $0 }
        default: throw ADRefError.unsupported(node.op.rawValue)
        }
        return ADRefTensor(outShape, args[0].data.map(f))
    case _ where node.op.isBinaryElementwise || node.op == .select:
        let f: ([Double]) -> Double
        switch node.op {
        case .add: f = { $0[0] + $0[1] }
        case .sub: f = { $0[0] - $0[1] }
        case .mul: f = { $0[0] * $0[1] }
        case .div: f = { $0[0] / $0[1] }
        case .maximum: f = { Swift.max($0[0], $0[1]) }
        case .minimum: f = { Swift.min($0[0], $0[1]) }
        case .pow: f = { Foundation.pow($0[0], $0[1]) }
        case .greater: f = { $0[0] > $0[1] ? 1 : 0 }
        case .greaterEqual: f = { $0[0] >= $0[1] ? 1 : 0 }
        case .less: f = { $0[0] < $0[1] ? 1 : 0 }
        case .lessEqual: f = { $0[0] <= $0[1] ? 1 : 0 }
        case .equal: f = { $0[0] == $0[1] ? 1 : 0 }
        case .select: f = { $0[0] != 0 ? $0[1] : $0[2] }
        default: throw ADRefError.unsupported(node.op.rawValue)
        }
        let strides = args.map { rowMajorStrides($0.shape) }
        var out: [Double] = []
        out.reserveCapacity(outShape.reduce(1, *))
        adForEachIndex(outShape) { index in
            out.append(f(args.indices.map { adBroadcastRead(args[$0], strides[$0], index) }))
        }
        return ADRefTensor(outShape, out)
    case .reduceSum, .reduceMean, .reduceMax:
        let x = args[0]
        let axes = Set(try ShapeInference.normalizedAxes(try attrs.ints("axes"), rank: x.shape.count))
        let keptShape = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let keptStrides = rowMajorStrides(keptShape)
        var out = [Double](repeating: node.op == .reduceMax ? -Double.infinity : 0, count: keptShape.reduce(1, *))
        var flat = 0
        adForEachIndex(x.shape) { index in
            let target = adFlatIndex(index.enumerated().map { axes.contains($0.offset) ? 0 : $0.element }, keptStrides)
            if node.op == .reduceMax { out[target] = Swift.max(out[target], x.data[flat]) } else { out[target] += x.data[flat] }
            flat += 1
        }
        if node.op == .reduceMean {
            let n = Double(axes.reduce(1) { $0 * x.shape[$1] })
            out = out.map { $0 / n }
        }
        return ADRefTensor(outShape, out)
    case .reshape:
        return ADRefTensor(outShape, args[0].data)
    case .broadcastTo:
        let strides = rowMajorStrides(args[0].shape)
        var out: [Double] = []
        adForEachIndex(outShape) { out.append(adBroadcastRead(args[0], strides, $0)) }
        return ADRefTensor(outShape, out)
    case .transpose:
        let perm = try attrs.ints("perm")
        let strides = rowMajorStrides(args[0].shape)
        var out: [Double] = []
        adForEachIndex(outShape) { index in
            var source = [Int](repeating: 0, count: perm.count)
            for (i, p) in perm.enumerated() { source[p] = index[i] }
            out.append(args[0].data[adFlatIndex(source, strides)])
        }
        return ADRefTensor(outShape, out)
    case .concat:
        let axis = try ShapeInference.normalizedAxes([try attrs.int("axis")], rank: outShape.count)[0]
        var out: [Double] = []
        adForEachIndex(outShape) { index in
            var position = index[axis]
            for arg in args {
                if position < arg.shape[axis] {
                    var source = index
                    source[axis] = position
                    out.append(arg.data[adFlatIndex(source, rowMajorStrides(arg.shape))])
                    return
                }
                position -= arg.shape[axis]
            }
        }
        return ADRefTensor(outShape, out)
    case .slice:
        let begin = try attrs.ints("begin")
        let strides = rowMajorStrides(args[0].shape)
        var out: [Double] = []
        adForEachIndex(outShape) { index in out.append(args[0].data[adFlatIndex(zip(index, begin).map { $0 + $1 }, strides)]) }
        return ADRefTensor(outShape, out)
    case .pad:
        let pads = try attrs.ints("pads"), mode = try attrs.string("mode")
        let x = args[0]
        let strides = rowMajorStrides(x.shape)
        var out: [Double] = []
        adForEachIndex(outShape) { index in
            var source: [Int] = []
            var inside = true
            for axis in index.indices {
                var i = index[axis] - pads[2 * axis]
                let n = x.shape[axis]
                if i < 0 || i >= n {
                    if mode == "reflect" { i = i < 0 ? -i : 2 * (n - 1) - i } else { inside = false }
                }
                source.append(i)
            }
            out.append(inside ? x.data[adFlatIndex(source, strides)] : 0)
        }
        return ADRefTensor(outShape, out)
    case .reverse:
        let axes = Set(try ShapeInference.normalizedAxes(try attrs.ints("axes"), rank: outShape.count))
        let strides = rowMajorStrides(outShape)
        var out: [Double] = []
        adForEachIndex(outShape) { index in
            let source = index.enumerated().map { axes.contains($0.offset) ? outShape[$0.offset] - 1 - $0.element : $0.element }
            out.append(args[0].data[adFlatIndex(source, strides)])
        }
        return ADRefTensor(outShape, out)
    case .matmul:
        let ta = attrs.bool("transpose_a", default: false), tb = attrs.bool("transpose_b", default: false)
        let a = args[0], b = args[1]
        let rank = a.shape.count
        let batch = rank == 3 ? a.shape[0] : 1
        let (ar, ac) = (a.shape[rank - 2], a.shape[rank - 1])
        let (br, bc) = (b.shape[rank - 2], b.shape[rank - 1])
        let m = ta ? ac : ar, k = ta ? ar : ac, n = tb ? br : bc
        var out = [Double](repeating: 0, count: batch * m * n)
        for p in 0..<batch {
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for q in 0..<k {
                        let av = a.data[p * ar * ac + (ta ? q * ac + i : i * ac + q)]
                        let bv = b.data[p * br * bc + (tb ? j * bc + q : q * bc + j)]
                        sum += av * bv
                    }
                    out[p * m * n + i * n + j] = sum
                }
            }
        }
        return ADRefTensor(outShape, out)
    default:
        throw ADRefError.unsupported(node.op.rawValue)
    }
}

/// A deterministic generator (SplitMix64) so failures reproduce.
private struct ADTestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * Double(next() >> 11) / Double(1 << 53)
    }
    mutating func tensor(_ shape: [Int], _ low: Double = -2, _ high: Double = 2) -> ADRefTensor {
        ADRefTensor(shape, (0..<shape.reduce(1, *)).map { _ in uniform(low, high) })
    }
    /// Values with |v| in [minAbs, maxAbs], random sign: away from kinks at 0.
    mutating func awayFromZero(_ shape: [Int], _ minAbs: Double = 0.2, _ maxAbs: Double = 2) -> ADRefTensor {
        ADRefTensor(shape, (0..<shape.reduce(1, *)).map { _ in
            let v = uniform(minAbs, maxAbs)
            return next() & 1 == 0 ? v : -v
        })
    }
}

// MARK: - Graph-building helpers

private let adHere = SourceLocation(file: "AutodiffTests.swift", line: 1)

private func adLoc(_ line: Int) -> SourceLocation { SourceLocation(file: "Model.swift", line: line) }

fileprivate extension Graph {
    func adInput(_ name: String, _ shape: [Int], _ dtype: DType = .f64, at location: SourceLocation = adHere) throws -> Int {
        try add(.input, [], Attributes(["name": .string(name)]), type: TensorType(dtype, shape), at: location)
    }
    func adParam(_ name: String, _ shape: [Int], _ dtype: DType = .f32, at location: SourceLocation = adHere) throws -> Int {
        try add(.param, [], Attributes(["name": .string(name), "init": .string("zeros")]), type: TensorType(dtype, shape), at: location)
    }
    func adScalar(_ value: Double, _ dtype: DType = .f64, at location: SourceLocation = adHere) throws -> Int {
        try add(.constant, [], Attributes(["value": .float(value)]), type: TensorType(dtype, []), at: location)
    }
    func adOp(_ op: Op, _ operands: [Int], _ attrs: [String: Attribute] = [:], type: TensorType? = nil,
            at location: SourceLocation = adHere) throws -> Int {
        try add(op, operands, Attributes(attrs), type: type, at: location)
    }
    func adSumAll(_ x: Int, at location: SourceLocation = adHere) throws -> Int {
        try adOp(.reduceSum, [x], ["axes": .ints(Array(0..<type(of: x).rank))], at: location)
    }
}

/// Nodes of `graph` from index `start` on that none of `roots` depends on: gradient nodes built
/// for nothing.
private func adDeadNodes(in graph: Graph, from start: Int, roots: [Int]) -> [Int] {
    var live = Set<Int>()
    var stack = roots
    while let id = stack.popLast() {
        if live.insert(id).inserted { stack.append(contentsOf: graph[id].operands) }
    }
    return (start..<graph.nodes.count).filter { !live.contains($0) }
}

/// Finite-difference check of vjp: builds the forward graph with f64 inputs named by `inputs`
/// (name, value), takes the vjp of its output with a random cotangent and compares each gradient
/// element with the central difference of <dy, y(x)>. Returns the graph for further checks.
@discardableResult
private func checkVJP(_ label: String, inputs: [(String, ADRefTensor)], seed: UInt64 = 1, step: Double = 1e-5,
              tolerance: Double = 1e-6, wrt selected: [String]? = nil,
              file: StaticString = #filePath, line: UInt = #line,
              _ build: (Graph, [Int]) throws -> Int) throws -> Graph {
    let graph = Graph(name: label)
    let ids = try inputs.map { try graph.adInput($0.0, $0.1.shape) }
    let y = try build(graph, ids)
    let forwardEnd = graph.nodes.count
    let yType = graph.type(of: y)
    let dy = try graph.adInput("dy", yType.shape)
    let wrtIDs = zip(inputs, ids).filter { selected?.contains($0.0.0) ?? true }.map(\.1)
    let grads = try vjp(in: graph, outputs: [(y, dy)], wrt: wrtIDs)
    try graph.verify()
    XCTAssertEqual(adDeadNodes(in: graph, from: forwardEnd, roots: grads), [], "\(label): dead gradient nodes", file: file, line: line)
    for (wrt, grad) in zip(wrtIDs, grads) {
        XCTAssertEqual(graph.type(of: grad), graph.type(of: wrt), "\(label): gradient type", file: file, line: line)
    }

    var rng = ADTestRNG(seed: seed &+ 1000)
    var feeds = Dictionary(uniqueKeysWithValues: inputs.map { ($0.0, $0.1) })
    let dyValue = rng.tensor(yType.shape, -1, 1)
    feeds["dy"] = dyValue
    let values = try refEvaluate(graph, feeds: feeds)

    func objective(_ feeds: [String: ADRefTensor]) throws -> Double {
        let out = try refEvaluate(graph, feeds: feeds, upTo: y)[y]!
        return zip(out.data, dyValue.data).reduce(0) { $0 + $1.0 * $1.1 }
    }
    for (wrt, grad) in zip(wrtIDs, grads) {
        let name = graph[wrt].sourceName!
        let analytic = values[grad]!.data
        let base = feeds[name]!
        for i in 0..<base.count {
            var plus = feeds, minus = feeds
            plus[name]!.data[i] += step
            minus[name]!.data[i] -= step
            let numeric = (try objective(plus) - objective(minus)) / (2 * step)
            let error = Swift.abs(analytic[i] - numeric)
            if error > tolerance * (1 + Swift.abs(numeric)) {
                XCTFail("\(label): d/d\(name)[\(i)] autodiff \(analytic[i]) vs finite differences \(numeric)", file: file, line: line)
                return graph
            }
        }
    }
    return graph
}

// MARK: - Tests

final class AutodiffTests: XCTestCase {

    // MARK: Numeric checks against finite differences

    func testUnaryElementwiseRulesMatchFiniteDifferences() throws {
        var rng = ADTestRNG(seed: 7)
        let shape = [2, 3, 4]
        let general = rng.awayFromZero(shape, 0.1, 2.5)
        let positive = rng.tensor(shape, 0.3, 3)
        let cases: [(Op, [String: Attribute], ADRefTensor)] = [
            (.neg, [:], general), (.exp, [:], general), (.log, [:], positive), (.sqrt, [:], positive),
            (.rsqrt, [:], positive), (.square, [:], general), (.abs, [:], general), (.relu, [:], general),
            (.relu6, [:], ADRefTensor(shape, general.data.enumerated().map { $0.offset % 3 == 0 ? $0.element + 6 : $0.element * 2 })),
            (.sigmoid, [:], general), (.tanh, [:], general), (.softplus, [:], general), (.selu, [:], general),
            (.leakyRelu, ["alpha": .float(0.2)], general),
            (.clip, ["low": .float(-1), "high": .float(1.5)],
             ADRefTensor(shape, general.data.map { Swift.abs(Swift.abs($0) - 1) < 0.05 || Swift.abs($0 - 1.5) < 0.05 ? $0 + 0.2 : $0 })),
            (.cast, ["to": .dtype(.f64)], general),
        ]
        for (op, attrs, x) in cases {
            try checkVJP(op.rawValue, inputs: [("x", x)]) { g, ids in try g.adOp(op, [ids[0]], attrs) }
        }
    }

    func testBinaryRulesWithBroadcastingMatchFiniteDifferences() throws {
        var rng = ADTestRNG(seed: 11)
        let shapePairs: [([Int], [Int])] = [([2, 3, 4], [2, 3, 4]), ([2, 1, 4], [3, 1]), ([4], [2, 3, 1]), ([], [2, 3]), ([1, 3, 1], [2, 1, 5])]
        for op in [Op.add, .sub, .mul, .div, .maximum, .minimum, .pow] {
            for (pair, (sa, sb)) in shapePairs.enumerated() {
                var a = rng.awayFromZero(sa, 0.3, 2), b = rng.awayFromZero(sb, 0.3, 2)
                if op == .pow { a = rng.tensor(sa, 0.3, 2); b = rng.tensor(sb, -1.5, 1.5) }
                if op == .maximum || op == .minimum {
                    // Keep |a - b| away from 0 where they broadcast together: distinct grids.
                    a = ADRefTensor(sa, a.data.indices.map { Double($0 % 7) * 0.5 + 0.1 })
                    b = ADRefTensor(sb, b.data.indices.map { Double($0 % 5) * 0.5 + 0.27 })
                }
                try checkVJP("\(op.rawValue)#\(pair)", inputs: [("a", a), ("b", b)], seed: UInt64(pair)) { g, ids in
                    try g.adOp(op, [ids[0], ids[1]])
                }
            }
        }
    }

    /// Derivatives at kinks follow TF: relu'(0) = 0, |x|'(0) = 0, relu6 passes nothing at 0 or 6,
    /// leaky_relu'(0) = alpha, selu'(0) = scale, clip passes the gradient on [low, high] inclusive and
    /// nothing outside, maximum/minimum give ties to the first operand.
    func testKinkConventionsFollowTF() throws {
        let x = ADRefTensor([5], [-1, 0, 1, 6, 7])
        let expected: [(Op, [String: Attribute], [Double])] = [
            (.relu, [:], [0, 0, 1, 1, 1]),
            (.abs, [:], [-1, 0, 1, 1, 1]),
            (.relu6, [:], [0, 0, 1, 0, 0]),
            (.leakyRelu, ["alpha": .float(0.2)], [0.2, 0.2, 1, 1, 1]),
            (.clip, ["low": .float(0), "high": .float(6)], [0, 1, 1, 1, 0]),
            (.sign, [:], [0, 0, 0, 0, 0]),
        ]
        for (op, attrs, want) in expected {
            let graph = Graph(name: "kink")
            let input = try graph.adInput("x", [5])
            let grad = try gradients(in: graph, of: try graph.adSumAll(try graph.adOp(op, [input], attrs)), wrt: [input])[0]
            try graph.verify()
            XCTAssertEqual(try refEvaluate(graph, feeds: ["x": x])[grad]!.data, want, op.rawValue)
        }
        let graph = Graph(name: "selu0")
        let input = try graph.adInput("x", [1])
        let grad = try gradients(in: graph, of: try graph.adSumAll(try graph.adOp(.selu, [input])), wrt: [input])[0]
        XCTAssertEqual(try refEvaluate(graph, feeds: ["x": ADRefTensor([1], [0])])[grad]!.data[0], refSeluScale, accuracy: 1e-15)

        for (op, wantA, wantB) in [(Op.maximum, [1.0, 1, 0], [0.0, 0, 1]), (.minimum, [0, 1, 1], [1, 0, 0])] {
            let graph = Graph(name: "ties")
            let a = try graph.adInput("a", [3]), b = try graph.adInput("b", [3])
            let grads = try gradients(in: graph, of: try graph.adSumAll(try graph.adOp(op, [a, b])), wrt: [a, b])
            let values = try refEvaluate(graph, feeds: ["a": ADRefTensor([3], [2, 1, 0]), "b": ADRefTensor([3], [1, 1, 1])])
            XCTAssertEqual(values[grads[0]]!.data, wantA, op.rawValue)
            XCTAssertEqual(values[grads[1]]!.data, wantB, op.rawValue)
        }
    }

    func testPowGradientWithNonPositiveBaseFollowsTF() throws {
        // d/db a^b = a^b * log(a) only where a > 0; elsewhere 0 (TF). d/da stays b * a^(b-1).
        let graph = Graph(name: "pow")
        let a = try graph.adInput("a", [3]), b = try graph.adInput("b", [3])
        let y = try graph.adOp(.pow, [a, b])
        let grads = try gradients(in: graph, of: try graph.adSumAll(y), wrt: [a, b])
        try graph.verify()
        let values = try refEvaluate(graph, feeds: ["a": ADRefTensor([3], [-2, 0, 2]), "b": ADRefTensor([3], [2, 3, 2])])
        XCTAssertEqual(values[grads[0]]!.data, [-4, 0, 4])
        XCTAssertEqual(values[grads[1]]!.data[0], 0)
        XCTAssertEqual(values[grads[1]]!.data[1], 0)
        XCTAssertEqual(values[grads[1]]!.data[2], 4 * log(2), accuracy: 1e-12)
    }

    func testSelectRuleMatchesFiniteDifferences() throws {
        var rng = ADTestRNG(seed: 5)
        let cond = ADRefTensor([3, 1], [1, 0, 1])
        try checkVJP("select", inputs: [("c", cond), ("a", rng.tensor([2, 3, 4])), ("b", rng.tensor([4]))], wrt: ["a", "b"]) { g, ids in
            try g.adOp(.select, [ids[0], ids[1], ids[2]])
        }
        // The condition gets no gradient: a zeros constant.
        let graph = Graph(name: "select-cond")
        let c = try graph.adInput("c", [3]), a = try graph.adInput("a", [3])
        let y = try graph.adOp(.select, [c, a, a])
        let grads = try gradients(in: graph, of: try graph.adSumAll(y), wrt: [c])
        XCTAssertEqual(graph[grads[0]].op, .constant)
        XCTAssertEqual(graph[grads[0]].type, TensorType(.f64, [3]))
    }

    func testReductionRulesMatchFiniteDifferences() throws {
        var rng = ADTestRNG(seed: 3)
        let x = rng.tensor([2, 3, 4, 5])
        let axesCases: [[Int]] = [[0], [1, 2], [0, 3], [-1], [0, 1, 2, 3]]
        for op in [Op.reduceSum, .reduceMean, .reduceMax] {
            for axes in axesCases {
                for keep in [false, true] {
                    try checkVJP("\(op.rawValue)\(axes)\(keep)", inputs: [("x", x)]) { g, ids in
                        try g.adOp(op, [ids[0]], ["axes": .ints(axes), "keepdims": .bool(keep)])
                    }
                }
            }
        }
    }

    func testReduceMaxSharesTiesEqually() throws {
        let graph = Graph(name: "ties")
        let x = try graph.adInput("x", [2, 4])
        let m = try graph.adOp(.reduceMax, [x], ["axes": .ints([1])])
        let dy = try graph.adInput("dy", [2])
        let grad = try vjp(in: graph, outputs: [(m, dy)], wrt: [x])[0]
        try graph.verify()
        let values = try refEvaluate(graph, feeds: ["x": ADRefTensor([2, 4], [1, 3, 3, 2, 5, 5, 5, 0]),
                                                    "dy": ADRefTensor([2], [2, 3])])
        XCTAssertEqual(values[grad]!.data, [0, 1, 1, 0, 1, 1, 1, 0])
    }

    func testDataMovementRulesMatchFiniteDifferences() throws {
        var rng = ADTestRNG(seed: 13)
        try checkVJP("reshape", inputs: [("x", rng.tensor([2, 3, 4]))]) { g, ids in
            try g.adOp(.reshape, [ids[0]], type: TensorType(.f64, [4, 6]))
        }
        try checkVJP("broadcast_to", inputs: [("x", rng.tensor([3, 1]))]) { g, ids in
            try g.adOp(.broadcastTo, [ids[0]], type: TensorType(.f64, [2, 3, 4]))
        }
        try checkVJP("broadcast_to-same-rank", inputs: [("x", rng.tensor([1, 3, 1]))]) { g, ids in
            try g.adOp(.broadcastTo, [ids[0]], type: TensorType(.f64, [2, 3, 4]))
        }
        try checkVJP("transpose", inputs: [("x", rng.tensor([2, 3, 4, 5]))]) { g, ids in
            try g.adOp(.transpose, [ids[0]], ["perm": .ints([0, 3, 1, 2])])
        }
        try checkVJP("transpose-3", inputs: [("x", rng.tensor([2, 3, 4]))]) { g, ids in
            try g.adOp(.transpose, [ids[0]], ["perm": .ints([2, 0, 1])])
        }
        try checkVJP("concat", inputs: [("a", rng.tensor([2, 3, 4])), ("b", rng.tensor([2, 1, 4])), ("c", rng.tensor([2, 2, 4]))]) { g, ids in
            try g.adOp(.concat, ids, ["axis": .int(1)])
        }
        try checkVJP("concat-neg-axis", inputs: [("a", rng.tensor([2, 3])), ("b", rng.tensor([2, 2]))]) { g, ids in
            try g.adOp(.concat, ids, ["axis": .int(-1)])
        }
        try checkVJP("concat-same-operand", inputs: [("a", rng.tensor([2, 3]))]) { g, ids in
            try g.adOp(.concat, [ids[0], ids[0]], ["axis": .int(0)])
        }
        try checkVJP("slice", inputs: [("x", rng.tensor([4, 5, 3]))]) { g, ids in
            try g.adOp(.slice, [ids[0]], ["begin": .ints([1, 0, 1]), "end": .ints([3, 4, 3])])
        }
        try checkVJP("pad-constant", inputs: [("x", rng.tensor([2, 3, 4]))]) { g, ids in
            try g.adOp(.pad, [ids[0]], ["pads": .ints([0, 1, 2, 0, 1, 3]), "mode": .string("constant")])
        }
        try checkVJP("reverse", inputs: [("x", rng.tensor([2, 3, 4]))]) { g, ids in
            try g.adOp(.reverse, [ids[0]], ["axes": .ints([0, 2])])
        }
    }

    func testReflectPadRuleMatchesFiniteDifferences() throws {
        var rng = ADTestRNG(seed: 17)
        // The golden case's padding (NHWC, h 2, w 1), then asymmetric and one-sided pads, and the
        // largest allowed pads (size - 1).
        let cases: [([Int], [Int])] = [
            ([2, 5, 6, 3], [0, 0, 2, 2, 1, 1, 0, 0]),
            ([3, 4], [2, 1, 0, 3]),
            ([5], [4, 4]),
            ([4, 3], [3, 0, 0, 2]),
            ([2, 2, 3], [1, 1, 1, 0, 2, 2]),
        ]
        for (index, (shape, pads)) in cases.enumerated() {
            let graph = try checkVJP("pad-reflect#\(index)", inputs: [("x", rng.tensor(shape))]) { g, ids in
                try g.adOp(.pad, [ids[0]], ["pads": .ints(pads), "mode": .string("reflect")])
            }
            // Built from slice, reverse, zero pad and add only.
            let ops = Set(graph.nodes.suffix(from: 3).map(\.op))
            XCTAssertTrue(ops.isSubset(of: [.slice, .reverse, .pad, .add, .input]), "\(ops)")
        }
    }

    func testMatmulRulesMatchFiniteDifferences() throws {
        var rng = ADTestRNG(seed: 19)
        for rank3 in [false, true] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let (m, k, n) = (3, 4, 2)
                    let batch = rank3 ? [2] : []
                    let a = rng.tensor(batch + (ta ? [k, m] : [m, k]))
                    let b = rng.tensor(batch + (tb ? [n, k] : [k, n]))
                    var attrs: [String: Attribute] = [:]
                    if ta { attrs["transpose_a"] = .bool(true) }
                    if tb { attrs["transpose_b"] = .bool(true) }
                    try checkVJP("matmul-r\(rank3 ? 3 : 2)-\(ta)-\(tb)", inputs: [("a", a), ("b", b)]) { g, ids in
                        try g.adOp(.matmul, [ids[0], ids[1]], attrs)
                    }
                }
            }
        }
    }

    func testCompositeModelMatchesFiniteDifferences() throws {
        // A dense layer, tanh, a broadcast bias, a shared weight (two uses) and a mean-squared loss.
        var rng = ADTestRNG(seed: 23)
        try checkVJP("mlp", inputs: [("x", rng.tensor([4, 3])), ("w", rng.tensor([3, 5], -1, 1)),
                                     ("b", rng.tensor([5], -0.5, 0.5)), ("t", rng.tensor([4, 5]))]) { g, ids in
            let (x, w, b, t) = (ids[0], ids[1], ids[2], ids[3])
            let h = try g.adOp(.tanh, [try g.adOp(.add, [try g.adOp(.matmul, [x, w]), b])])
            let wSquared = try g.adOp(.reduceSum, [try g.adOp(.square, [w])], ["axes": .ints([0, 1])])
            let err = try g.adOp(.square, [try g.adOp(.sub, [h, t])])
            let mse = try g.adOp(.reduceMean, [err], ["axes": .ints([0, 1])])
            return try g.adOp(.add, [mse, try g.adOp(.mul, [wSquared, try g.adScalar(0.01)])])
        }
    }

    func testSecondOrderGradientMatchesFiniteDifferences() throws {
        // Differentiating a gradient graph exercises the rules of the ops gradients are made of
        // (select, comparisons, mul, broadcast_to...). Here: h(x) = <v, grad f(x)>, f = sum(tanh(x) * x^2 + relu(x) * sigmoid(x)) / 3.
        var rng = ADTestRNG(seed: 29)
        try checkVJP("hvp", inputs: [("x", rng.awayFromZero([2, 3])), ("v", rng.tensor([2, 3]))], step: 1e-5, tolerance: 1e-5, wrt: ["x"]) { g, ids in
            let x = ids[0], v = ids[1]
            let a = try g.adOp(.mul, [try g.adOp(.tanh, [x]), try g.adOp(.square, [x])])
            let c = try g.adOp(.mul, [try g.adOp(.relu, [x]), try g.adOp(.sigmoid, [x])])
            let f = try g.adOp(.reduceMean, [try g.adOp(.add, [a, c])], ["axes": .ints([0, 1])])
            let grad = try gradients(in: g, of: f, wrt: [x])[0]
            return try g.adSumAll(try g.adOp(.mul, [grad, v]))
        }
    }

    // MARK: Structure

    func testGradientOfBroadcastProductHasOperandShape() throws {
        // d/dx sum(x * y) with x [3,1] broadcast against y [2,3,4].
        let graph = Graph(name: "broadcast")
        let x = try graph.adInput("x", [3, 1], .f32), y = try graph.adInput("y", [2, 3, 4], .f32)
        let loss = try graph.adSumAll(try graph.adOp(.mul, [x, y]))
        let start = graph.nodes.count
        let grads = try gradients(in: graph, of: loss, wrt: [x, y])
        try graph.verify()
        XCTAssertEqual(graph.type(of: grads[0]), TensorType(.f32, [3, 1]))
        XCTAssertEqual(graph.type(of: grads[1]), TensorType(.f32, [2, 3, 4]))
        // Unbroadcasting: reduce_sum over the leading axis and the size-1 axis (keepdims), reshape.
        let gx = graph[grads[0]]
        XCTAssertEqual(gx.op, .reshape)
        let sum = graph[gx.operands[0]]
        XCTAssertEqual(sum.op, .reduceSum)
        XCTAssertEqual(sum.attrs["axes"], .ints([0, 2]))
        XCTAssertEqual(sum.attrs["keepdims"], .bool(true))
        XCTAssertEqual(sum.type, TensorType(.f32, [1, 3, 1]))
        XCTAssertEqual(adDeadNodes(in: graph, from: start, roots: grads), [])
    }

    func testUnbroadcastShapes() throws {
        // [a-shape] + [b-shape]: the gradient of each operand has its own shape; no reduction when
        // the shapes already agree.
        let cases: [([Int], [Int])] = [([5], [2, 3, 5]), ([1], [4]), ([], [2, 2]), ([2, 1, 1], [2, 3, 4]), ([3, 4], [3, 4])]
        for (sa, sb) in cases {
            let graph = Graph(name: "unbroadcast")
            let a = try graph.adInput("a", sa), b = try graph.adInput("b", sb)
            let loss = try graph.adSumAll(try graph.adOp(.add, [a, b]))
            let grads = try gradients(in: graph, of: loss, wrt: [a, b])
            try graph.verify()
            XCTAssertEqual(graph.type(of: grads[0]).shape, sa)
            XCTAssertEqual(graph.type(of: grads[1]).shape, sb)
            if sa == sb { XCTAssertEqual(grads[0], grads[1], "add passes the same cotangent to both") }
        }
    }

    func testZeroGradientCases() throws {
        let graph = Graph(name: "zero")
        let x = try graph.adInput("x", [2, 3], .f32, at: adLoc(3))
        let unused = try graph.adInput("unused", [4], .f32, at: adLoc(4))
        let counter = try graph.add(.state, [], Attributes(["name": .string("rng.counter"), "init": .string("zeros")]),
                                    type: TensorType(.i32, []), at: adLoc(5))
        let noise = try graph.adOp(.randomNormal, [counter], ["seed": .int(1)], type: TensorType(.f32, [2, 3]), at: adLoc(6))
        let zeroPart = try graph.adOp(.add, [try graph.adOp(.sign, [x]), try graph.adOp(.greater, [x, noise])])
        // An integer detour: cast to i32 and back carries no gradient.
        let intPart = try graph.adOp(.cast, [try graph.adOp(.cast, [x], ["to": .dtype(.i32)])], ["to": .dtype(.f32)])
        let loss = try graph.adSumAll(try graph.adOp(.add, [zeroPart, intPart]), at: adLoc(9))
        let start = graph.nodes.count
        let grads = try gradients(in: graph, of: loss, wrt: [x, unused, noise])
        try graph.verify()
        for (grad, wrt) in zip(grads, [x, unused, noise]) {
            XCTAssertEqual(graph[grad].op, .constant)
            XCTAssertEqual(graph[grad].attrs["value"], .float(0))
            XCTAssertEqual(graph[grad].type, graph.type(of: wrt))
            XCTAssertEqual(graph[grad].location, graph[wrt].location, "zeros point at the wrt node")
        }
        // Only the loss's seed and the three zeros were added: nothing is differentiated for nothing.
        XCTAssertEqual(graph.nodes.count - start, 4)

        // random ops are leaves: the gradient flows to x through mul but not into the noise's counter.
        let g2 = Graph(name: "random")
        let x2 = try g2.adInput("x", [3], .f32)
        let c2 = try g2.add(.state, [], Attributes(["name": .string("c"), "init": .string("zeros")]), type: TensorType(.i32, []), at: adHere)
        let n2 = try g2.adOp(.randomUniform, [c2], ["seed": .int(2), "low": .float(0), "high": .float(1)], type: TensorType(.f32, [3]))
        let grad = try gradients(in: g2, of: try g2.adSumAll(try g2.adOp(.mul, [x2, n2])), wrt: [x2])[0]
        XCTAssertEqual(g2[grad].op, .mul)
        XCTAssertTrue(g2[grad].operands.contains(n2))
    }

    func testNoDeadGradientNodesAndOnlyActivePaths() throws {
        // loss = sum(x * w) + sum(exp(z)): the gradient wrt x must not differentiate exp(z) or build d/dw.
        let graph = Graph(name: "active")
        let x = try graph.adInput("x", [3], .f32), w = try graph.adParam("w", [3]), z = try graph.adParam("z", [3])
        let loss = try graph.adOp(.add, [try graph.adSumAll(try graph.adOp(.mul, [x, w])), try graph.adSumAll(try graph.adOp(.exp, [z]))])
        let start = graph.nodes.count
        let grad = try gradients(in: graph, of: loss, wrt: [x])[0]
        try graph.verify()
        XCTAssertEqual(adDeadNodes(in: graph, from: start, roots: [grad]), [])
        let added = graph.nodes[start...]
        XCTAssertFalse(added.contains { $0.op == .exp || $0.operands.contains(z) })
        XCTAssertEqual(added.filter { $0.op == .mul }.count, 1, "only g * w")
    }

    func testGradientNodesCarryForwardLocations() throws {
        let graph = Graph(name: "locations")
        let x = try graph.adInput("x", [2, 3], .f32, at: adLoc(10))
        let w = try graph.adParam("w", [3, 4], at: adLoc(11))
        let h = try graph.adOp(.matmul, [x, w], at: adLoc(12))
        let r = try graph.adOp(.relu, [h], at: adLoc(13))
        let loss = try graph.adOp(.reduceMean, [r], ["axes": .ints([0, 1])], at: adLoc(14))
        let start = graph.nodes.count
        let grads = try gradients(in: graph, of: loss, wrt: [x, w])
        try graph.verify()
        let forwardLines = Set([12, 13, 14])
        for node in graph.nodes[start...] {
            XCTAssertTrue(forwardLines.contains(node.location.line), "\(node.op.rawValue) at \(node.location)")
        }
        XCTAssertEqual(graph[grads[0]].op, .matmul)
        XCTAssertEqual(graph[grads[0]].location, adLoc(12))
        XCTAssertEqual(graph[grads[1]].location, adLoc(12))
        // The relu rule's select sits at the relu's line.
        XCTAssertTrue(graph.nodes[start...].contains { $0.op == .select && $0.location == adLoc(13) })
    }

    func testMultipleUsersAccumulateWithAdd() throws {
        let graph = Graph(name: "fanout")
        let x = try graph.adInput("x", [3])
        let y = try graph.adOp(.mul, [x, x], at: adLoc(20))
        let loss = try graph.adSumAll(try graph.adOp(.add, [y, x], at: adLoc(21)))
        let grad = try gradients(in: graph, of: loss, wrt: [x])[0]
        try graph.verify()
        XCTAssertEqual(graph[grad].op, .add)
        let values = try refEvaluate(graph, feeds: ["x": ADRefTensor([3], [1, -2, 0.5])])
        XCTAssertEqual(values[grad]!.data, [3, -3, 2])
    }

    func testVJPWithSeveralOutputsAndIntermediateWrt() throws {
        let graph = Graph(name: "multi")
        let x = try graph.adInput("x", [2])
        let h = try graph.adOp(.exp, [x])
        let y1 = try graph.adOp(.mul, [h, try graph.adScalar(3)])
        let y2 = try graph.adOp(.square, [h])
        let c1 = try graph.adInput("c1", [2]), c2 = try graph.adInput("c2", [])
        let grads = try vjp(in: graph, outputs: [(y1, c1), (y2, c2)], wrt: [x, h])
        try graph.verify()
        let feeds = ["x": ADRefTensor([2], [0.5, -1]), "c1": ADRefTensor([2], [1, 2]), "c2": ADRefTensor([], [0.5])]
        let values = try refEvaluate(graph, feeds: feeds)
        for i in 0..<2 {
            let e = Foundation.exp(feeds["x"]!.data[i])
            let dh = 3 * feeds["c1"]!.data[i] + 0.5 * 2 * e
            XCTAssertEqual(values[grads[1]]!.data[i], dh, accuracy: 1e-12)
            XCTAssertEqual(values[grads[0]]!.data[i], dh * e, accuracy: 1e-12)
        }
        // A cotangent of the wrong type is an autodiff error.
        XCTAssertThrowsError(try vjp(in: graph, outputs: [(y1, try graph.adInput("bad", [3]))], wrt: [x])) { error in
            guard case SinterError.autodiff = error else { return XCTFail("\(error)") }
        }
    }

    func testWindowAndConvRulesBuildTypedGraphs() throws {
        let graph = Graph(name: "conv")
        let x = try graph.adInput("x", [2, 7, 7, 3], .f32)
        let w = try graph.adParam("w", [3, 3, 3, 4])
        let convAttrs: [String: Attribute] = ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]
        let y = try graph.adOp(.conv2d, [x, w], convAttrs)                                    // [2,4,4,4]
        let w2 = try graph.adParam("w2", [4, 4, 2, 4])
        let up = try graph.adOp(.conv2dInputGrad, [y, w2], ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])],
                              type: TensorType(.f32, [2, 8, 8, 2]))                          // Conv2DTranspose
        let k = try graph.adOp(.conv2dFilterGrad, [up, up], ["strides": .ints([1, 1]), "pads": .ints([0, 0, 0, 0])],
                             type: TensorType(.f32, [1, 1, 2, 2]))
        let pooled = try graph.adOp(.maxPool, [up], ["window": .ints([2, 2]), "strides": .ints([2, 2]), "pads": .ints([0, 0, 0, 0])])
        let avg = try graph.adOp(.avgPool, [pooled], ["window": .ints([3, 3]), "strides": .ints([1, 1]), "pads": .ints([1, 1, 1, 1])])
        let resized = try graph.adOp(.resizeBilinear, [avg], type: TensorType(.f32, [2, 6, 5, 2]))
        let back = try graph.adOp(.resizeBilinearGrad, [resized], type: TensorType(.f32, [2, 3, 3, 2]))
        let avgBack = try graph.adOp(.avgPoolGrad, [back], ["window": .ints([2, 2]), "strides": .ints([1, 1]), "pads": .ints([0, 0, 0, 0])],
                                   type: TensorType(.f32, [2, 4, 4, 2]))
        let loss = try graph.adOp(.add, [try graph.adSumAll(avgBack), try graph.adSumAll(k)])
        let start = graph.nodes.count
        let grads = try gradients(in: graph, of: loss, wrt: [x, w, w2])
        try graph.verify()
        XCTAssertEqual(grads.map { graph.type(of: $0) }, [graph.type(of: x), graph.type(of: w), graph.type(of: w2)])
        let ops = graph.nodes[start...].map(\.op)
        for op in [Op.conv2dInputGrad, .conv2dFilterGrad, .conv2d, .maxPoolGrad, .avgPoolGrad, .avgPool, .resizeBilinear, .resizeBilinearGrad] {
            XCTAssertTrue(ops.contains(op), "missing \(op.rawValue)")
        }
        // dx = conv2d_input_grad(dy, w) with x's type and the conv's attributes.
        XCTAssertEqual(graph[grads[0]].op, .conv2dInputGrad)
        XCTAssertEqual(graph[grads[0]].attrs, Attributes(convAttrs))
        XCTAssertEqual(graph[grads[0]].operands[1], w)
        XCTAssertEqual(adDeadNodes(in: graph, from: start, roots: grads), [])
    }

    func testOpWithoutRuleThrowsNamingLocation() throws {
        let graph = Graph(name: "nograd")
        let x = try graph.adInput("x", [1, 4, 4, 1], .f32)
        let pool = ["window": Attribute.ints([2, 2]), "strides": .ints([2, 2]), "pads": .ints([0, 0, 0, 0])]
        let y = try graph.adOp(.maxPool, [x], pool)
        let dy = try graph.adInput("dy", [1, 2, 2, 1], .f32)
        let g = try graph.adOp(.maxPoolGrad, [x, dy], pool, at: SourceLocation(file: "Graphs/Weird.swift", line: 42))
        let loss = try graph.adSumAll(try graph.adOp(.mul, [g, g]))
        _ = y
        XCTAssertThrowsError(try gradients(in: graph, of: loss, wrt: [x])) { error in
            guard case let SinterError.autodiff(message) = error else { return XCTFail("wrong error \(error)") }
            XCTAssertTrue(message.contains("max_pool_grad"), message)
            XCTAssertTrue(message.contains("Graphs/Weird.swift:42"), message)
        }
        // Not on the path: no error (dy is not differentiated through max_pool_grad's x operand).
        XCTAssertNoThrow(try gradients(in: graph, of: try graph.adSumAll(y), wrt: [x]))
    }

    func testGradientStatusCoversEveryOp() {
        for op in Op.allCases {
            XCTAssertNotNil(gradientStatus[op], op.rawValue)
            XCTAssertTrue(["yes", "zero", "leaf", "effect", "no"].contains(gradientStatus(of: op)))
        }
        XCTAssertEqual(gradientStatus[.param], "leaf")
        XCTAssertEqual(gradientStatus[.constant], "leaf")
        XCTAssertEqual(gradientStatus[.greater], "zero")
        XCTAssertEqual(gradientStatus[.sign], "zero")
        XCTAssertEqual(gradientStatus[.randomNormal], "zero")
        XCTAssertEqual(gradientStatus[.adamUpdate], "effect")
        XCTAssertEqual(gradientStatus[.maxPoolGrad], "no")
        XCTAssertEqual(gradientStatus[.conv2dInputGrad], "yes")
        XCTAssertEqual(gradientStatus[.resizeBilinearGrad], "yes")
        XCTAssertEqual(gradientStatus[.pad], "yes")
    }

    // MARK: Optimizers

    private func trainingGraph() throws -> (Graph, [(node: Int, gradient: Int)]) {
        let graph = Graph(name: "train")
        let x = try graph.adInput("x", [4, 3], .f32)
        let w = try graph.adParam("dense.kernel", [3, 2]), b = try graph.adParam("dense.bias", [2])
        let y = try graph.adOp(.add, [try graph.adOp(.matmul, [x, w]), b])
        let loss = try graph.adOp(.reduceMean, [try graph.adOp(.square, [y])], ["axes": .ints([0, 1])])
        let grads = try gradients(in: graph, of: loss, wrt: [w, b])
        return (graph, [(w, grads[0]), (b, grads[1])])
    }

    func testAdamGraphStructure() throws {
        let (graph, params) = try trainingGraph()
        let start = graph.nodes.count
        try Adam().apply(in: graph, params: params, prefix: "opt", at: adLoc(50))
        try graph.verify()
        let iterations = try XCTUnwrap(graph.source(named: "opt.iterations"))
        XCTAssertEqual(graph[iterations].op, .state)
        XCTAssertEqual(graph[iterations].type, TensorType(.i32, []))
        XCTAssertEqual(graph[iterations].attrs["init"], .string("zeros"))
        for (param, _) in params {
            let name = graph[param].sourceName!
            for slot in ["m", "v"] {
                let state = try XCTUnwrap(graph.source(named: "opt.\(slot).\(name)"))
                XCTAssertEqual(graph[state].op, .state)
                XCTAssertEqual(graph[state].type, graph.type(of: param))
                XCTAssertEqual(graph[state].attrs["init"], .string("zeros"))
            }
        }
        let effects = graph.effects
        XCTAssertEqual(effects.map { graph[$0].op }, [.adamUpdate, .adamUpdate, .assign])
        for (effect, (param, gradient)) in zip(effects, params) {
            let name = graph[param].sourceName!
            XCTAssertEqual(graph[effect].operands, [param, graph.source(named: "opt.m.\(name)")!, graph.source(named: "opt.v.\(name)")!,
                                                    iterations, gradient])
            XCTAssertEqual(graph[effect].attrs, Attributes(["lr": .float(1e-3), "beta1": .float(0.9), "beta2": .float(0.999),
                                                            "epsilon": .float(1e-7)]))
            XCTAssertEqual(graph[effect].location, adLoc(50))
        }
        // Last node: iterations <- iterations + 1 (i32).
        let assign = graph[graph.nodes.count - 1]
        XCTAssertEqual(assign.op, .assign)
        XCTAssertEqual(assign.operands[0], iterations)
        let increment = graph[assign.operands[1]]
        XCTAssertEqual(increment.op, .add)
        XCTAssertEqual(increment.operands[0], iterations)
        XCTAssertEqual(graph[increment.operands[1]].attrs["value"], .float(1))
        XCTAssertEqual(graph[increment.operands[1]].type, TensorType(.i32, []))
        XCTAssertTrue(graph.nodes[start...].allSatisfy { $0.location == adLoc(50) })
    }

    func testRMSpropAndSGDGraphStructureAndDecay() throws {
        let (graph, params) = try trainingGraph()
        try RMSprop(learningRate: 2e-4, decay: ExponentialDecay(decayRate: 0.96, decaySteps: 1000))
            .apply(in: graph, params: params, prefix: "rms", at: adHere)
        try graph.verify()
        XCTAssertNotNil(graph.source(named: "rms.v.dense.kernel"))
        XCTAssertNotNil(graph.source(named: "rms.v.dense.bias"))
        XCTAssertNil(graph.source(named: "rms.m.dense.kernel"))
        let updates = graph.effects.filter { graph[$0].op == .rmspropUpdate }
        XCTAssertEqual(updates.count, 2)
        XCTAssertEqual(graph[updates[0]].attrs, Attributes(["lr": .float(2e-4), "rho": .float(0.9), "epsilon": .float(1e-7),
                                                            "decay_rate": .float(0.96), "decay_steps": .float(1000)]))
        XCTAssertEqual(graph[graph.effects.last!].op, .assign)

        let (graph2, params2) = try trainingGraph()
        try SGD(momentum: 0.9).apply(in: graph2, params: params2, prefix: "sgd", at: adHere)
        try graph2.verify()
        let velocity = try XCTUnwrap(graph2.source(named: "sgd.velocity.dense.bias"))
        let updates2 = graph2.effects.filter { graph2[$0].op == .sgdUpdate }
        XCTAssertEqual(graph2[updates2[1]].operands, [params2[1].node, velocity, graph2.source(named: "sgd.iterations")!, params2[1].gradient])
        XCTAssertEqual(graph2[updates2[0]].attrs, Attributes(["lr": .float(0.01), "momentum": .float(0.9)]))
        XCTAssertEqual(graph2.effects.map { graph2[$0].op }, [.sgdUpdate, .sgdUpdate, .assign])
    }

    func testOptimizerReusesExistingStateAndRejectsMisuse() throws {
        let (graph, params) = try trainingGraph()
        // Pre-existing slot, e.g. from an earlier phase of the same graph.
        let existing = try graph.add(.state, [], Attributes(["name": .string("opt.m.dense.bias"), "init": .string("zeros")]),
                                     type: TensorType(.f32, [2]), at: adHere)
        try Adam().apply(in: graph, params: params, prefix: "opt", at: adHere)
        try graph.verify()
        XCTAssertEqual(graph[graph.effects[1]].operands[1], existing)
        // A second apply with the same prefix would increment the counter twice: refused.
        XCTAssertThrowsError(try Adam().apply(in: graph, params: [params[0]], prefix: "opt", at: adLoc(77))) { error in
            XCTAssertTrue("\(error)".contains("Model.swift:77"), "\(error)")
        }
        // A slot name held by something of another type is an error, as is a non-persistent target.
        let (g2, p2) = try trainingGraph()
        _ = try g2.adParam("o.v.dense.kernel", [1])
        XCTAssertThrowsError(try RMSprop().apply(in: g2, params: p2, prefix: "o", at: adHere))
        XCTAssertThrowsError(try SGD().apply(in: g2, params: [(p2[0].gradient, p2[0].gradient)], prefix: "s", at: adHere))
    }
}

import Foundation
import SinterIR

/// Algebraic simplification, constant folding, common-subexpression elimination and dead-code
/// elimination, repeated to a fixed point. Autodiff and the DSL create many duplicate scalar
/// constants and identity ops (x*1, reshape to the same shape); this removes them so fusion sees
/// the real computation. Inputs are never dropped, used or not: they are the compiled program's
/// signature, which a caller feeds by name (and a name the program does not take is an error).
public struct Canonicalize: GraphPass {
    public let name: String
    public var summary: String { "simplify identities, fold constants, merge duplicates, drop dead nodes (to a fixed point)" }

    public init(name: String = "canonicalize") { self.name = name }

    struct Counts { var cse = 0, dce = 0, simplified = 0, folded = 0 }

    public func run(_ graph: Graph) throws -> (graph: Graph, report: String) {
        var current = graph
        var total = Counts()
        for _ in 0..<8 {
            var counts = Counts()
            let next = try sweep(current, &counts)
            total.cse += counts.cse; total.dce += counts.dce
            total.simplified += counts.simplified; total.folded += counts.folded
            let changed = next.nodes.count != current.nodes.count || counts.simplified + counts.folded > 0
            current = next
            if !changed { break }
        }
        let line = "\(name): \(graph.nodes.count) -> \(current.nodes.count) nodes (cse \(total.cse), dce \(total.dce), "
            + "simplified \(total.simplified), folded \(total.folded))"
        return (current, line)
    }

    /// Hashable identity of a pure node for CSE.
    struct Key: Hashable {
        let op: Op
        let operands: [Int]
        let attrs: Attributes
        let type: TensorType
    }

    func sweep(_ graph: Graph, _ counts: inout Counts) throws -> Graph {
        let live = graph.liveNodes()
        var rebuilder = GraphRebuilder(graph)
        var seen: [Key: Int] = [:]
        for id in graph.nodes.indices {
            let node = graph[id]
            guard live.contains(id) || node.op == .input else { counts.dce += 1; continue }
            let operands = node.operands.compactMap { rebuilder.mapped($0) }
            if let replacement = simplify(node, operands, rebuilder.new) {
                rebuilder.alias(id, to: replacement)
                counts.simplified += 1
                continue
            }
            if let value = fold(node, operands, rebuilder.new) {
                let folded = try rebuilder.add(.constant, [], Attributes(["value": .float(value)]), type: node.type, at: node.location)
                rebuilder.alias(id, to: folded)
                counts.folded += 1
                continue
            }
            let mergeable = !node.op.isEffect && node.op != .input && node.op != .param && node.op != .state
                && node.op != .randomNormal && node.op != .randomUniform
            let key = Key(op: node.op, operands: operands, attrs: node.attrs, type: node.type)
            if mergeable, let existing = seen[key] {
                rebuilder.alias(id, to: existing)
                counts.cse += 1
                continue
            }
            if let newID = try rebuilder.copy(id), mergeable { seen[key] = newID }
        }
        return try rebuilder.finish()
    }

    /// The splat value of a constant node, if `id` is one.
    func constantValue(_ graph: Graph, _ id: Int) -> Double? {
        guard graph[id].op == .constant else { return nil }
        return graph[id].attrs.float("value", default: .nan)
    }

    /// An existing node equal to this one's result, if the op is an identity here.
    func simplify(_ node: Node, _ operands: [Int], _ graph: Graph) -> Int? {
        func isConstant(_ i: Int, _ value: Double) -> Bool { constantValue(graph, operands[i]) == value }
        func sameType(_ i: Int) -> Bool { graph[operands[i]].type == node.type }
        switch node.op {
        case .add:
            if isConstant(1, 0), sameType(0) { return operands[0] }
            if isConstant(0, 0), sameType(1) { return operands[1] }
        case .sub:
            if isConstant(1, 0), sameType(0) { return operands[0] }
        case .mul:
            if isConstant(1, 1), sameType(0) { return operands[0] }
            if isConstant(0, 1), sameType(1) { return operands[1] }
        case .div:
            if isConstant(1, 1), sameType(0) { return operands[0] }
        case .neg:
            if graph[operands[0]].op == .neg { return graph[operands[0]].operands[0] }
        case .reshape, .broadcastTo, .cast, .stopGradient:
            // stop_gradient matters to autodiff only, which has run before any pass.
            if sameType(0) { return operands[0] }
        case .transpose:
            if let perm = try? node.attrs.ints("perm"), perm == Array(perm.indices) { return operands[0] }
        default:
            break
        }
        return nil
    }

    /// The value of an elementwise op whose operands are all splat constants.
    func fold(_ node: Node, _ operands: [Int], _ graph: Graph) -> Double? {
        guard node.op.isElementwise, node.op != .cast, !operands.isEmpty else { return nil }
        let values = operands.compactMap { constantValue(graph, $0) }
        guard values.count == operands.count, values.allSatisfy({ $0.isFinite }) else { return nil }
        let result: Double?
        switch (node.op, values.count) {
        case (.neg, 1): result = -values[0]
        case (.exp, 1): result = Foundation.exp(values[0])
        case (.log, 1): result = values[0] > 0 ? Foundation.log(values[0]) : nil
        case (.sqrt, 1): result = values[0] >= 0 ? values[0].squareRoot() : nil
        case (.rsqrt, 1): result = values[0] > 0 ? 1 / values[0].squareRoot() : nil
        case (.square, 1): result = values[0] * values[0]
        case (.abs, 1): result = Swift.abs(values[0])
        case (.add, 2): result = values[0] + values[1]
        case (.sub, 2): result = values[0] - values[1]
        case (.mul, 2): result = values[0] * values[1]
        case (.div, 2): result = values[1] != 0 && node.type.dtype.isFloat ? values[0] / values[1] : nil
        case (.maximum, 2): result = Swift.max(values[0], values[1])
        case (.minimum, 2): result = Swift.min(values[0], values[1])
        default: result = nil
        }
        guard let value = result, value.isFinite else { return nil }
        // Round as the graph's type would, so folding does not change the numbers computed.
        switch node.type.dtype {
        case .f32: return Double(Float(value))
        case .f64: return value
        case .i32: return value == value.rounded() ? value : nil
        }
    }
}

import SinterIR

// Reverse-mode automatic differentiation as a graph-to-graph transform.
//
// `vjp` appends to the graph the nodes that compute vector-Jacobian products. It only looks at the
// nodes on a differentiable path from a `wrt` node to an output (the "active" nodes), walks them in
// reverse topological order (descending node index, since a graph's node list is topologically
// ordered), and asks each node's gradient rule (GradientRules.swift) for the cotangent
// contributions of its active operands. Contributions to a node with several users are summed with
// `add`. Every node created for a forward node carries that forward node's SourceLocation.

/// The selu constants (Keras / TF), shared with the C emitter's forward definition.
public enum SeluConstants {
    public static let scale = 1.0507009873554805
    public static let alpha = 1.6732632423543772
}

/// Adds to `graph` the nodes computing the vector-Jacobian product of the given outputs with the
/// given cotangent nodes, with respect to each node in `wrt`. Returns one node per wrt entry
/// (a zeros constant when wrt does not influence the outputs).
///
/// A cotangent must have its output's element type; its shape must equal the output's shape or
/// broadcast to it (a broadcast_to is inserted). Nodes with integer types carry no gradient.
public func vjp(in graph: Graph, outputs: [(node: Int, cotangent: Int)], wrt: [Int]) throws -> [Int] {
    let count = graph.nodes.count
    for id in wrt where id < 0 || id >= count {
        throw SinterError.autodiff(message: "wrt node %\(id) does not exist")
    }
    for output in outputs {
        for id in [output.node, output.cotangent] where id < 0 || id >= count {
            throw SinterError.autodiff(message: "output or cotangent node %\(id) does not exist")
        }
        let node = graph[output.node]
        if node.op.isEffect {
            throw SinterError.autodiff(message: "cannot differentiate the effect %\(output.node) \(node.op.rawValue) (\(node.location)): it has no value")
        }
        let cotangentType = graph.type(of: output.cotangent)
        guard !graph[output.cotangent].op.isEffect, cotangentType.dtype == node.type.dtype,
              ShapeInference.broadcast(cotangentType.shape, node.type.shape) == node.type.shape else {
            throw SinterError.autodiff(message: "cotangent %\(output.cotangent) \(graph[output.cotangent].op.rawValue) : \(cotangentType) does not fit output %\(output.node) \(node.op.rawValue) : \(node.type) (\(node.location))")
        }
    }

    let active = activeNodes(in: graph, outputs: outputs.map(\.node), wrt: wrt)

    // Cotangent accumulated so far for each active node.
    var cotangents: [Int: Int] = [:]
    func accumulate(_ node: Int, _ contribution: Int) throws {
        if let existing = cotangents[node] {
            cotangents[node] = try graph.add(.add, [existing, contribution], at: graph[node].location)
        } else {
            cotangents[node] = contribution
        }
    }

    for output in outputs where active.contains(output.node) {
        let node = graph[output.node]
        var cotangent = output.cotangent
        if graph.type(of: cotangent) != node.type {
            cotangent = try graph.add(.broadcastTo, [cotangent], type: node.type, at: node.location)
        }
        try accumulate(output.node, cotangent)
    }

    // Visit active nodes from the last to the first.
    for id in active.sorted(by: >) {
        guard let cotangent = cotangents[id] else { continue }
        let node = graph[id]
        let differentiable = differentiableOperands(node, in: graph)
        let needed = node.operands.indices.map { active.contains(node.operands[$0]) && differentiable.contains($0) }
        guard needed.contains(true) else { continue }  // a leaf (a source, or a wrt node)
        let contributions = try GradientRules.contributions(of: id, in: graph, cotangent: cotangent, needed: needed)
        for (index, contribution) in contributions.enumerated() {
            guard let contribution, needed[index] else { continue }
            try accumulate(node.operands[index], contribution)
        }
    }

    var results: [Int] = []
    for id in wrt {
        if let cotangent = cotangents[id] {
            results.append(cotangent)
        } else {
            let node = graph[id]
            results.append(try graph.add(.constant, [], Attributes(["value": .float(0)]), type: node.type, at: node.location))
        }
    }
    return results
}

/// Gradient of a scalar node (cotangent = constant 1). For a non-scalar node this is the gradient of
/// the sum of its elements.
public func gradients(in graph: Graph, of loss: Int, wrt: [Int]) throws -> [Int] {
    guard loss >= 0 && loss < graph.nodes.count else {
        throw SinterError.autodiff(message: "loss node %\(loss) does not exist")
    }
    let node = graph[loss]
    guard !node.op.isEffect else {
        throw SinterError.autodiff(message: "cannot differentiate the effect %\(loss) \(node.op.rawValue) (\(node.location)): it has no value")
    }
    guard node.type.dtype.isFloat else {
        throw SinterError.autodiff(message: "loss %\(loss) \(node.op.rawValue) : \(node.type) (\(node.location)) is not floating point")
    }
    let one = try graph.add(.constant, [], Attributes(["value": .float(1)]), type: node.type, at: node.location)
    return try vjp(in: graph, outputs: [(loss, one)], wrt: wrt)
}

/// Operand positions through which a node's value depends differentiably on its operands. Zero-
/// gradient ops (comparisons, sign, random ops) and integer-typed values have none; select has
/// only its two branches; cast only between float types. Ops without a gradient rule list their
/// operands so that `vjp` reaches them and reports the missing rule.
func differentiableOperands(_ node: Node, in graph: Graph) -> [Int] {
    guard node.type.dtype.isFloat else { return [] }
    switch gradientStatus[node.op] ?? "no" {
    case "zero", "leaf", "effect":
        return []
    default:
        break
    }
    switch node.op {
    case .select:
        return [1, 2]
    case .cast:
        return graph[node.operands[0]].type.dtype.isFloat ? [0] : []
    default:
        return node.operands.indices.filter { graph[node.operands[$0]].type.dtype.isFloat }
    }
}

/// The nodes on a differentiable path from some wrt node to some output: the nodes that depend
/// on wrt (through differentiable operands) and that some output depends on.
func activeNodes(in graph: Graph, outputs: [Int], wrt: [Int]) -> Set<Int> {
    guard let first = wrt.min() else { return [] }
    var dependsOnWrt = Set(wrt)
    if first < graph.nodes.count {
        for id in first..<graph.nodes.count where !dependsOnWrt.contains(id) {
            let node = graph[id]
            if differentiableOperands(node, in: graph).contains(where: { dependsOnWrt.contains(node.operands[$0]) }) {
                dependsOnWrt.insert(id)
            }
        }
    }
    var active = Set<Int>()
    var stack = outputs.filter { dependsOnWrt.contains($0) }
    while let id = stack.popLast() {
        guard active.insert(id).inserted else { continue }
        let node = graph[id]
        for index in differentiableOperands(node, in: graph) where dependsOnWrt.contains(node.operands[index]) {
            stack.append(node.operands[index])
        }
    }
    return active
}

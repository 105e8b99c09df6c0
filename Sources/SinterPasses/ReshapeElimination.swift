import SinterIR

/// Collapses chains of data-movement ops that only relabel memory: reshape of a reshape becomes
/// one reshape, transpose of a transpose one transpose (or nothing), so fusion and the memory
/// planner see fewer copies.
public struct ReshapeElimination: GraphPass {
    public let name = "reshape-elim"
    public var summary: String { "merge reshape chains and transpose chains" }

    public init() {}

    public func run(_ graph: Graph) throws -> (graph: Graph, report: String) {
        var rebuilder = GraphRebuilder(graph)
        var merged = 0
        for id in graph.nodes.indices {
            let node = graph[id]
            let operands = node.operands.compactMap { rebuilder.mapped($0) }
            if node.op == .reshape, rebuilder.new[operands[0]].op == .reshape {
                let source = rebuilder.new[operands[0]].operands[0]
                let newID = try rebuilder.add(.reshape, [source], node.attrs, type: node.type, at: node.location)
                rebuilder.alias(id, to: newID)
                merged += 1
                continue
            }
            if node.op == .transpose, rebuilder.new[operands[0]].op == .transpose,
               let outer = try? node.attrs.ints("perm"), let inner = try? rebuilder.new[operands[0]].attrs.ints("perm") {
                // y = transpose(transpose(x, inner), outer): y axis i is x axis inner[outer[i]].
                let composed = outer.map { inner[$0] }
                let source = rebuilder.new[operands[0]].operands[0]
                merged += 1
                if composed == Array(composed.indices) {
                    rebuilder.alias(id, to: source)
                } else {
                    rebuilder.alias(id, to: try rebuilder.add(.transpose, [source], Attributes(["perm": .ints(composed)]),
                                                             type: node.type, at: node.location))
                }
                continue
            }
            try rebuilder.copy(id)
        }
        let result = try rebuilder.finish()
        return (result, "\(name): \(graph.nodes.count) -> \(result.nodes.count) nodes, \(merged) chains merged")
    }
}

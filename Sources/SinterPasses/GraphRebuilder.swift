import SinterIR

/// Rebuilds a graph node by node, letting a pass replace any node by an earlier (new) node or
/// drop it. Every rebuilt node goes through `Graph.add`, so types are checked again.
struct GraphRebuilder {
    let old: Graph
    let new: Graph
    /// Old node id -> new node id.
    private(set) var map: [Int?]

    init(_ old: Graph) {
        self.old = old
        new = Graph(name: old.name)
        map = Array(repeating: nil, count: old.nodes.count)
    }

    func mapped(_ id: Int) -> Int? { map[id] }

    /// Maps old node `id` to an existing new node.
    mutating func alias(_ id: Int, to newID: Int) { map[id] = newID }

    /// Copies old node `id` with its operands mapped (nil when an operand was dropped).
    @discardableResult
    mutating func copy(_ id: Int) throws -> Int? {
        let node = old[id]
        var operands: [Int] = []
        for operand in node.operands {
            guard let mapped = map[operand] else { return nil }
            operands.append(mapped)
        }
        let newID = try add(node.op, operands, node.attrs, type: node.type, at: node.location)
        map[id] = newID
        return newID
    }

    /// Adds a new node (types are re-inferred and must equal `type`).
    mutating func add(_ op: Op, _ operands: [Int], _ attrs: Attributes, type: TensorType, at location: SourceLocation) throws -> Int {
        try new.add(op, operands, attrs, type: type, at: location)
    }

    /// Finishes: outputs mapped to their new nodes.
    func finish() throws -> Graph {
        for (name, node) in old.outputs {
            guard let mapped = map[node] else {
                throw SinterError.verify(message: "output '\(name)' (%\(node)) was dropped by a pass")
            }
            try new.addOutput(name, mapped)
        }
        return new
    }
}

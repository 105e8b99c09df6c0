/// One operation in a graph. Operands are indices of earlier nodes, so `nodes` is always in a
/// topological order and a node's index is its stable name (`%12` in IR text).
public struct Node: Hashable, Sendable {
    public var op: Op
    public var operands: [Int]
    public var attrs: Attributes
    public var type: TensorType
    public var location: SourceLocation

    public init(op: Op, operands: [Int], attrs: Attributes, type: TensorType, location: SourceLocation) {
        self.op = op
        self.operands = operands
        self.attrs = attrs
        self.type = type
        self.location = location
    }

    /// The `name` attribute of inputs, params and state.
    public var sourceName: String? {
        if case let .string(name)? = attrs["name"] { return name }
        return nil
    }
}

/// A static dataflow graph: nodes in topological order, named outputs, and effect nodes that update
/// persistent state. Building a node infers and checks its type (see ShapeInference.swift).
public final class Graph {
    public var name: String
    public private(set) var nodes: [Node] = []
    public private(set) var outputs: [(name: String, node: Int)] = []
    private var sourceIndex: [String: Int] = [:]

    public init(name: String) {
        self.name = name
    }

    /// A deep copy, for transforms that must not touch the original.
    public func copy() -> Graph {
        let graph = Graph(name: name)
        graph.nodes = nodes
        graph.outputs = outputs
        graph.sourceIndex = sourceIndex
        return graph
    }

    public subscript(id: Int) -> Node { nodes[id] }

    public func type(of id: Int) -> TensorType { nodes[id].type }

    /// Adds a node after checking its operands and inferring its type. `type` is required for ops
    /// whose result shape is not implied by their operands (sources, reshape, broadcast_to, the
    /// gradient ops); when given for other ops it must equal the inferred type.
    @discardableResult
    public func add(_ op: Op, _ operands: [Int], _ attrs: Attributes = Attributes(), type declared: TensorType? = nil,
                    at location: SourceLocation) throws -> Int {
        for operand in operands where operand < 0 || operand >= nodes.count {
            throw SinterError.shape(op: op.rawValue, message: "operand %\(operand) does not exist", location: location)
        }
        for operand in operands where nodes[operand].op.isEffect {
            throw SinterError.shape(op: op.rawValue, message: "operand %\(operand) is an effect (\(nodes[operand].op.rawValue)) and has no value", location: location)
        }
        let operandTypes = operands.map { nodes[$0].type }
        let type: TensorType
        do {
            type = try ShapeInference.infer(op, operandTypes, attrs, declared: declared)
        } catch let ShapeInference.Failure.message(message) {
            // Sources are known by name: say which one is wrong.
            let named = op.isSource && op != .constant ? (attrs["name"].flatMap { if case let .string(name) = $0 { return "'\(name)': " } else { return nil } } ?? "") : ""
            throw SinterError.shape(op: op.rawValue, message: named + message, location: location)
        }
        if op.isSource && op != .constant {
            guard let name = attrs["name"].flatMap({ if case let .string(s) = $0 { return s } else { return nil } }) else {
                throw SinterError.shape(op: op.rawValue, message: "needs a name attribute", location: location)
            }
            if let existing = sourceIndex[name] {
                throw SinterError.shape(op: op.rawValue, message: "'\(name)' is already defined as %\(existing) (\(nodes[existing].op.rawValue) : \(nodes[existing].type))", location: location)
            }
            sourceIndex[name] = nodes.count
        }
        nodes.append(Node(op: op, operands: operands, attrs: attrs, type: type, location: location))
        return nodes.count - 1
    }

    /// The input, param or state node called `name`, if there is one.
    public func source(named name: String) -> Int? { sourceIndex[name] }

    public func addOutput(_ name: String, _ node: Int) throws {
        guard node >= 0 && node < nodes.count else {
            throw SinterError.verify(message: "output '\(name)' names %\(node), which does not exist")
        }
        if outputs.contains(where: { $0.name == name }) {
            throw SinterError.verify(message: "output '\(name)' is defined twice")
        }
        guard !nodes[node].op.isEffect else {
            throw SinterError.verify(message: "output '\(name)' names an effect node %\(node)")
        }
        outputs.append((name, node))
    }

    public func output(named name: String) -> Int? { outputs.first { $0.name == name }?.node }

    /// Nodes by role, in graph order.
    public var inputs: [Int] { nodes.indices.filter { nodes[$0].op == .input } }
    public var params: [Int] { nodes.indices.filter { nodes[$0].op == .param } }
    public var states: [Int] { nodes.indices.filter { nodes[$0].op == .state } }
    public var persistent: [Int] { nodes.indices.filter { nodes[$0].op.isPersistent } }
    public var effects: [Int] { nodes.indices.filter { nodes[$0].op.isEffect } }

    /// Replaces the node list wholesale; used by passes that rebuild a graph. The caller guarantees
    /// topological order; run `verify()` afterwards.
    public func replaceNodes(_ newNodes: [Node], outputs newOutputs: [(name: String, node: Int)]) {
        nodes = newNodes
        outputs = newOutputs
        sourceIndex = [:]
        for (index, node) in nodes.enumerated() where node.op.isSource && node.op != .constant {
            if let name = node.sourceName { sourceIndex[name] = index }
        }
    }

    /// How many nodes read each node (outputs count as readers).
    public func useCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: nodes.count)
        for node in nodes { for operand in node.operands { counts[operand] += 1 } }
        for output in outputs { counts[output.node] += 1 }
        return counts
    }

    /// Nodes that outputs and effects depend on (everything else is dead).
    public func liveNodes() -> Set<Int> {
        var live = Set<Int>()
        var stack = outputs.map(\.node) + effects
        while let id = stack.popLast() {
            if live.insert(id).inserted { stack.append(contentsOf: nodes[id].operands) }
        }
        return live
    }
}

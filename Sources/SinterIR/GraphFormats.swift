import Foundation

// The graph in two more formats for tools: Graphviz DOT (to look at) and JSON (to script).

/// Graphviz DOT: one box per node (op, type, source line), edges from operands; effects dashed,
/// persistent tensors shaded, outputs as ellipses. `dot -Tsvg graph.dot > graph.svg` draws it.
public func graphDOT(_ graph: Graph) -> String {
    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
    var lines = ["digraph \"\(escape(graph.name))\" {", "  rankdir=TB;", "  node [shape=box, fontname=\"monospace\", fontsize=10];"]
    for (id, node) in graph.nodes.enumerated() {
        var label = "%\(id) \(node.op.rawValue)"
        if let name = node.sourceName { label += " \(name)" }
        label += "\n\(node.type)\n\(node.location)"
        var style = ""
        if node.op.isPersistent { style = ", style=filled, fillcolor=\"#e8e8f8\"" }
        if node.op == .input { style = ", style=filled, fillcolor=\"#e8f8e8\"" }
        if node.op.isEffect { style = ", style=dashed" }
        lines.append("  n\(id) [label=\"\(escape(label))\"\(style)];")
        for operand in node.operands { lines.append("  n\(operand) -> n\(id);") }
    }
    for (index, output) in graph.outputs.enumerated() {
        lines.append("  out\(index) [shape=ellipse, label=\"\(escape(output.name))\"];")
        lines.append("  n\(output.node) -> out\(index);")
    }
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
}

/// JSON: `{"name", "nodes": [{"id", "op", "operands", "attrs", "dtype", "shape", "location"}], "outputs": {...}}`.
public func graphJSON(_ graph: Graph) -> String {
    func attribute(_ value: Attribute) -> Any {
        switch value {
        case let .int(v): return v
        case let .ints(v): return v
        case let .float(v): return v.isFinite ? v : "\(v)"
        case let .string(v): return v
        case let .bool(v): return v
        case let .dtype(v): return v.rawValue
        }
    }
    let nodes: [[String: Any]] = graph.nodes.enumerated().map { id, node in
        var attrs: [String: Any] = [:]
        for (key, value) in node.attrs.storage { attrs[key] = attribute(value) }
        return ["id": id, "op": node.op.rawValue, "operands": node.operands, "attrs": attrs,
                "dtype": node.type.dtype.rawValue, "shape": node.type.shape, "location": node.location.description]
    }
    let outputs = Dictionary(graph.outputs.map { ($0.name, $0.node) }, uniquingKeysWith: { first, _ in first })
    let object: [String: Any] = ["name": graph.name, "nodes": nodes, "outputs": outputs]
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]) else { return "{}" }
    return String(decoding: data, as: UTF8.self) + "\n"
}

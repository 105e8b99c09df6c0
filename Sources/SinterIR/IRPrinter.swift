/// IR text printing. The format is described in Docs/ir.md and read back by `parseIR`
/// (IRParser.swift); the two are kept exact inverses: `printIR(parseIR(printIR(g))) == printIR(g)`.
///
/// ```
/// graph tiny {
///   %0 = input {name="x"} : f32[2,3] @ Graphs/Tiny.swift:4
///   %1 = relu(%0) : f32[2,3] @ Graphs/Tiny.swift:5
///   output "y" = %1
/// }
/// ```

/// The whole graph as IR text, one node per line, ending with a newline. Nodes are numbered by their
/// index, so the text of a graph is a stable, diffable dump.
public func printIR(_ graph: Graph) -> String {
    var out = "graph \(graph.name) {\n"
    for (id, node) in graph.nodes.enumerated() {
        out += "  %\(id) = "
        out += irNodeBody(node)
        out += "\n"
    }
    for output in graph.outputs {
        out += "  output \(irQuoted(output.name)) = %\(output.node)\n"
    }
    out += "}\n"
    return out
}

extension Graph {
    /// `printIR(self)`: the graph as IR text.
    public var text: String { printIR(self) }
}

/// Everything after `%N = `: `op(operands) {attrs} : type @ location`.
func irNodeBody(_ node: Node) -> String {
    var line = node.op.rawValue
    // Sources have no operands; the empty `()` is left out so they read as plain declarations.
    if !node.operands.isEmpty {
        line += "(" + node.operands.map { "%\($0)" }.joined(separator: ", ") + ")"
    }
    if !node.attrs.isEmpty {
        line += " {" + node.attrs.storage.map { "\($0.key)=\(irAttributeText($0.value))" }.joined(separator: ", ") + "}"
    }
    line += " : \(node.type) @ \(node.location)"
    return line
}

/// Attribute value text. Only strings differ from `Attribute.description`: they need escaping, or
/// a name containing `"` would end the string early when parsed back.
func irAttributeText(_ value: Attribute) -> String {
    if case let .string(s) = value { return irQuoted(s) }
    return value.description
}

/// A double-quoted string with `\` `"` and line breaks escaped. Line breaks must be escaped because
/// the parser reads one node per line.
func irQuoted(_ s: String) -> String {
    var out = "\""
    // Unicode scalars, not Characters: "\r\n" is a single Character and would slip through.
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default: out.unicodeScalars.append(scalar)
        }
    }
    out += "\""
    return out
}

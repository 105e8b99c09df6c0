/// The IR verifier: checks the invariants every pass may assume and every pass must keep.
///
/// `Graph.add` already enforces most of them while a graph is built node by node, but passes rebuild
/// graphs wholesale with `replaceNodes`, which checks nothing, and some rules (what an effect may
/// write, double writes) span several nodes. Run `verify` after any pass that rebuilds a graph;
/// `verifyInDebug` does so for free in release builds.

/// Throws `SinterError.verify` for the first broken invariant, naming the node as `%N op (file:line)`:
/// - operands exist and precede their users (so `nodes` is a topological order);
/// - no node reads an effect, and no output names one (effects have no value);
/// - each stored type equals the type ShapeInference gives for the node's operands and attributes;
/// - inputs, params and state have a string `name`, unique among them; output names are unique;
/// - every state an effect writes is a param or state node: `assign`'s first operand, and for the
///   optimizer updates every operand but the last two (the parameter and its slots; the last two are
///   the iteration counter, which is read only, and the gradient);
/// - no state is written by two effects (or twice by one), since effects run in graph order and a
///   second write would silently win.
public func verify(_ graph: Graph) throws {
    let nodes = graph.nodes
    var sourceNames: [String: Int] = [:]
    var writers: [Int: Int] = [:]   // written state node -> the effect writing it

    func name(_ id: Int) -> String { "%\(id) \(nodes[id].op.rawValue)" }

    for (id, node) in nodes.enumerated() {
        func failure(_ message: String) -> SinterError {
            .verify(message: "\(name(id)) (\(node.location)): \(message)")
        }

        for operand in node.operands {
            guard operand >= 0 && operand < nodes.count else { throw failure("operand %\(operand) does not exist") }
            guard operand < id else { throw failure("operand \(name(operand)) does not precede its user") }
            if nodes[operand].op.isEffect { throw failure("reads \(name(operand)), an effect, which has no value") }
        }

        do {
            // With the stored type as the declared type, infer fails unless the two agree.
            _ = try ShapeInference.infer(node.op, node.operands.map { nodes[$0].type }, node.attrs, declared: node.type)
        } catch let ShapeInference.Failure.message(message) {
            throw failure(message)
        } catch let SinterError.verify(message) {
            throw failure(message)   // a missing or mistyped attribute, from the typed accessors
        }

        if node.op.isSource && node.op != .constant {
            guard let sourceName = node.sourceName else { throw failure("needs a string name attribute") }
            if let other = sourceNames[sourceName] {
                throw failure("name '\(sourceName)' is already used by \(name(other))")
            }
            sourceNames[sourceName] = id
        }

        if node.op.isEffect {
            for target in writtenState(node) {
                guard nodes[target].op.isPersistent else {
                    throw failure("writes \(name(target)), which is not a param or state node")
                }
                if let other = writers[target] {
                    let what = nodes[target].sourceName.map { " '\($0)'" } ?? ""
                    throw failure(other == id ? "writes \(name(target))\(what) twice"
                                              : "writes \(name(target))\(what), which \(name(other)) also writes")
                }
                writers[target] = id
            }
        }
    }

    try graph.checkTotalBytes()

    var outputNames = Set<String>()
    for output in graph.outputs {
        guard output.node >= 0 && output.node < nodes.count else {
            throw SinterError.verify(message: "output '\(output.name)' names %\(output.node), which does not exist")
        }
        guard outputNames.insert(output.name).inserted else {
            throw SinterError.verify(message: "output '\(output.name)' is defined twice")
        }
        if nodes[output.node].op.isEffect {
            throw SinterError.verify(message: "output '\(output.name)' names \(name(output.node)) (\(nodes[output.node].location)), an effect, which has no value")
        }
    }
}

/// The persistent nodes an effect updates in place (see Op.swift): assign writes its first operand;
/// an optimizer update writes the parameter and its slots, i.e. all operands but the iteration
/// counter and the gradient at the end.
func writtenState(_ node: Node) -> [Int] {
    switch node.op {
    case .assign: return Array(node.operands.prefix(1))
    case .adamUpdate, .rmspropUpdate, .sgdUpdate: return Array(node.operands.dropLast(2))
    default: return []
    }
}

extension Graph {
    /// `verify(self)`, as a method (Graph.replaceNodes tells callers to run `verify()`).
    public func verify() throws {
        try SinterIR.verify(self)
    }

    /// Verifies only in debug builds: passes call this after every rewrite, which would cost real
    /// time on big graphs in release builds, where the passes are trusted.
    public func verifyInDebug() throws {
        #if DEBUG
        try SinterIR.verify(self)
        #endif
    }
}

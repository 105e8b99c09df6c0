import SinterIR
import SinterPasses

/// Graph facts fusion needs: reshape chains are transparent (a reshape is an alias, never a
/// kernel), so a node's users are the nodes that read it directly or through reshapes.
struct FusionFacts {
    let graph: Graph
    let live: Set<Int>
    /// Pure, non-source, non-reshape readers of each node (through reshape chains), ascending.
    private(set) var users: [Int: [Int]] = [:]
    /// Nodes read by an effect, and nodes that are (or are reshaped into) graph outputs.
    private(set) var effectRead = Set<Int>()
    private(set) var outputs = Set<Int>()

    init(_ graph: Graph, live: Set<Int>) {
        self.graph = graph
        self.live = live
        for id in graph.nodes.indices where live.contains(id) && graph[id].op != .reshape {
            for operand in graph[id].operands {
                let b = base(operand)
                if graph[id].op.isEffect {
                    effectRead.insert(b)
                } else if users[b]?.last != id {
                    users[b, default: []].append(id)
                }
            }
        }
        for output in graph.outputs { outputs.insert(base(output.node)) }
    }

    /// The node whose value `id` is: `id` itself, or the start of its reshape chain.
    func base(_ id: Int) -> Int {
        var current = id
        while graph[current].op == .reshape { current = graph[current].operands[0] }
        return current
    }

    /// Outputs and effect operands must be in memory whatever fusion decides.
    func needed(_ id: Int) -> Bool { outputs.contains(id) || effectRead.contains(id) }

    func isConstant(_ id: Int) -> Bool { graph[id].op == .constant }
}

/// Where the members of one fused group are evaluated. A group loops over one or two index
/// spaces: `outputSpace` (an elementwise loop's result shape, or the anchor's / reduction's
/// result, for epilogue members) and, for a reduction, `inputSpace` (its operand's shape, for
/// prologue members). Every member gets a dims map: for each of its dimensions, the space
/// dimension it follows (nil: size 1 or broadcast). Operand strides follow numpy broadcasting
/// from the reader's map; reshapes inside a group may only add or drop size-1 dimensions.
struct GroupGeometry {
    enum Phase { case prologue, output }

    let main: Int?
    let members: [Int]
    var phase: [Int: Phase] = [:]
    var outputSpace: [Int] = []
    var inputSpace: [Int] = []
    var maps: [Int: [Int?]] = [:]
    private let facts: FusionFacts
    private var graph: Graph { facts.graph }

    func space(of member: Int) -> [Int] { phase[member] == .prologue ? inputSpace : outputSpace }

    /// Strides (per dimension of the member's space) at which member `m` is stored.
    func memberStrides(_ m: Int) -> [Int] {
        GroupGeometry.strides(maps[m]!, graph[m].type.shape, space(of: m).count)
    }

    /// Strides at which member `m` reads its operand `k` (a leaf, read at its own node's shape).
    func operandStrides(_ m: Int, _ k: Int) -> [Int] {
        let o = graph[m].operands[k]
        let map = GroupGeometry.operandMap(maps[m]!, graph[m].type.shape, graph[o].type.shape)
        return GroupGeometry.strides(map, graph[o].type.shape, space(of: m).count)
    }

    /// Members computed in `phase`, ascending (the main excluded).
    func members(in phase: Phase) -> [Int] { members.filter { $0 != main && self.phase[$0] == phase } }

    /// Analyses a candidate group. `stored(m)` says why member m must be written to memory
    /// (nil: it need not be). Returns the reason the group is not legal, or the geometry.
    static func analyze(_ facts: FusionFacts, members: Set<Int>, main: Int?, stored: (Int) -> String?) -> Result<GroupGeometry, FusionRefusal> {
        var geometry = GroupGeometry(main: main, members: members.sorted(), facts: facts)
        if let reason = geometry.build(members, stored: stored) { return .failure(FusionRefusal(reason)) }
        return .success(geometry)
    }

    private init(main: Int?, members: [Int], facts: FusionFacts) {
        self.main = main
        self.members = members
        self.facts = facts
    }

    private mutating func build(_ set: Set<Int>, stored: (Int) -> String?) -> String? {
        let root = members.last!
        let mainClass = main.map { fusionClass(of: graph[$0].op) }
        // Phases: members that depend on the main (or only feed such members) come after it.
        var after = Set<Int>()
        for m in members where m != main {
            if main == nil || graph[m].operands.contains(where: { let b = facts.base($0); return b == main || after.contains(b) }) {
                after.insert(m)
            }
        }
        for m in members.reversed() where m != main {
            if after.contains(m) { phase[m] = .output; continue }
            let readers = (facts.users[m] ?? []).filter(set.contains)
            let phases = Set(readers.map { $0 == main ? Phase.prologue : phase[$0]! })
            guard phases.count == 1 else {
                return phases.isEmpty ? "%\(m) has no reader in the kernel" : "%\(m) would be needed both before and after %\(main!)"
            }
            phase[m] = phases.first!
        }
        if let main {
            phase[main] = .output
            if mainClass == .anchor {
                if phase.values.contains(.prologue) {
                    return "\(graph[main].op.rawValue) %\(main) reads its operands from memory"
                }
                if !graph[main].type.dtype.isFloat { return "\(graph[main].type.dtype) \(graph[main].op.rawValue) has no epilogue" }
            }
        }

        // The output space: the loop's result, or the main's result for epilogues.
        outputSpace = graph[main ?? root].type.shape
        if root != main {
            guard let rootMap = GroupGeometry.squeezeMap(GroupGeometry.identity(outputSpace.count), outputSpace, graph[root].type.shape) else {
                return "%\(root) \(graph[root].type) is not an elementwise image of %\(main!) \(graph[main!].type)"
            }
            maps[root] = rootMap
        } else {
            maps[root] = GroupGeometry.identity(outputSpace.count)
        }
        if let reason = deriveMaps(members(in: .output).filter { $0 != root } + (main != nil && root != main ? [main!] : []),
                                   phase: .output) { return reason }
        if let main, root != main, !GroupGeometry.isFlat(GroupGeometry.strides(maps[main]!, outputSpace, outputSpace.count), outputSpace) {
            return "%\(main) is read at another index than its own by the epilogue"
        }

        // The prologue space: the reduction's operand.
        if let main, mainClass == .reduction {
            let operand = graph[main].operands[0]
            inputSpace = graph[operand].type.shape
            let b = facts.base(operand)
            if set.contains(b) {
                guard let map = GroupGeometry.chainMap(GroupGeometry.identity(inputSpace.count), from: operand, to: b, graph) else {
                    return "reshape %\(operand) regroups the dimensions of %\(b)"
                }
                maps[b] = map
            }
            if let reason = deriveMaps(members(in: .prologue).filter { $0 != b }, phase: .prologue) { return reason }
        }

        // Per-member checks: no replicated stores, only cheap ops replicated, reductions read
        // their leaves at their own index.
        for m in members {
            let count = space(of: m).reduce(1, *)
            if m != main && graph[m].type.count < count {
                if let why = stored(m) {
                    return "%\(m) \(graph[m].op.rawValue) must be stored (\(why)) but has \(graph[m].type.count) elements, "
                        + "the loop \(count): it would be written \(count / max(graph[m].type.count, 1))x"
                }
                if !isCheapToReplicate(graph[m].op) {
                    return "%\(m) \(graph[m].op.rawValue) would be recomputed \(count / max(graph[m].type.count, 1))x (not cheap)"
                }
            }
            // The reduction's own operand is read at its own index by construction.
            guard mainClass == .reduction, m != main else { continue }
            for (k, o) in graph[m].operands.enumerated() where !set.contains(facts.base(o)) && !facts.isConstant(facts.base(o)) {
                let s = operandStrides(m, k)
                if !GroupGeometry.isFlat(s, space(of: m)) && s.contains(where: { $0 != 0 }) {
                    return "%\(o) is broadcast into %\(m); a reduction reads operands at its own index"
                }
            }
        }
        return nil
    }

    /// Maps of `nodes` (one phase), from their readers inside the group, readers first.
    private mutating func deriveMaps(_ nodes: [Int], phase: Phase) -> String? {
        for m in nodes.sorted(by: >) {
            var found: [Int?]?
            for reader in facts.users[m] ?? [] where maps[reader] != nil && self.phase[reader] == phase && reader != main {
                for o in graph[reader].operands where facts.base(o) == m {
                    let viewMap = GroupGeometry.operandMap(maps[reader]!, graph[reader].type.shape, graph[o].type.shape)
                    guard let map = GroupGeometry.chainMap(viewMap, from: o, to: m, graph) else {
                        return "reshape %\(o) regroups the dimensions of %\(m)"
                    }
                    let n = space(of: m).count
                    if let found, GroupGeometry.strides(found, graph[m].type.shape, n) != GroupGeometry.strides(map, graph[m].type.shape, n) {
                        return "%\(m) is read at two different indices"
                    }
                    found = map
                }
            }
            guard let found else { return "%\(m) has no reader in this loop" }
            maps[m] = found
        }
        return nil
    }

    // MARK: Index maps

    static func identity(_ rank: Int) -> [Int?] { (0..<rank).map { Optional($0) } }

    /// Numpy broadcasting: operand dims are right-aligned with the reader's.
    static func operandMap(_ readerMap: [Int?], _ readerShape: [Int], _ operandShape: [Int]) -> [Int?] {
        let shift = readerShape.count - operandShape.count
        return operandShape.indices.map { e in operandShape[e] == 1 || e + shift < 0 ? nil : readerMap[e + shift] }
    }

    /// Through a reshape that only adds or drops size-1 dims: the non-1 dims correspond in order.
    static func squeezeMap(_ map: [Int?], _ fromShape: [Int], _ toShape: [Int]) -> [Int?]? {
        let fromDims = fromShape.indices.filter { fromShape[$0] != 1 }
        let toDims = toShape.indices.filter { toShape[$0] != 1 }
        guard fromDims.map({ fromShape[$0] }) == toDims.map({ toShape[$0] }) else { return nil }
        var result = [Int?](repeating: nil, count: toShape.count)
        for (f, t) in zip(fromDims, toDims) { result[t] = map[f] }
        return result
    }

    /// A map of node `from` carried down its reshape chain to `to`.
    static func chainMap(_ map: [Int?], from: Int, to: Int, _ graph: Graph) -> [Int?]? {
        var current = from, result = map
        while current != to {
            let next = graph[current].operands[0]
            guard let m = squeezeMap(result, graph[current].type.shape, graph[next].type.shape) else { return nil }
            result = m
            current = next
        }
        return result
    }

    /// Whether strides over `space` address element i of a row-major tensor at flat index i
    /// (size-1 dimensions do not matter).
    static func isFlat(_ strides: [Int], _ space: [Int]) -> Bool {
        let flat = rowMajorStrides(space)
        return space.indices.allSatisfy { space[$0] == 1 || strides[$0] == flat[$0] }
    }

    /// Element strides per space dimension of a tensor of `shape` indexed through `map`.
    static func strides(_ map: [Int?], _ shape: [Int], _ rank: Int) -> [Int] {
        let own = rowMajorStrides(shape)
        var result = [Int](repeating: 0, count: rank)
        for (e, d) in map.enumerated() where d != nil && shape[e] != 1 { result[d!] += own[e] }
        return result
    }
}

/// Why a node was not fused into a kernel.
struct FusionRefusal: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

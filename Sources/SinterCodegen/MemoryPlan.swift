import SinterIR

/// A region of the arena the generated code needs.
public enum BufferKey: Hashable, Sendable, CustomStringConvertible {
    /// The value of a node.
    case node(Int)
    /// Scratch of the kernel whose result is this node (e.g. a transposed convolution kernel).
    case scratch(Int)
    /// A copy of a persistent node's storage taken before the effects run, for effects that read
    /// state an earlier effect already wrote.
    case snapshot(Int)

    public var description: String {
        switch self {
        case let .node(id): return "%\(id)"
        case let .scratch(id): return "scratch of %\(id)"
        case let .snapshot(id): return "snapshot of %\(id)"
        }
    }
}

/// One arena buffer with its lifetime in schedule steps: pure kernels are steps 0..<P, copying
/// the outputs is step P, taking snapshots P + 1, effect kernels P + 2 onwards. The buffer is
/// written at `firstUse` and last read at `lastUse` (inclusive); a planner may give two buffers
/// the same bytes when their lifetimes do not overlap.
public struct BufferRequest: Sendable, Equatable {
    public var key: BufferKey
    public var bytes: Int
    public var firstUse: Int
    public var lastUse: Int

    public init(key: BufferKey, bytes: Int, firstUse: Int, lastUse: Int) {
        self.key = key
        self.bytes = bytes
        self.firstUse = firstUse
        self.lastUse = lastUse
    }
}

/// Byte offsets of every arena buffer, and the arena size.
public struct ArenaPlan: Sendable, Equatable {
    public var offsets: [BufferKey: Int]
    public var bytes: Int

    public init(offsets: [BufferKey: Int], bytes: Int) {
        self.offsets = offsets
        self.bytes = bytes
    }
}

public enum MemoryPlanner {
    /// Every buffer (arena and parameter block) starts at a multiple of this.
    public static let alignment = 64

    static func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// The naive plan: every buffer gets its own region, in request order (no reuse). A real
    /// planner replaces this function; everything else only reads the offsets it returns.
    public static func naive(_ requests: [BufferRequest]) -> ArenaPlan {
        var offsets: [BufferKey: Int] = [:]
        var next = 0
        for request in requests {
            offsets[request.key] = next
            next = align(next + max(request.bytes, 1))
        }
        return ArenaPlan(offsets: offsets, bytes: next)
    }

    /// The parameter block: every param and state node at a 64-byte aligned offset, in
    /// `graph.persistent` order.
    public static func parameterBlock(_ graph: Graph) -> (offsets: [Int: Int], bytes: Int) {
        var offsets: [Int: Int] = [:]
        var next = 0
        for id in graph.persistent {
            offsets[id] = next
            next = align(next + max(graph[id].type.byteSize, 1))
        }
        return (offsets, next)
    }
}

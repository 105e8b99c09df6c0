import Foundation
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
/// written at `firstUse` and last read at `lastUse` (inclusive). A kernel reads its operands and
/// writes its result at the same step, so lifetimes [a, b] and [b, c] overlap at b: two such
/// buffers may share bytes only when the second is written in place of the first (below).
public struct BufferRequest: Sendable, Equatable {
    public var key: BufferKey
    public var bytes: Int
    public var firstUse: Int
    public var lastUse: Int
    /// Operand buffers the kernel writing this buffer may overwrite (it reads element i of them
    /// before writing element i of its result, at the same index, and nothing else). The planner
    /// gives this buffer the bytes of the first candidate that has the same size, was written
    /// earlier, is last read at `firstUse`, and that no other buffer took over already.
    public var inPlaceCandidates: [BufferKey]

    public init(key: BufferKey, bytes: Int, firstUse: Int, lastUse: Int, inPlaceCandidates: [BufferKey] = []) {
        self.key = key
        self.bytes = bytes
        self.firstUse = firstUse
        self.lastUse = lastUse
        self.inPlaceCandidates = inPlaceCandidates
    }
}

/// Byte offsets of every arena buffer, and the arena size.
public struct ArenaPlan: Sendable, Equatable {
    public var offsets: [BufferKey: Int]
    public var bytes: Int
    /// Buffer -> the buffer whose bytes it takes over in place (same offset; the other one's
    /// lifetime ends at the step this one is written).
    public var inPlace: [BufferKey: BufferKey]

    public init(offsets: [BufferKey: Int], bytes: Int, inPlace: [BufferKey: BufferKey] = [:]) {
        self.offsets = offsets
        self.bytes = bytes
        self.inPlace = inPlace
    }
}

/// Memory planning (Docs/memory.md): in-place pairs, then every chain of in-place buffers is one
/// block over the union of its lifetimes; blocks get 64-byte aligned offsets in one arena such
/// that no two blocks live at the same step overlap. Several orders and fits are tried (largest
/// first, longest first, first written first, Glow's "busiest step first") and the smallest
/// arena is kept. `verify` checks any plan against the requests.
public enum MemoryPlanner {
    /// Every buffer (arena and parameter block) starts at a multiple of this.
    public static let alignment = 64

    static func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Bytes a buffer occupies in the arena (a whole number of alignment units, at least one).
    static func slot(_ request: BufferRequest) -> Int { align(max(request.bytes, 1)) }

    /// The naive plan: every buffer gets its own region, in request order (no reuse).
    public static func naive(_ requests: [BufferRequest]) -> ArenaPlan {
        var offsets: [BufferKey: Int] = [:]
        var next = 0
        for request in requests {
            offsets[request.key] = next
            next += slot(request)
        }
        return ArenaPlan(offsets: offsets, bytes: next)
    }

    // MARK: In place

    /// The in-place pairs the planner takes (buffer -> buffer it overwrites), decided in order of
    /// first use: the first candidate of the same byte size, written strictly earlier, last read
    /// exactly when this buffer is written, and not taken over by another buffer already. Every
    /// buffer takes over at most one and is taken over by at most one, so the pairs form chains.
    public static func inPlacePairs(_ requests: [BufferRequest]) -> [BufferKey: BufferKey] {
        var index: [BufferKey: Int] = [:]
        for (i, request) in requests.enumerated() where index[request.key] == nil { index[request.key] = i }
        var taken = Set<BufferKey>()
        var pairs: [BufferKey: BufferKey] = [:]
        let order = requests.indices.sorted { (requests[$0].firstUse, $0) < (requests[$1].firstUse, $1) }
        for i in order {
            let request = requests[i]
            for candidate in request.inPlaceCandidates {
                guard let j = index[candidate], j != i, !taken.contains(candidate) else { continue }
                let operand = requests[j]
                guard operand.bytes == request.bytes, operand.lastUse == request.firstUse,
                      operand.firstUse < request.firstUse else { continue }
                pairs[request.key] = candidate
                taken.insert(candidate)
                break
            }
        }
        return pairs
    }

    /// A chain of buffers that share one region: members in order, lifetime = union.
    struct Block {
        var members: [Int]
        var size: Int
        var first: Int
        var last: Int
        var length: Int { last - first + 1 }
        func overlaps(_ other: Block) -> Bool { first <= other.last && other.first <= last }
    }

    static func blocks(_ requests: [BufferRequest], _ pairs: [BufferKey: BufferKey]) -> [Block] {
        var index: [BufferKey: Int] = [:]
        for (i, request) in requests.enumerated() where index[request.key] == nil { index[request.key] = i }
        var next: [Int: Int] = [:]  // buffer -> the buffer that takes it over
        var hasPrevious = Set<Int>()
        for (taker, taken) in pairs {
            guard let t = index[taker], let o = index[taken] else { continue }
            next[o] = t
            hasPrevious.insert(t)
        }
        var result: [Block] = []
        for i in requests.indices where !hasPrevious.contains(i) && index[requests[i].key] == i {
            var members = [i]
            var current = i
            while let following = next[current] {
                members.append(following)
                current = following
            }
            result.append(Block(members: members, size: slot(requests[i]),
                                first: members.map { requests[$0].firstUse }.min()!,
                                last: members.map { requests[$0].lastUse }.max()!))
        }
        return result
    }

    // MARK: Lower bound

    /// The most bytes live at any one step (a buffer written in place of another counts once at
    /// the step where one ends and the other begins), and the first step where that happens. No
    /// plan with these in-place pairs can use a smaller arena.
    public static func peak(_ requests: [BufferRequest]) -> (bytes: Int, step: Int) {
        peak(blocks(requests, inPlacePairs(requests)))
    }

    /// `peak(requests).bytes`.
    public static func lowerBound(_ requests: [BufferRequest]) -> Int { peak(requests).bytes }

    static func peak(_ blocks: [Block]) -> (bytes: Int, step: Int) {
        var events: [(step: Int, delta: Int)] = []
        for block in blocks {
            events.append((block.first, block.size))
            events.append((block.last + 1, -block.size))
        }
        events.sort { $0.step < $1.step }
        var live = 0, best = 0, bestStep = 0
        var i = 0
        while i < events.count {
            let step = events[i].step
            while i < events.count && events[i].step == step {
                live += events[i].delta
                i += 1
            }
            if live > best {
                best = live
                bestStep = step
            }
        }
        return (best, bestStep)
    }

    // MARK: Planning

    /// Offsets for every request: liveness-aware best fit with in-place reuse (see the type's
    /// documentation). Deterministic: ties go to request order.
    public static func plan(_ requests: [BufferRequest]) -> ArenaPlan {
        let pairs = inPlacePairs(requests)
        let blocks = self.blocks(requests, pairs)
        let indices = Array(blocks.indices)
        let orders: [[Int]] = [
            // XLA's spatial order: largest first, then longest lived.
            indices.sorted { a, b in
                let x = blocks[a], y = blocks[b]
                if x.size != y.size { return x.size > y.size }
                if x.length != y.length { return x.length > y.length }
                return a < b
            },
            // XLA's temporal order: longest lived first, then largest.
            indices.sorted { a, b in
                let x = blocks[a], y = blocks[b]
                if x.length != y.length { return x.length > y.length }
                if x.size != y.size { return x.size > y.size }
                return a < b
            },
            // Online order: as a run allocates them.
            indices.sorted { (blocks[$0].first, $0) < (blocks[$1].first, $1) },
            busiestStepFirst(blocks),
        ]
        var best: (offsets: [Int], top: Int)?
        for order in orders {
            for bestFit in [true, false] {
                let candidate = place(blocks, order: order, bestFit: bestFit)
                if best == nil || candidate.top < best!.top { best = candidate }
            }
        }
        var offsets: [BufferKey: Int] = [:]
        if let best {
            for (b, block) in blocks.enumerated() {
                for member in block.members { offsets[requests[member].key] = best.offsets[b] }
            }
        }
        return ArenaPlan(offsets: offsets, bytes: best?.top ?? 0, inPlace: pairs)
    }

    /// Glow's order: repeatedly take the step with the most unplaced live bytes and its largest
    /// unplaced block (ties: longest lived, then request order).
    static func busiestStepFirst(_ blocks: [Block]) -> [Int] {
        guard let firstStep = blocks.map(\.first).min(), let lastStep = blocks.map(\.last).max() else { return [] }
        var live = [Int](repeating: 0, count: lastStep - firstStep + 1)
        for block in blocks {
            for s in block.first...block.last { live[s - firstStep] += block.size }
        }
        var placed = [Bool](repeating: false, count: blocks.count)
        var order: [Int] = []
        while order.count < blocks.count {
            var busiest = 0
            for s in live.indices where live[s] > live[busiest] { busiest = s }
            let step = busiest + firstStep
            var pick: Int?
            for (b, block) in blocks.enumerated() where !placed[b] && block.first <= step && step <= block.last {
                if let p = pick {
                    let current = blocks[p]
                    if block.size > current.size || (block.size == current.size && block.length > current.length) { pick = b }
                } else {
                    pick = b
                }
            }
            guard let chosen = pick else { break }
            placed[chosen] = true
            order.append(chosen)
            for s in blocks[chosen].first...blocks[chosen].last { live[s - firstStep] -= blocks[chosen].size }
        }
        for b in blocks.indices where !placed[b] { order.append(b) }  // unreachable; keeps every block placed
        return order
    }

    /// Places blocks in `order`: each at the smallest gap that fits among placed blocks whose
    /// lifetimes intersect it (best fit) or the lowest one (first fit); above them all when no gap
    /// fits.
    static func place(_ blocks: [Block], order: [Int], bestFit: Bool) -> (offsets: [Int], top: Int) {
        var offsets = [Int](repeating: -1, count: blocks.count)
        var placed: [Int] = []
        var top = 0
        for b in order {
            let block = blocks[b]
            let conflicts = placed.filter { blocks[$0].overlaps(block) }.sorted { offsets[$0] < offsets[$1] }
            var cursor = 0
            var chosen: (offset: Int, gap: Int)?
            for c in conflicts {
                let start = offsets[c]
                if start - cursor >= block.size {
                    let gap = start - cursor
                    if chosen == nil || (bestFit && gap < chosen!.gap) { chosen = (cursor, gap) }
                    if !bestFit { break }
                }
                cursor = max(cursor, start + blocks[c].size)
            }
            let offset = chosen?.offset ?? cursor
            offsets[b] = offset
            placed.append(b)
            top = max(top, offset + block.size)
        }
        return (offsets, top)
    }

    // MARK: Verifier

    /// Checks a plan against its requests (Glow's verifyAllocations): every buffer has a 64-byte
    /// aligned offset inside the arena, and no two buffers live at the same step share a byte,
    /// except a recorded in-place pair at exactly the step where one ends and the other begins
    /// (same offset, same size, and the operand is one of the taker's in-place candidates).
    public static func verify(_ requests: [BufferRequest], _ plan: ArenaPlan) throws {
        func fail(_ message: String) -> SinterError { .verify(message: "memory plan: \(message)") }
        var index: [BufferKey: Int] = [:]
        for (i, request) in requests.enumerated() {
            if index[request.key] != nil { throw fail("\(request.key) is requested twice") }
            if request.firstUse > request.lastUse {
                throw fail("\(request.key) is last used at step \(request.lastUse), before its first use at step \(request.firstUse)")
            }
            index[request.key] = i
        }
        func describe(_ i: Int) -> String {
            let r = requests[i]
            let offset = plan.offsets[r.key] ?? -1
            return "\(r.key) (\(r.bytes) bytes, steps \(r.firstUse)...\(r.lastUse), arena [\(offset), \(offset + max(r.bytes, 1))))"
        }
        for (i, request) in requests.enumerated() {
            guard let offset = plan.offsets[request.key] else { throw fail("\(request.key) has no offset") }
            if offset < 0 || offset % alignment != 0 { throw fail("\(describe(i)) is not \(alignment)-byte aligned") }
            if offset + max(request.bytes, 1) > plan.bytes { throw fail("\(describe(i)) ends past the arena (\(plan.bytes) bytes)") }
        }
        var takenBy: [BufferKey: BufferKey] = [:]
        for (taker, taken) in plan.inPlace.sorted(by: { "\($0.key)" < "\($1.key)" }) {
            guard let t = index[taker], let o = index[taken] else {
                throw fail("in-place pair \(taker) <- \(taken) names a buffer that was not requested")
            }
            if let other = takenBy[taken] { throw fail("\(taken) is overwritten in place by both \(other) and \(taker)") }
            takenBy[taken] = taker
            guard requests[t].inPlaceCandidates.contains(taken) else {
                throw fail("\(describe(t)) reuses \(describe(o)) in place, but its kernel may not overwrite that operand")
            }
            guard requests[o].lastUse == requests[t].firstUse, requests[o].firstUse < requests[t].firstUse,
                  requests[o].bytes == requests[t].bytes, plan.offsets[taker] == plan.offsets[taken] else {
                throw fail("\(describe(t)) in place of \(describe(o)): needs the same size and offset, and the operand's last use at the step it is written")
            }
        }
        func allowed(_ a: Int, _ b: Int) -> Bool {
            let x = requests[a], y = requests[b]
            if plan.inPlace[x.key] == y.key { return y.lastUse == x.firstUse }
            if plan.inPlace[y.key] == x.key { return x.lastUse == y.firstUse }
            return false
        }
        // Sweep in order of first use; `active` holds buffers whose lifetime has not ended.
        let order = requests.indices.sorted { (requests[$0].firstUse, $0) < (requests[$1].firstUse, $1) }
        var active: [Int] = []
        for i in order {
            let r = requests[i]
            active.removeAll { requests[$0].lastUse < r.firstUse }
            let start = plan.offsets[r.key]!, end = start + max(r.bytes, 1)
            for j in active {
                let other = requests[j]
                let otherStart = plan.offsets[other.key]!, otherEnd = otherStart + max(other.bytes, 1)
                if start < otherEnd && otherStart < end && !allowed(i, j) {
                    throw fail("\(describe(j)) and \(describe(i)) are live at the same time and overlap")
                }
            }
            active.append(i)
        }
    }

    // MARK: Report

    /// The plan as a user sees it. `describe` gives a buffer's label (`%12 conv2d`) and source line.
    public static func report(_ requests: [BufferRequest], _ plan: ArenaPlan, steps: Int, planned: Bool,
                              describe: (BufferKey) -> (label: String, location: String)) -> MemoryReport {
        var report = MemoryReport()
        report.naiveBytes = naive(requests).bytes
        let (bound, step) = planned ? peak(requests) : peak(requests.map {
            BufferRequest(key: $0.key, bytes: $0.bytes, firstUse: $0.firstUse, lastUse: $0.lastUse)
        })
        report.lowerBoundBytes = bound
        report.peakStep = step
        report.arenaBytes = plan.bytes
        report.steps = steps
        report.planned = planned
        report.inPlaceCount = plan.inPlace.count
        for request in requests {
            let (label, location) = describe(request.key)
            report.buffers.append(PlannedBuffer(label: label, bytes: request.bytes, offset: plan.offsets[request.key] ?? 0,
                                                firstUse: request.firstUse, lastUse: request.lastUse, location: location,
                                                inPlaceOf: plan.inPlace[request.key].map { describe($0).label }))
        }
        let ratio = bound > 0 ? Double(plan.bytes) / Double(bound) : 1
        let fragmentation = plan.bytes > 0 ? 100 * Double(plan.bytes - bound) / Double(plan.bytes) : 0
        report.line = String(format: "plan%@: naive %@, lower bound %@, arena %@ (%.2fx lower bound, fragmentation %.1f%%), %d in place",
                             planned ? "" : " (off: SINTER_NO_PLAN)", megabytes(report.naiveBytes), megabytes(bound),
                             megabytes(plan.bytes), ratio, fragmentation, plan.inPlace.count)
        return report
    }

    /// `61.2 MB` (decimal megabytes, as `sinter bench` prints).
    public static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

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

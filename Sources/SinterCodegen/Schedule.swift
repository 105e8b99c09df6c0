/// Scheduling for low peak memory: the pure kernels of a step may run in any order that respects
/// their data dependencies (effects run after all of them, in graph order, and are not moved).
/// A greedy list scheduler picks, among the kernels whose operands are ready, the one that frees
/// the most bytes net of what it allocates; the caller keeps its order only if the peak of live
/// bytes goes down (Docs/memory.md).
struct ScheduleProblem {
    /// Kernel -> kernels that must run before it (producers of what it reads).
    var predecessors: [[Int]]
    /// Kernel -> distinct buffers it reads / writes (buffer ids index `bytes`).
    var reads: [[Int]]
    var writes: [[Int]]
    /// Buffer -> bytes it occupies.
    var bytes: [Int]
    /// Buffer -> true when something after the pure kernels reads it (outputs, effects): it
    /// stays live whatever the order.
    var pinned: [Bool]

    var count: Int { predecessors.count }
}

enum Scheduler {
    /// How the greedy scheduler breaks the choice among ready kernels.
    enum Preference: CaseIterable {
        /// Largest (freed - allocated) bytes first; ties to the original order.
        case mostFreed
        /// A kernel that frees more than it allocates first (largest gain); otherwise the ready
        /// kernel that comes first in the original order, so the order changes only where it pays.
        case freeingElseOriginal
    }

    /// Orders worth trying, each a permutation of `0..<problem.count` respecting dependencies.
    static func candidates(_ problem: ScheduleProblem) -> [[Int]] {
        Preference.allCases.map { greedy(problem, $0) }
    }

    static func greedy(_ problem: ScheduleProblem, _ preference: Preference) -> [Int] {
        let n = problem.count
        var successors = [[Int]](repeating: [], count: n)
        var waiting = [Int](repeating: 0, count: n)
        for k in 0..<n {
            for p in Set(problem.predecessors[k]) where p != k {
                successors[p].append(k)
                waiting[k] += 1
            }
        }
        var readers = [Int](repeating: 0, count: problem.bytes.count)
        for k in 0..<n { for b in problem.reads[k] { readers[b] += 1 } }
        var ready = Set((0..<n).filter { waiting[$0] == 0 })
        var order: [Int] = []
        order.reserveCapacity(n)
        func gain(_ k: Int) -> Int {
            var freed = 0
            for b in problem.reads[k] where readers[b] == 1 && !problem.pinned[b] { freed += problem.bytes[b] }
            return freed - problem.writes[k].reduce(0) { $0 + problem.bytes[$1] }
        }
        while !ready.isEmpty {
            var pick = -1, pickGain = Int.min
            for k in ready {
                let g = gain(k)
                if g > pickGain || (g == pickGain && k < pick) {
                    pick = k
                    pickGain = g
                }
            }
            if preference == .freeingElseOriginal && pickGain <= 0 { pick = ready.min()! }
            ready.remove(pick)
            order.append(pick)
            for b in problem.reads[pick] { readers[b] -= 1 }
            for s in successors[pick] {
                waiting[s] -= 1
                if waiting[s] == 0 { ready.insert(s) }
            }
        }
        // A dependency cycle cannot happen (the graph is acyclic); keep every kernel regardless.
        if order.count < n { order += (0..<n).filter { !order.contains($0) } }
        return order
    }
}

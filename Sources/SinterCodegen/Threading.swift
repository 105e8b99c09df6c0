import Foundation
import SinterIR

/// Whether a kernel's parallel loops split over the OpenMP team, decided once per kernel when
/// the plan is built (`sinter dump --after plan` prints it as `threads:`). A parallel region costs
/// a fork and a join: microseconds with the workers spinning, tens of microseconds once they
/// sleep (OMP_WAIT_POLICY=passive, or a loaded machine where a worker waits for a core), so a
/// kernel whose serial run is shorter than a few of those is faster on the calling thread alone.
///
/// The decision only adds or drops the `SINTER_PARALLEL_FOR` pragmas of the kernel (its writer
/// drops them, CWriter.swift); no emitter lets the thread count decide a summation order, so the
/// values are the same bits whichever way it goes and whatever the team size.
public struct ThreadingDecision: Sendable, Equatable {
    /// True: the kernel's parallel loops are spread over the team; false: no pragma at all.
    public let splits: Bool
    /// The kernel's work in element operations (ThreadingRule), what was compared.
    public let work: Int
    /// `split: 2.36 M element ops (9.44 M multiply-adds / 4) >= 131072`.
    public let reason: String
}

/// The rule: a kernel splits when its estimated work, in element operations (one streamed
/// elementwise op on one element, ~0.1-0.3 ns on one core here), reaches `CodegenOptions.splitWork`.
/// Per kind, what one unit is:
/// - loop: elements x nodes computed per element (a constant fill: the elements);
/// - reduction: input elements x nodes (a fused prologue is computed per input element);
/// - matmul and convolutions: multiply-adds / 4 (register-blocked FMAs, several per cycle);
/// - data movement: result elements (a pad or concat writes each once);
/// - pool: output elements x window cells; resize: output elements x 4 corners;
/// - random: elements x 8 (a Philox block per element); index: the larger of input and result;
/// - effect: state elements x the update's operations per element.
enum ThreadingRule {
    /// The default of `CodegenOptions.splitWork`: about 20-40 us of serial work on this
    /// machine's cores, several times a fork and join of two threads even when they sleep
    /// (Docs/performance.md, "Threads and the OpenMP wait policy").
    static let defaultSplitWork = 1 << 17

    /// Multiply-adds per element operation (register-blocked GEMM FMAs against streamed loops).
    static let multiplyAddsPerUnit = 4

    static func decide(_ graph: Graph, _ kernel: Kernel, kind: KernelKind, geometry: KernelGeometry, splitWork: Int) -> ThreadingDecision {
        let (work, basis) = estimate(graph, kernel, kind: kind, geometry: geometry)
        let splits = work >= splitWork
        let verdict = splits ? "split: \(PlannedKernel.count(work)) element ops\(basis) >= \(splitWork)"
            : "one thread: \(PlannedKernel.count(work)) element ops\(basis) < \(splitWork)"
        return ThreadingDecision(splits: splits, work: work, reason: verdict)
    }

    /// The work in element operations and, when it is not plain elements, what it was counted
    /// from (` (9.44 M multiply-adds / 4)`).
    static func estimate(_ graph: Graph, _ kernel: Kernel, kind: KernelKind, geometry: KernelGeometry) -> (Int, String) {
        let node = graph[kernel.main ?? kernel.result]
        let nodes = max(kernel.nodes.count, 1)
        func times(_ count: Int, _ unit: String, _ factor: Int, _ each: String) -> (Int, String) {
            factor == 1 ? (count, "") : (workCount(count, factor), " (\(PlannedKernel.count(count)) \(unit) x \(factor) \(each))")
        }
        func multiplyAdds(_ n: Int) -> (Int, String) {
            (n / multiplyAddsPerUnit, " (\(PlannedKernel.count(n)) multiply-adds / \(multiplyAddsPerUnit))")
        }
        let resultCount = node.type.count
        let largestOperand = node.operands.map { graph[$0].type.count }.max() ?? 0
        switch geometry {
        case let .loop(space):
            let count = space.reduce(1, SizeLimits.saturatingProduct)
            return node.op == .constant ? (count, "") : times(count, "elements", nodes, "nodes")
        case let .reduction(g):
            return times(g.input.count, "input elements", nodes, "nodes")
        case let .matmul(d):
            return multiplyAdds(workCount(d.batch, d.m, d.n, d.k))
        case let .conv(g):
            return multiplyAdds(g.work)
        case .shape:
            switch kind {
            case .pool:
                let window = ((try? node.attrs.ints("window")) ?? [1, 1]).reduce(1, SizeLimits.saturatingProduct)
                // Forward: the result is the pooled image; gradients: the larger operand is.
                return times(max(resultCount, node.op == .maxPool || node.op == .avgPool ? 0 : largestOperand), "outputs", window, "window cells")
            case .resize:
                return times(max(resultCount, largestOperand), "elements", 4, "corners")
            case .random:
                return times(resultCount, "elements", 8, "per Philox block")
            case .index:
                return (max(resultCount, largestOperand), "")
            case .effect:
                let state = node.operands.first.map { graph[$0].type.count } ?? 0
                let perElement: Int
                switch node.op {
                case .adamUpdate: perElement = 8
                case .rmspropUpdate: perElement = 6
                case .sgdUpdate: perElement = 2
                default: perElement = 1
                }
                return times(state, "state elements", perElement, "operations")
            default:
                return (resultCount, "")
            }
        }
    }
}

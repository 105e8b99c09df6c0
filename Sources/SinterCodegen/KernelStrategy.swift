import Foundation
import SinterIR

/// One way of computing a kind of kernel (KernelKind): whether it can compute a given kernel and
/// at what cost, the scratch it needs, and the C of the kernel's body (the emitter writes the
/// function's signature and the call). Every strategy of a kind must compute the same values
/// (within the kind's rounding: the golden tolerances), so choosing one only changes speed.
///
/// Adding a strategy is one file with a type conforming to this protocol and one line in
/// `StrategyRegistry.all`; the plan then offers it for every kernel of its kind, picks it when
/// its cost is the lowest, and `CodegenOptions.strategies` can force it.
protocol KernelStrategy: Sendable {
    var kind: KernelKind { get }
    /// Its name in logs, dumps and `CodegenOptions.strategies` (`gemm-window`).
    var name: String { get }
    /// Whether it can compute the kernel, and its cost by the kind's cost rule.
    func assess(_ kernel: StrategyInput) -> StrategyFit
    /// Bytes of arena scratch the kernel needs during its call (one region, shared by its threads).
    func scratchBytes(_ kernel: StrategyInput) -> Int
    /// Writes the kernel's body. `ctx.hooks` carries the fused work (prologue, epilogue, a whole
    /// fused loop) the body must call.
    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws
}

extension KernelStrategy {
    /// A kind's only strategy needs no cost rule.
    func assess(_ kernel: StrategyInput) -> StrategyFit { .fits(cost: 1, basis: "") }
    func scratchBytes(_ kernel: StrategyInput) -> Int { 0 }
}

/// Vector lanes the cost rules assume: 256-bit vectors (8 f32 or 4 f64 lanes), what every x86-64
/// target with AVX has.
func costLanes(_ dtype: DType) -> Int { 32 / dtype.byteSize }

/// What a strategy is chosen by: the kernel, its node and its geometry.
struct StrategyInput {
    let graph: Graph
    let kernel: Kernel
    let geometry: KernelGeometry
    /// The plan's threading decision (Threading.swift), made before the strategy: a strategy may
    /// lay its work out differently when it splits (and ask for scratch for that).
    var splits = true
    /// The node the kernel is built around (its main op, or a loop's result).
    var node: Node { graph[kernel.main ?? kernel.result] }
}

enum StrategyFit {
    /// It can. `cost` is in the unit of the kind's cost rule (lower is better; only compared
    /// between strategies of one kind for one kernel); `basis` says what it counts.
    case fits(cost: Double, basis: String)
    /// It can, but the cost rule never picks it, for the reason given (its rounding, say): only
    /// `CodegenOptions.strategies` can ask for it. Another strategy of the kind must fit.
    case onlyWhenForced(String)
    /// It cannot, and why (`needs f32 or f64, not i32`).
    case cannot(String)
}

/// The strategy the plan chose for a kernel and why.
struct StrategyChoice {
    let strategy: any KernelStrategy
    /// Why, after the strategy's name: `the only conv2d strategy`, `8.0x cheaper than loops
    /// (...)`, `forced (matmul:loops) instead of gemm by the cost rule: ...`.
    let reason: String

    /// The cheapest strategy of `kind` that can compute the kernel (ties: the one registered
    /// first), or the one `forced` names when it can.
    init(_ input: StrategyInput, kind: KernelKind, forced: String?) throws {
        let candidates = StrategyRegistry.strategies(for: kind)
        var fitting: [(strategy: any KernelStrategy, cost: Double, basis: String)] = []
        var refusals: [(name: String, why: String)] = []
        var reserved: [(strategy: any KernelStrategy, why: String)] = []
        for strategy in candidates {
            switch strategy.assess(input) {
            case let .fits(cost, basis): fitting.append((strategy, cost, basis))
            case let .onlyWhenForced(why): reserved.append((strategy, why))
            case let .cannot(why): refusals.append((strategy.name, why))
            }
        }
        let node = input.node
        guard let best = fitting.enumerated().min(by: { ($0.element.cost, $0.offset) < ($1.element.cost, $1.offset) })?.element else {
            let whys = refusals.map { "\($0.name): \($0.why)" }.joined(separator: "; ")
            throw SinterError.verify(message: "C emitter: no \(kind.rawValue) strategy can compute %\(input.kernel.main ?? input.kernel.result) "
                + "\(node.op.rawValue) \(node.type) @ \(node.location) (\(whys))")
        }
        var reason: String
        if candidates.count == 1 {
            reason = "the only \(kind.rawValue) strategy"
        } else if fitting.count == 1 && reserved.isEmpty {
            reason = "the only \(kind.rawValue) strategy that fits (" + refusals.map { "\($0.name) \($0.why)" }.joined(separator: "; ") + ")"
        } else if fitting.count == 1 {
            reason = "the only \(kind.rawValue) strategy the cost rule may pick"
        } else {
            let others = fitting.filter { $0.strategy.name != best.strategy.name }
            let runnerUp = others.min { $0.cost < $1.cost }!
            if runnerUp.cost > best.cost {
                let ratio = String(format: "%.1f", runnerUp.cost / max(best.cost, .leastNonzeroMagnitude))
                reason = "\(ratio)x cheaper than \(runnerUp.strategy.name) (\(best.basis))"
            } else {
                reason = "as cheap as \(runnerUp.strategy.name) by the cost rule, and registered first"
            }
        }
        // Strategies kept for forcing, and why (`; not winograd-f4 (only when forced): ...`).
        for (strategy, why) in reserved { reason += "; not \(strategy.name) (only when forced): \(why)" }
        let costRule = "\(best.strategy.name) by the cost rule: \(reason)"
        switch forced {
        case nil:
            (strategy, self.reason) = (best.strategy, reason)
        case best.strategy.name?:
            (strategy, self.reason) = (best.strategy, "forced (\(kind.rawValue):\(best.strategy.name)), also \(costRule)")
        case let forced?:
            if let asked = fitting.first(where: { $0.strategy.name == forced })?.strategy ?? reserved.first(where: { $0.strategy.name == forced })?.strategy {
                (strategy, self.reason) = (asked, "forced (\(kind.rawValue):\(forced)) instead of \(costRule)")
            } else {
                let why = refusals.first { $0.name == forced }?.why ?? "not a \(kind.rawValue) strategy"
                (strategy, self.reason) = (best.strategy, "\(reason); \(kind.rawValue):\(forced) was asked for but cannot: \(why)")
            }
        }
    }
}

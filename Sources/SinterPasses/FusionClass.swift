import SinterIR

/// How an op may take part in kernel fusion (TVM's OpPatternKind, adapted). The fusion planner
/// (SinterCodegen/Fusion.swift, Docs/fusion.md) asks the op, not a switch of its own.
public enum FusionClass: String, Sendable, CaseIterable {
    /// One output element from the same element of each operand (numpy broadcasting allowed):
    /// fuses into any consumer's loop, and as a prologue or epilogue of reductions and anchors.
    case elementwise
    /// `broadcast_to`: an elementwise read at a broadcast index; fuses like elementwise.
    case broadcast
    /// Pure data movement with a static index map (reshape, transpose, slice, pad, concat,
    /// reverse). Reshape is free (an alias); the others run as their own kernels for now.
    case injective
    /// reduce_sum / reduce_mean / reduce_max: absorbs elementwise producers (prologue) and
    /// elementwise consumers of its result (epilogue); never recomputed.
    case reduction
    /// conv2d, conv2d_input_grad, conv2d_filter_grad, matmul: the GEMM-backed ops with real
    /// arithmetic intensity. Take elementwise epilogues; read their operands from memory.
    case anchor
    /// Window ops, resize, random sampling, argmax, one_hot: one kernel each, no fusion.
    case opaque
    /// input, param, state, constant: no kernel (constants become literals where possible).
    case source
    /// assign and the optimizer updates: run after every pure kernel, never fused.
    case effect
}

public func fusionClass(of op: Op) -> FusionClass {
    switch op {
    case .input, .param, .state, .constant: return .source
    case _ where op.isEffect: return .effect
    case _ where op.isElementwise: return .elementwise
    case .broadcastTo: return .broadcast
    case .reshape, .transpose, .slice, .pad, .concat, .reverse: return .injective
    case _ where op.isReduction: return .reduction
    case .conv2d, .conv2dInputGrad, .conv2dFilterGrad, .matmul: return .anchor
    default: return .opaque
    }
}

extension FusionClass {
    /// Elementwise and broadcast ops: the ones evaluated per element inside a fused loop.
    public var isPointwise: Bool { self == .elementwise || self == .broadcast }
}

/// Whether evaluating `op` once per element of a larger iteration space (replicating it, e.g. a
/// scalar computed inside a [N,H,W,C] loop) costs about as much as a load: XLA's "cheap" list.
/// Transcendentals and divisions are not cheap, so they are never replicated.
public func isCheapToReplicate(_ op: Op) -> Bool {
    switch op {
    case .add, .sub, .mul, .neg, .abs, .sign, .maximum, .minimum, .relu, .relu6, .leakyRelu, .clip, .cast, .stopGradient,
         .select, .greater, .greaterEqual, .less, .lessEqual, .equal, .square, .broadcastTo, .reshape:
        return true
    default:
        return false
    }
}

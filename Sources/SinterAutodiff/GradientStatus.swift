import SinterIR

/// Whether autodiff can differentiate each op, for `sinter ops`:
/// - "yes": a gradient rule exists (GradientRules.swift);
/// - "zero": the gradient is zero everywhere it exists (comparisons, sign, random samples), or
///   the op blocks it (stop_gradient), or its operands or result are integers (argmax, one_hot),
///   so no gradient flows through it;
/// - "leaf": a source (input, param, state, constant); differentiation stops there;
/// - "effect": writes persistent state and has no value to differentiate;
/// - "no": no rule; differentiating through it throws SinterError.autodiff.
public let gradientStatus: [Op: String] = {
    var status: [Op: String] = [:]
    for op in Op.allCases {
        if op.isSource {
            status[op] = "leaf"
        } else if op.isEffect {
            status[op] = "effect"
        } else if op.isComparison || [.sign, .randomNormal, .randomUniform, .stopGradient, .argmax, .oneHot].contains(op) {
            status[op] = "zero"
        } else if op == .maxPoolGrad {
            status[op] = "no"
        } else {
            status[op] = "yes"
        }
    }
    return status
}()

/// `gradientStatus[op]`, never nil.
public func gradientStatus(of op: Op) -> String { gradientStatus[op] ?? "no" }

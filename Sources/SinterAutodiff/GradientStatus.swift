import SinterIR

/// Whether autodiff can differentiate each op, for `sinter ops`:
/// - "yes": a gradient rule exists (GradientRules.swift);
/// - "zero": the gradient is zero everywhere it exists (comparisons, sign, random samples), so no
///   gradient flows through it;
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
        } else if op.isComparison || op == .sign || op == .randomNormal || op == .randomUniform {
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

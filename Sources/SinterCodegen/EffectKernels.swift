import SinterIR

/// Effects: they write persistent state in place and run after every pure kernel, in graph
/// order. Scalar factors (learning-rate schedule, Adam's bias correction) are computed in double
/// from the iteration counter's current value (it = 0 on the first step; the counter is bumped by
/// a separate assign that comes last); per-element updates run in the parameter's type.
enum EffectKernels {
    static func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        let op = ctx.node.op
        let stateType = ctx.operandType(0)
        let n = stateType.count
        let t = stateType.dtype.cType
        if op == .assign {
            w.line("if (x0 != x1) memmove(x0, x1, \(stateType.byteSize));")
            return
        }
        guard stateType.dtype.isFloat else {
            throw SinterError.verify(message: "\(op.rawValue) needs a floating-point parameter, got \(stateType)")
        }
        let slots = op == .adamUpdate ? 2 : 1
        let iterations = "x\(slots + 1)", gradient = "x\(slots + 2)"
        let a = ctx.attrs
        let lr = try a.float("lr")
        func f(_ name: String) -> String { "(\(t))(\(name))" }
        w.line("const double it = (double)\(iterations)[0];")
        if a["decay_rate"] != nil {
            let rate = try a.float("decay_rate"), steps = try a.float("decay_steps")
            w.line("const double lr = \(cDouble(lr)) * pow(\(cDouble(rate)), it / \(cDouble(steps)));")
        } else {
            w.line("const double lr = \(cDouble(lr));")
            w.line("(void)it;")
        }
        let parallel = true
        // Optional clip of the updated param (Adam's `clip`); written so NaN passes through, as
        // clip_by_value lets it.
        var clampLine: String?
        if a["clip_low"] != nil || a["clip_high"] != nil {
            let low = try a.float("clip_low"), high = try a.float("clip_high")
            clampLine = "if (x0[k] < \(f(cDouble(low)))) x0[k] = \(f(cDouble(low))); else if (x0[k] > \(f(cDouble(high)))) x0[k] = \(f(cDouble(high)));"
        }
        switch op {
        case .adamUpdate:
            // m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= alpha m / (sqrt(v) + eps),
            // alpha = lr sqrt(1 - b2^t) / (1 - b1^t), t = it + 1.
            let b1 = try a.float("beta1"), b2 = try a.float("beta2"), eps = try a.float("epsilon")
            w.line("const double t = it + 1.0;")
            w.line("const double alpha = lr * sqrt(1.0 - pow(\(cDouble(b2)), t)) / (1.0 - pow(\(cDouble(b1)), t));")
            w.line("const \(t) b1 = \(f(cDouble(b1))), c1 = \(f("1.0 - " + cDouble(b1))), b2 = \(f(cDouble(b2))), c2 = \(f("1.0 - " + cDouble(b2)));")
            w.line("const \(t) al = \(f("alpha")), eps = \(f(cDouble(eps)));")
            w.loop("k", n, parallel: parallel) { w in
                w.line("const \(t) g = \(gradient)[k];")
                w.line("const \(t) m = b1 * x1[k] + c1 * g;")
                w.line("const \(t) v = b2 * x2[k] + c2 * (g * g);")
                w.line("x1[k] = m;")
                w.line("x2[k] = v;")
                w.line("x0[k] -= al * m / (\(stateType.dtype.math("sqrt"))(v) + eps);")
                if let clampLine { w.line(clampLine) }
            }
        case .rmspropUpdate:
            // v = rho v + (1-rho) g^2; p -= lr g / sqrt(v + eps).
            let rho = try a.float("rho"), eps = try a.float("epsilon")
            w.line("const \(t) rho = \(f(cDouble(rho))), crho = \(f("1.0 - " + cDouble(rho))), lrt = \(f("lr")), eps = \(f(cDouble(eps)));")
            w.loop("k", n, parallel: parallel) { w in
                w.line("const \(t) g = \(gradient)[k];")
                w.line("const \(t) v = rho * x1[k] + crho * (g * g);")
                w.line("x1[k] = v;")
                w.line("x0[k] -= lrt * g / \(stateType.dtype.math("sqrt"))(v + eps);")
            }
        case .sgdUpdate:
            // velocity = momentum velocity - lr g; p += velocity (Keras SGD).
            let momentum = a.float("momentum", default: 0)
            w.line("const \(t) mom = \(f(cDouble(momentum))), lrt = \(f("lr"));")
            w.loop("k", n, parallel: parallel) { w in
                w.line("const \(t) v = mom * x1[k] - lrt * \(gradient)[k];")
                w.line("x1[k] = v;")
                w.line("x0[k] += v;")
            }
        default:
            throw SinterError.verify(message: "not an effect: \(op.rawValue)")
        }
    }
}

/// `effect:in-place-update`: the state updates above, written in place.
struct InPlaceUpdateStrategy: KernelStrategy {
    var kind: KernelKind { .effect }
    var name: String { "in-place-update" }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try EffectKernels.emit(ctx, &w) }
}

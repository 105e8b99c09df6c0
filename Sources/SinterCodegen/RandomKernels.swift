import SinterIR

/// random_normal(counter) {seed} and random_uniform(counter) {seed, low, high}: element k is a
/// pure function of (seed, counter value, k) through Philox-4x32-10; the exact stream is
/// documented in Codegen/sinter_rng.h and Docs/abi.md.
enum RandomKernels {
    static func emit(_ ctx: KernelContext, _ w: inout CWriter) throws {
        guard ctx.dtype.isFloat else {
            throw SinterError.verify(message: "\(ctx.node.op.rawValue) must produce floats, not \(ctx.dtype)")
        }
        let seed = try ctx.attrs.int("seed")
        let count = ctx.type.count
        w.line("const uint64_t seed = (uint64_t)(int64_t)(\(seed)LL);")
        w.line("const uint64_t counter = sinter_rng_counter((double)\(ctx.x(0))[0]);")
        let value: String
        if ctx.node.op == .randomNormal {
            value = "(\(ctx.t))sinter_rng_normal(seed, counter, (uint64_t)k)"
        } else {
            let low = cDouble(try ctx.attrs.float("low")), high = cDouble(try ctx.attrs.float("high"))
            value = "sinter_rng_uniform_\(ctx.dtype.helperSuffix)(seed, counter, (uint64_t)k, \(low), \(high))"
        }
        w.loop("k", count, parallel: true) { w in
            w.line("y[k] = \(value);")
        }
    }
}

/// `random:philox`: counter-based Philox-4x32-10 streams.
struct PhiloxRandomStrategy: KernelStrategy {
    var kind: KernelKind { .random }
    var name: String { "philox" }

    func emit(_ ctx: KernelContext, _ w: inout CWriter) throws { try RandomKernels.emit(ctx, &w) }
}

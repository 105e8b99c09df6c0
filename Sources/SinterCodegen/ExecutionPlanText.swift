import Foundation
import SinterIR

/// The execution plan as `sinter dump --after plan` prints it (Docs/dumps.md): a header with the
/// fusion, schedule and memory lines, then per kernel in execution order its step, name, kind,
/// the nodes fused, geometry, strategy and reason, scratch, and where it reads and writes
/// (`io[i]`, `params+offset`, `arena+offset`); the output copies and snapshots come between
/// the pure kernels and the effects, as they run.
extension ExecutionPlan {
    public var text: String {
        var lines = ["# execution plan of \(graph.name): \(pure.count) pure kernel(s), then \(effects.count) effect(s)",
                     "# \(fusionLine)", "# \(memory.scheduleLine)", "# \(memory.line)",
                     "# param block \(paramBytes) bytes, arena \(arena.bytes) bytes"]
        for (step, planned) in pure.enumerated() { lines += kernelText(planned, step: step) }
        if !graph.outputs.isEmpty {
            lines.append("outputs (step \(pure.count)): " + graph.outputs.map { "\($0.name) <- \(place($0.node))" }.joined(separator: ", "))
        }
        if !snapshots.isEmpty {
            lines.append("snapshots (step \(pure.count + 1)): " + snapshots.sorted().map {
                "%\($0) at arena+\(arena.offsets[.snapshot($0)] ?? 0)"
            }.joined(separator: ", "))
        }
        for (e, planned) in effects.enumerated() { lines += kernelText(planned, step: pure.count + 2 + e) }
        return lines.joined(separator: "\n") + "\n"
    }

    private func kernelText(_ planned: PlannedKernel, step: Int) -> [String] {
        let kernel = planned.kernel
        let nodes = kernel.nodes.map { "%\($0) \(graph[$0].op.rawValue)" }.joined(separator: " + ")
        var lines = ["\(planned.name) (step \(step)) \(planned.kind.rawValue): \(nodes)",
                     "  geometry: \(planned.geometryText)",
                     "  strategy: \(planned.strategyName), \(planned.reason)",
                     "  threads: \(planned.threading.reason)"]
        if planned.scratchBytes > 0 {
            lines.append("  scratch: \(megabytes(planned.scratchBytes)) at arena+\(arena.offsets[.scratch(planned.anchor)] ?? 0)")
        } else {
            lines.append("  scratch: none")
        }
        // An effect's arguments are its operands: the state slots it writes, then what it reads.
        var written = kernel.isEffect ? [] : Array(planned.arguments.prefix(planned.arguments.count - planned.reads.count))
        var reads: [Int] = []
        for (i, id) in planned.reads.enumerated() {
            if kernel.isEffect && KernelEmitter.writtenOperands(graph[kernel.result].op).contains(i) {
                written.append(id)
            } else if !reads.contains(id) {
                reads.append(id)
            }
        }
        lines.append("  reads: " + (reads.isEmpty ? "nothing" : reads.map { place($0, snapshot: kernel.isEffect) }.joined(separator: ", ")))
        lines.append("  writes: " + (written.isEmpty ? "nothing" : written.map { place($0) + ", \(megabytes(graph[$0].type.byteSize))" }
            .joined(separator: "; ")))
        return lines
    }

    /// `%5 arena+0`, `%0 io[0]`, `%3 params+256`; a reshape names the node it aliases.
    private func place(_ id: Int, snapshot: Bool = false) -> String {
        let r = root(id)
        let alias = r == id ? "" : " (= %\(r))"
        if snapshot && snapshots.contains(r) { return "%\(id)\(alias) snapshot arena+\(arena.offsets[.snapshot(r)] ?? 0)" }
        switch storage[r] {
        case let .io(index)?: return "%\(id)\(alias) io[\(index)]"
        case let .params(offset)?: return "%\(id)\(alias) params+\(offset)"
        default: return "%\(id)\(alias) arena+\(arena.offsets[.node(r)] ?? 0)"
        }
    }

    private func megabytes(_ bytes: Int) -> String {
        bytes < 10_000 ? "\(bytes) bytes" : String(format: "%.2f MB", Double(bytes) / 1e6)
    }
}

extension PlannedKernel {
    /// What the kernel's code is specialised to: `x [128,28,28,1], w [3,3,1,64], y [128,28,28,64],
    /// strides 1x1, pads top 1 left 1; 57.8 M multiply-adds`.
    public var geometryText: String {
        func dims(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }
        switch geometry {
        case let .loop(space):
            return "loop over \(dims(space))"
        case let .reduction(g):
            let results = g.reducedCount > 0 ? g.input.count / g.reducedCount : 0
            return "\(dims(g.input.shape)) over axes \(dims(g.axes)): \(results) result(s) of \(g.reducedCount) element(s)"
        case let .matmul(d):
            var text = "M \(d.m), N \(d.n), K \(d.k)"
            if d.batch > 1 { text += ", batch \(d.batch)" }
            if d.ta { text += ", a transposed" }
            if d.tb { text += ", b transposed" }
            return text + "; \(PlannedKernel.count(workCount(d.batch, d.m, d.n, d.k))) multiply-adds"
        case let .conv(g):
            return "x \(dims([g.n, g.h, g.w, g.ci])), w \(dims([g.kh, g.kw, g.ci, g.co])), y \(dims([g.n, g.oh, g.ow, g.co])), "
                + "strides \(g.sh)x\(g.sw), pads top \(g.top) left \(g.left); \(PlannedKernel.count(g.work)) multiply-adds"
        case let .shape(shape):
            return "\(kind == .effect ? "state" : "result") \(dims(shape))"
        }
    }

    /// `57.8 M`, `3.70 G`, `864`.
    static func count(_ n: Int) -> String {
        if n >= 1_000_000_000 { return String(format: "%.2f G", Double(n) / 1e9) }
        if n >= 1_000_000 { return String(format: "%.1f M", Double(n) / 1e6) }
        return "\(n)"
    }
}

import Foundation
import Sinter
import SinterModels

/// `sinter bench --op`: one op as a one-op graph through `compileGraph` (the kernel a model of
/// that geometry gets), on caller-owned buffers so only the entry call is timed. The result of
/// the first call is checked against an f64 reference before anything is timed: a wrong kernel
/// fails the bench instead of reporting a fast wrong answer.
struct OpBench {
    var benchmark: OpBenchmark
    /// Timed calls; nil: as many as the peer scripts make for that much work.
    var steps: Int?
    var warmup: Int
    var json: Bool

    /// The peers' iteration counts (`bench_tf.py`, `bench_numpy.py`: 50, 20 and 10 calls of
    /// matmul n = 512, 1024, 2048; 20 of the 7.4 GFLOP convolution), as a rule of the FLOPs.
    static func defaultSteps(flops: Double) -> Int { flops < 1e9 ? 50 : flops < 1e10 ? 20 : 10 }

    func run() throws {
        let graph = try benchmark.graph()
        let executable = try compileGraph(graph)
        var generator = SplitMix64(seed: 1)
        // Uniform in [-1, 1), exact in f32 (24 random bits).
        let operands = benchmark.operands.map { operand in
            (0..<operand.shape.reduce(1, *)).map { _ in Float(Double(generator.next() >> 40) / Double(1 << 23) - 1) }
        }
        var result = [Float](repeating: .nan, count: benchmark.resultShape.reduce(1, *))
        try call(executable, operands, &result)
        let check = try benchmark.check(operands: operands, result: result)

        // The kernel alone comes from the profiling build, called right after each timed call
        // so both see the same machine: the entry also copies the result out of the arena
        // (Docs/abi.md), which a BLAS call writing into its output does not.
        let profiler = try KernelProfiler(try optimizeGraph(graph).0)
        let steps = self.steps ?? Self.defaultSteps(flops: benchmark.flops)
        var times = Timings(), kernel = Timings()
        for step in 0..<(warmup + steps) {
            let ms = try Timings.time { try call(executable, operands, &result) }
            profiler.reset()
            try call(profiler.executable, operands, &result)
            guard step >= warmup else { continue }
            times.append(ms)
            kernel.append(profiler.read().map(\.seconds).reduce(0, +) * 1000)
        }
        try report(times: times, kernel: kernel, check: check, threads: openMPThreads(executable), compile: executable.report)
    }

    /// One call of the entry on `operands` (in the benchmark's operand order) into `result`.
    private func call(_ executable: Executable, _ operands: [[Float]], _ result: inout [Float]) throws {
        let order = try executable.program.inputs.map { slot in
            guard let index = benchmark.operands.firstIndex(where: { $0.name == slot.name }) else {
                throw SinterError.runtime(message: "bench \(benchmark.opName): the compiled program takes an input '\(slot.name)' the op does not have")
            }
            return index
        }
        try operands[order[0]].withUnsafeBytes { first in
            try operands[order[1]].withUnsafeBytes { second in
                try result.withUnsafeMutableBytes { output in
                    try executable.run(inputPointers: [first.baseAddress!, second.baseAddress!], outputPointers: [output.baseAddress!])
                }
            }
        }
    }

    private func report(times: Timings, kernel: Timings, check: OpCheck, threads: Int, compile: CompileReport) throws {
        let gflop = benchmark.flops / 1e9
        var geometry: [String: Any] = ["result_shape": benchmark.resultShape,
                                       "operands": Dictionary(uniqueKeysWithValues: benchmark.operands.map { ($0.name, $0.shape) })]
        var description = ""
        switch benchmark.kind {
        case let .matmul(m, n, k):
            geometry.merge(["m": m, "n": n, "k": k]) { $1 }
            description = "(C[M,N] = A[M,K] B[K,N])"
        case let .conv2d(g, _):
            geometry.merge(["stride": g.stride, "padding": g.padding.rawValue, "pads": g.pads]) { $1 }
            description = "(NHWC input, HWIO kernel) stride \(g.stride) \(g.padding.rawValue) -> \(shapeText(benchmark.resultShape))"
        }
        if json {
            try printJSONLine(geometry.merging([
                "bench": "op", "op": benchmark.opName, "shape": benchmark.shapeText, "threads": threads,
                "steps": times.count, "warmup": warmup, "gflop": gflop,
                "median_ms": times.median, "min_ms": times.minimum,
                "gflops_median": gflop / (times.median / 1000), "gflops_best": gflop / (times.minimum / 1000),
                "kernel_median_ms": kernel.median, "kernel_min_ms": kernel.minimum,
                "kernel_gflops_median": gflop / (kernel.median / 1000),
                "checked_elements": check.checked, "result_elements": check.total, "check_worst_ratio": check.worstRatio,
                "check_tolerance": "\(OpCheck.relativeTolerance) x sum of |terms| (f64 reference)",
                "compile_s": compile.seconds, "cache_hit": compile.cacheHit, "peak_rss_mb": peakResidentMegabytes(),
            ] as [String: Any]) { $1 })
            return
        }
        print(String(format: "%@ %@ %@, %d thread%@: median %.4g ms, min %.4g ms, %.1f GFLOP/s (best %.1f); kernel alone: median %.4g ms, %.1f GFLOP/s",
                     benchmark.opName, benchmark.shapeText, description, threads, threads == 1 ? "" : "s", times.median, times.minimum,
                     gflop / (times.median / 1000), gflop / (times.minimum / 1000), kernel.median, gflop / (kernel.median / 1000)))
        print(String(format: "checked %d of %d result elements against an f64 reference (worst error %.2g of the tolerance) | %.3g GFLOP per call | compile %.2f s%@",
                     check.checked, check.total, check.worstRatio, gflop, compile.seconds, compile.cacheHit ? " (cache hit)" : ""))
    }
}

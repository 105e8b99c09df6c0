import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// `sinter bench <model>`: compile (cold, then cached), warm up, time steps on random data.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time a model's forward graph or training step on random data.")

    @Argument(help: "Model name, or an ONNX model file (.onnx).") var model: String
    @OptionGroup var shapeOptions: ONNXShapeOptions
    @Flag(help: "ONNX only: also time onnxruntime (python3 with the onnxruntime package, two threads) on the same inputs.")
    var onnxruntime = false
    @Flag(help: "Time the whole training step (default: the forward graph).") var train = false
    @Option(parsing: .unconditional, help: "Batch size (default: the model's).") var batch: Int?
    @Option(parsing: .unconditional, help: "Timed steps.") var steps: Int = 20
    @Option(parsing: .unconditional, help: "Untimed warm-up steps.") var warmup: Int = 3
    @Option(help: "Output format: text or json.") var format: String = "text"
    @Option(parsing: .unconditional, help: "How many of the slowest kernels to list (timed in a separate profiling build).") var top: Int = 8
    @Option(parsing: .unconditional, help: "Image models (nst): the side of the square image (default: the notebook's 512).")
    var size: Int?

    func validate() throws {
        try OptionChecks.batch(batch)
        try OptionChecks.check(steps, "--steps", in: 1...OptionChecks.maxSteps, "timed steps")
        try OptionChecks.check(warmup, "--warmup", in: 0...OptionChecks.maxSteps, "untimed warm-up steps")
        try OptionChecks.check(top, "--top", in: 0...Int.max, "how many kernels to list")
        try OptionChecks.oneOf(format, "--format", ["text", "json"])
        try OptionChecks.check(size, "--size", in: StylizeCommand.sizes, "the image side in pixels")
        if ONNXModelFile.isONNX(model) {
            if train || batch != nil || size != nil { throw ValidationError("an ONNX model runs forward at its own shapes: use --input-shape, not --train, --batch or --size") }
        } else if !shapeOptions.inputShape.isEmpty || onnxruntime {
            throw ValidationError("--input-shape and --onnxruntime apply to ONNX models (MODEL.onnx)")
        } else if ImageZoo.entry(named: model) != nil {
            if batch != nil && batch != 1 { throw ValidationError("\(model) optimises one image: --batch must be 1 (use --size)") }
        } else if size != nil {
            throw ValidationError("--size applies to image models (\(ImageZoo.entries.map(\.name).joined(separator: ", "))), not \(model); use --batch")
        }
    }

    func run() throws {
        do {
            let batchSize: Int
            let traced: Graph
            let imageSide = ImageZoo.entry(named: model).map { size ?? $0.defaultSize }
            var weights: [String: HostTensor]?
            if ONNXModelFile.isONNX(model) {
                let imported = try ONNXModelFile.load(model, shapes: shapeOptions.shapes)
                batchSize = 1
                traced = imported.graph
                weights = imported.weights
            } else if let image = ImageZoo.entry(named: model) {
                batchSize = 1
                traced = try image.trace(size ?? image.defaultSize, train)
            } else {
                let entry = try Zoo.entry(named: model)
                batchSize = batch ?? entry.defaultBatch
                traced = try entry.trace(batchSize, train)
            }
            let (graph, _) = try optimizeGraph(traced)
            let program = try emitC(graph)
            // Refuse a graph that cannot fit before the cold compile below spends a minute on it.
            let memoryLimit = try CompileOptions.fromEnvironment().checkedMemoryLimit()
            try MemoryGuard.check(program, limit: memoryLimit)

            // Cold: a fresh cache, so the C compiler runs. Cached: the same program again.
            let coldDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: coldDirectory) }
            let cold = try KernelCache(directory: coldDirectory).compile(program)
            let executable = try Runtime.compile(program, cache: try KernelCache(directory: coldDirectory), memoryLimit: memoryLimit)
            let cached = executable.report
            try executable.initializeParameters(seed: 0)
            if let weights { try executable.loadPersistent(weights, requireAll: true) }

            var generator = SplitMix64(seed: 1)
            var inputs: [String: HostTensor] = [:]
            for slot in program.inputs {
                let values = (0..<slot.type.count).map { _ in Double(generator.next() >> 11) / Double(1 << 53) }
                inputs[slot.name] = HostTensor(shape: slot.type.shape, doubles: values).converted(to: slot.type.dtype)
            }
            for _ in 0..<warmup { _ = try executable.run(inputs) }
            var times: [Double] = []
            for _ in 0..<steps {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try executable.run(inputs)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            times.sort()
            let median = times[times.count / 2], minimum = times[0]
            let flops = Double(Cost.totalFlops(graph))
            let slowest = try profileKernels(graph, inputs: inputs, weights: weights)
            let reference = onnxruntime ? try ONNXRuntimeTiming.median(model: model, inputs: inputs, steps: steps, warmup: warmup) : nil
            let result: [String: Any] = [
                "model": model, "train": train, "batch": batchSize, "size": imageSide.map { $0 as Any } ?? NSNull(), "steps": times.count,
                "compile_cold_s": cold.seconds, "compile_cached_s": cached.seconds, "cache_hit": cached.cacheHit,
                "median_ms": median, "min_ms": minimum,
                "images_per_s": Double(batchSize) / (median / 1000),
                "gflops_per_s": flops / (median / 1000) / 1e9, "gflop_per_step": flops / 1e9,
                "peak_rss_mb": peakResidentMegabytes(), "arena_bytes": program.arenaBytes,
                "kernels": program.info.kernels.count,
                "onnxruntime_median_ms": reference.map { $0 as Any } ?? NSNull(),
                "slowest_kernels": slowest.prefix(top).map { ["kernel": $0.name, "ms": $0.seconds * 1000, "share": $0.share, "ops": $0.ops] },
            ]
            if format == "json" {
                let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                let shape = imageSide.map { "size \($0)x\($0)" } ?? "batch \(batchSize)"
                let rate = imageSide != nil ? String(format: "%.3g steps/s", 1000 / median)
                    : String(format: "%.0f images/s", Double(batchSize) / (median / 1000))
                print(String(format: "%@ %@ %@: median %.2f ms, min %.2f ms per step, %@, %.1f GFLOP/s (%.2f GFLOP/step)",
                             model, train ? "train" : "forward", shape, median, minimum, rate,
                             flops / (median / 1000) / 1e9, flops / 1e9))
                print(String(format: "compile: cold %.2f s, cached %.3f s | peak resident memory %.0f MB | arena %.1f MB | %d kernels",
                             cold.seconds, cached.seconds, peakResidentMegabytes(), Double(program.arenaBytes) / 1e6,
                             program.info.kernels.count))
                if let reference {
                    print(String(format: "onnxruntime (2 threads, same inputs): median %.2f ms per step; Sinter is %.2fx its speed", reference, reference / median))
                }
                print("slowest kernels (profiling build, ms per step):")
                for kernel in slowest.prefix(top) {
                    print(String(format: "  %-6@ %8.2f ms  %5.1f%%  %@", kernel.name, kernel.seconds * 1000, kernel.share * 100, kernel.ops))
                }
            }
        } catch {
            throw fail(error)
        }
    }

    /// Per-kernel time per step from a build with `SINTER_PROFILE` (Docs/abi.md), slowest first.
    private func profileKernels(_ graph: Graph, inputs: [String: HostTensor], weights: [String: HostTensor]?) throws
        -> [(name: String, seconds: Double, share: Double, ops: String)] {
        var options = CodegenOptions.fromEnvironment()
        options.profile = true
        let program = try emitC(graph, options: options)
        let executable = try Runtime.compile(program)
        try executable.initializeParameters(seed: 0)
        if let weights { try executable.loadPersistent(weights, requireAll: true) }
        typealias Profile = @convention(c) (UnsafeMutablePointer<UnsafePointer<Double>?>,
                                            UnsafeMutablePointer<UnsafePointer<UnsafePointer<CChar>?>?>) -> Int32
        typealias Reset = @convention(c) () -> Void
        guard let profileSymbol = executable.library.symbol("sinter_profile"),
              let resetSymbol = executable.library.symbol("sinter_profile_reset") else {
            throw SinterError.runtime(message: "the profiling build does not export sinter_profile")
        }
        _ = try executable.run(inputs)
        unsafeBitCast(resetSymbol, to: Reset.self)()
        let runs = max(3, min(steps, 10))
        for _ in 0..<runs { _ = try executable.run(inputs) }
        var seconds: UnsafePointer<Double>?
        var names: UnsafePointer<UnsafePointer<CChar>?>?
        let count = Int(unsafeBitCast(profileSymbol, to: Profile.self)(&seconds, &names))
        let opsByName = Dictionary(program.info.kernels.map { ($0.name, $0.ops.joined(separator: "+")) }, uniquingKeysWith: { a, _ in a })
        var result: [(name: String, seconds: Double, share: Double, ops: String)] = []
        var total = 0.0
        for i in 0..<count { total += seconds![i] }
        for i in 0..<count {
            let name = String(cString: names![i]!)
            result.append((name, seconds![i] / Double(runs), total > 0 ? seconds![i] / total : 0, opsByName[name] ?? ""))
        }
        return result.sorted { $0.seconds > $1.seconds }
    }
}

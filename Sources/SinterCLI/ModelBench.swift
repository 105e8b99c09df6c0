import Foundation
import Sinter
import SinterModels

/// `sinter bench MODEL`: compile every phase of one iteration (cold, then cached), warm up, and
/// time whole iterations on random data. A GAN's iteration is its discriminator phase, then its
/// generator phase, each handing its weights on to the next exactly as `Trainer` does, so the
/// time is that of a training step; other models have one phase (`train` or `forward`). An IR
/// file (a user's saved model) is one phase: `train` when it updates state, else `forward`.
struct ModelBench {
    /// As given on the command line (the report's "model").
    var model: String
    var argument: ModelArgument
    var train: Bool
    var batch: Int?
    var size: Int?
    var steps: Int
    var warmup: Int
    var top: Int
    var json: Bool
    /// An imported ONNX model (`sinter bench MODEL.onnx`): its graph and weights instead of a zoo model.
    var onnx: (graph: Graph, weights: [String: HostTensor])? = nil
    /// With `onnx`: also time onnxruntime on the same inputs (ONNXRuntimeTiming).
    var onnxruntime = false
    /// Tensors from `--inputs` and `--weights` (by name: inputs, params, state), used instead of
    /// random inputs and seeded initial values; `weightsGiven`: every persistent tensor must be there.
    var given: [String: HostTensor] = [:]
    var weightsGiven = false

    /// One compiled graph of the iteration, with its random inputs and its times.
    struct Phase {
        let name: String
        let graph: Graph
        let program: CProgram
        let executable: Executable
        let cold: CompileReport
        let inputs: [String: HostTensor]
        var flops: Double { Double(Cost.totalFlops(graph)) }
        var times = Timings()
    }

    /// The graphs of one iteration, by phase; the batch size and image side they were traced at.
    private func tracedPhases() throws -> (phases: [(name: String, graph: Graph)], batchSize: Int, imageSide: Int?) {
        switch argument {
        case .onnxFile:
            guard let onnx else { throw SinterError.runtime(message: "\(model): the ONNX model was not imported") }
            return ([("forward", onnx.graph)], 1, nil)
        case let .irFile(path):
            let graph = try ModelArgument.readIR(path, option: "MODEL")
            // The batch of a saved model is its first input's leading axis (what `Learner.saveGraph` traced).
            let batchSize = graph.inputs.first.flatMap { graph[$0].type.shape.first } ?? 1
            return ([(graph.effects.isEmpty ? "forward" : "train", graph)], batchSize, nil)
        case let .imageZoo(image):
            let side = size ?? image.defaultSize
            return ([(train ? "train" : "forward", try image.trace(side, train))], 1, side)
        case let .zoo(entry):
            let batchSize = batch ?? entry.defaultBatch
            let phases = entry.phases.isEmpty ? [(train ? "train" : "forward", try entry.trace(batchSize, train))]
                : try entry.phases.map { ($0.name, try $0.trace(batchSize, train)) }
            return (phases, batchSize, nil)
        }
    }

    /// Throws for a tensor of `--inputs`/`--weights` that no phase takes, as input or persistent.
    private func checkGivenNames(_ programs: [CProgram]) throws {
        let taken = Set(programs.flatMap { $0.inputs.map(\.name) + $0.persistent.map(\.name) })
        guard let unknown = given.keys.sorted().first(where: { !taken.contains($0) }) else { return }
        throw SinterError.runtime(message: "--inputs/--weights: \(model) has no input or persistent tensor '\(SinterError.excerpt(unknown))'"
            + NameSuggestions.hint(for: unknown, among: taken.sorted()) + "; it has: \(taken.sorted().prefix(20).joined(separator: ", "))"
            + (taken.count > 20 ? ", ..." : ""))
    }

    func run() throws {
        let (traced, batchSize, imageSide) = try tracedPhases()
        // A file's graph is a training step when it updates state; a zoo model's when asked.
        var training = train
        if case .irFile = argument { training = traced.contains { !$0.graph.effects.isEmpty } }
        let compileOptions = CompileOptions.fromEnvironment()
        let memoryLimit = try compileOptions.checkedMemoryLimit()
        try compileOptions.checkStrategies()
        var programs: [(name: String, graph: Graph, program: CProgram)] = []
        for (name, graph) in traced {
            let (optimized, _) = try optimizeGraph(graph, options: compileOptions)
            let program = try emitC(optimized, options: compileOptions.codegen)
            // Refuse a graph that cannot fit before the cold compiles below spend a minute on it.
            try MemoryGuard.check(program, limit: memoryLimit)
            programs.append((name, optimized, program))
        }
        try checkGivenNames(programs.map(\.program))

        // Cold: a fresh cache, so the C compiler runs. Cached: the same program again.
        let coldDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: coldDirectory) }
        var generator = SplitMix64(seed: 1)
        var phases: [Phase] = []
        for (name, graph, program) in programs {
            let cold = try KernelCache(directory: coldDirectory, environment: ProcessInfo.processInfo.environment).compile(program)
            let executable = try Runtime.compile(program, cache: try KernelCache(directory: coldDirectory, environment: ProcessInfo.processInfo.environment), memoryLimit: memoryLimit)
            // Initialisers depend only on a tensor's name, so phases sharing a weight agree.
            try executable.initializeParameters(seed: 0)
            if let weights = onnx?.weights { try executable.loadPersistent(weights, requireAll: true) }
            let persistentNames = Set(program.persistent.map(\.name))
            try executable.loadPersistent(given.filter { persistentNames.contains($0.key) }, requireAll: weightsGiven)
            var inputs: [String: HostTensor] = [:]
            for slot in program.inputs {
                let values = (0..<slot.type.count).map { _ in Double(generator.next() >> 11) / Double(1 << 53) }
                inputs[slot.name] = given[slot.name] ?? HostTensor(shape: slot.type.shape, doubles: values).converted(to: slot.type.dtype)
            }
            phases.append(Phase(name: name, graph: graph, program: program, executable: executable, cold: cold, inputs: inputs))
        }

        var newest: Executable?
        var iterations = Timings()
        for step in 0..<(warmup + steps) {
            var total = 0.0
            for index in phases.indices {
                let ms = try Self.runPhase(phases[index].executable, phases[index].inputs, after: &newest)
                total += ms
                if step >= warmup { phases[index].times.append(ms) }
            }
            if step >= warmup { iterations.append(total) }
        }
        let slowest = top == 0 ? [] : try profileKernels(phases)
        report(phases, iterations: iterations, slowest: slowest, batchSize: batchSize, imageSide: imageSide, training: training)
        if onnxruntime, let phase = phases.first {
            let reference = try ONNXRuntimeTiming.median(model: model, inputs: phase.inputs, steps: steps, warmup: warmup)
            if json {
                try? printJSONLine(["model": model, "onnxruntime_median_ms": reference, "sinter_median_ms": iterations.median])
            } else {
                print(String(format: "onnxruntime (2 threads, same inputs): median %.2f ms per step; Sinter is %.2fx its speed",
                             reference, reference / iterations.median))
            }
        }
    }

    /// Runs one phase as `Trainer.runStep` does: first take the newest weights from the phase
    /// before, then run. Returns the wall time of both, in milliseconds.
    private static func runPhase(_ executable: Executable, _ inputs: [String: HostTensor], after newest: inout Executable?) throws -> Double {
        let previous = newest
        let ms = try Timings.time {
            if let previous, previous !== executable { executable.copyPersistent(from: previous) }
            _ = try executable.run(inputs)
        }
        newest = executable
        return ms
    }

    private func report(_ phases: [Phase], iterations: Timings, slowest: [ProfiledKernel], batchSize: Int, imageSide: Int?, training train: Bool) {
        let median = iterations.median, minimum = iterations.minimum
        let flops = phases.map(\.flops).reduce(0, +)
        let cold = phases.map(\.cold.seconds).reduce(0, +)
        let cached = phases.map(\.executable.report.seconds).reduce(0, +)
        let arena = phases.map(\.program.arenaBytes).reduce(0, +)
        let kernels = phases.map(\.program.info.kernels.count).reduce(0, +)
        let threads = phases.first.map { openMPThreads($0.executable) } ?? 1
        if json {
            let stats = Dictionary(uniqueKeysWithValues: phases.map { phase -> (String, Any) in
                (phase.name, ["median_ms": phase.times.median, "min_ms": phase.times.minimum, "gflop_per_step": phase.flops / 1e9,
                              "kernels": phase.program.info.kernels.count, "arena_bytes": phase.program.arenaBytes,
                              "compile_cold_s": phase.cold.seconds] as [String: Any])
            })
            let record: [String: Any] = [
                "model": model, "train": train, "batch": batchSize, "size": imageSide.map { $0 as Any } ?? NSNull(), "steps": iterations.count,
                "phases": phases.map(\.name), "phase_stats": stats, "threads": threads,
                "compile_cold_s": cold, "compile_cached_s": cached, "cache_hit": phases.allSatisfy(\.executable.report.cacheHit),
                "median_ms": median, "min_ms": minimum,
                "images_per_s": Double(batchSize) / (median / 1000),
                "gflops_per_s": flops / (median / 1000) / 1e9, "gflop_per_step": flops / 1e9,
                "peak_rss_mb": peakResidentMegabytes(), "arena_bytes": arena, "kernels": kernels,
                "slowest_kernels": slowest.prefix(top).map { kernel -> [String: Any] in
                    ["kernel": kernel.name, "phase": kernel.phase, "ms": kernel.seconds * 1000, "share": kernel.share, "ops": kernel.ops]
                },
            ]
            try? printJSONLine(record)
            return
        }
        let shape = imageSide.map { "size \($0)x\($0)" } ?? "batch \(batchSize)"
        let rate = imageSide != nil ? String(format: "%.3g steps/s", 1000 / median)
            : String(format: "%.0f images/s", Double(batchSize) / (median / 1000))
        let unit = phases.count > 1 ? "iteration" : "step"
        let split = phases.count > 1
            ? " (" + phases.map { String(format: "%@ %.2f ms", $0.name, $0.times.median) }.joined(separator: " + ") + ", medians)" : ""
        print(String(format: "%@ %@ %@: median %.2f ms, min %.2f ms per %@%@, %@, %.1f GFLOP/s (%.2f GFLOP/%@)",
                     model, train ? "train" : "forward", shape, median, minimum, unit, split, rate,
                     flops / (median / 1000) / 1e9, flops / 1e9, unit))
        print(String(format: "compile: cold %.2f s, cached %.3f s | peak resident memory %.0f MB | arena %.1f MB | %d kernels | %d threads",
                     cold, cached, peakResidentMegabytes(), Double(arena) / 1e6, kernels, threads))
        guard top > 0 else { return }
        print("slowest kernels (profiling build, ms per \(unit)):")
        let listed = slowest.prefix(top).map { (phases.count > 1 ? "\($0.phase) \($0.name)" : $0.name, $0) }
        let width = max(6, listed.map(\.0.count).max() ?? 0)
        for (name, kernel) in listed {
            print(String(format: "  %@ %8.2f ms  %5.1f%%  %@", name.padding(toLength: width, withPad: " ", startingAt: 0),
                         kernel.seconds * 1000, kernel.share * 100, kernel.ops))
        }
    }

    struct ProfiledKernel {
        var phase: String
        var name: String
        /// Per iteration.
        var seconds: Double
        /// Of the iteration's kernel time.
        var share: Double
        var ops: String
    }

    /// Per-kernel time per iteration from profiling builds of every phase, run as iterations
    /// are, slowest first.
    private func profileKernels(_ phases: [Phase]) throws -> [ProfiledKernel] {
        let profilers = try phases.map { try KernelProfiler($0.graph) }
        // The timed build's state: imported or given weights, or the same seeded values.
        for (profiler, phase) in zip(profilers, phases) { _ = profiler.executable.copyPersistent(from: phase.executable) }
        var newest: Executable?
        for (profiler, phase) in zip(profilers, phases) { _ = try Self.runPhase(profiler.executable, phase.inputs, after: &newest) }
        for profiler in profilers { profiler.reset() }
        let runs = max(3, min(steps, 10))
        for _ in 0..<runs {
            for (profiler, phase) in zip(profilers, phases) { _ = try Self.runPhase(profiler.executable, phase.inputs, after: &newest) }
        }
        var result: [ProfiledKernel] = []
        for (profiler, phase) in zip(profilers, phases) {
            let opsByName = Dictionary(phase.program.info.kernels.map { ($0.name, $0.ops.joined(separator: "+")) }, uniquingKeysWith: { a, _ in a })
            for (name, seconds) in profiler.read() {
                result.append(ProfiledKernel(phase: phase.name, name: name, seconds: seconds / Double(runs), share: 0, ops: opsByName[name] ?? ""))
            }
        }
        let total = result.map(\.seconds).reduce(0, +)
        for index in result.indices { result[index].share = total > 0 ? result[index].seconds / total : 0 }
        return result.sorted { $0.seconds > $1.seconds }
    }
}

import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// `sinter bench <model|FILE.ir|MODEL.onnx>` (ModelBench.swift): one whole training iteration or
/// forward pass of a zoo model, every phase of it, or the graph of an IR file (a user's model
/// saved by `Learner.saveGraph`) or an ONNX model; `sinter bench --op matmul|conv2d`
/// (OpBench.swift): one op.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time a model's iteration (every phase) or forward graph, or one op, on random data.",
        discussion: """
            An IR file (FILE.ir) is timed as it is, on random inputs and seeded initial weights of its declared shapes \
            unless --inputs and --weights (safetensors, as `sinter run` reads) give them. A GAN's iteration is its discriminator phase, then its generator phase, as training runs them; the JSON \
            names the phases timed ("phases") and gives each one's times ("phase_stats"). --op times one op through \
            the normal compile path after checking its result against an f64 reference; without --shape it benches \
            the peer scripts' shapes (matmul 512, 1024, 2048; conv2d \(OpBenchmark.defaultShapes["conv2d"]![0])).
            """)

    @Argument(help: "Model name, an IR text file (.ir, e.g. written by Learner.saveGraph), or an ONNX model file (.onnx) (or use --op).")
    var model: String?
    @OptionGroup var shapeOptions: ONNXShapeOptions
    @Flag(help: "ONNX only: also time onnxruntime (python3 with the onnxruntime package, two threads) on the same inputs.")
    var onnxruntime = false
    @Flag(help: "Time the whole training step (default: the forward graph).") var train = false
    @Option(parsing: .unconditional, help: "Batch size (default: the model's).") var batch: Int?
    @Option(name: [.customLong("steps"), .customLong("iterations")], parsing: .unconditional,
            help: "Timed iterations (default: 20 for a model; for --op, the peer scripts' count for that much work).")
    var steps: Int?
    @Option(help: "safetensors file of inputs (by name) to time on instead of random ones; it may hold params and state too.")
    var inputs: String?
    @Option(help: "safetensors file of every param and state tensor (e.g. from Learner.saveGraph or `sinter import-onnx`), instead of seeded initial values.")
    var weights: String?
    @Option(parsing: .unconditional, help: "Untimed warm-up iterations.") var warmup: Int = 3
    @Option(help: "Output format: text or json.") var format: String = "text"
    @Option(parsing: .unconditional, help: "How many of the slowest kernels to list (timed in a separate profiling build; 0: none, and no profiling build).")
    var top: Int = 8
    @Option(parsing: .unconditional, help: "Image models (nst): the side of the square image (default: the notebook's 512).")
    var size: Int?
    @Option(help: "Time one op instead of a model: matmul or conv2d.") var op: String?
    @Option(help: "--op matmul: MxNxK (C[M,N] = A[M,K] B[K,N]); --op conv2d: NxHxWxC,KHxKWxCxO (input NHWC, kernel HWIO).")
    var shape: String?
    @Option(parsing: .unconditional, help: "--op conv2d: the stride of both spatial axes (default: 1).") var stride: Int?
    @Option(help: "--op conv2d: same or valid (TensorFlow's rule; default: same).") var padding: String?
    @Option(help: "--op conv2d: time a gradient of the convolution instead: input (conv2d_input_grad) or filter (conv2d_filter_grad).")
    var grad: String?
    @Option(parsing: .unconditional, help: "OpenMP threads of the compiled kernels (sets OMP_NUM_THREADS for this process; default: as the environment says).")
    var threads: Int?

    func validate() throws {
        try OptionChecks.check(steps, "--steps", in: 1...OptionChecks.maxSteps, "timed iterations")
        try OptionChecks.check(warmup, "--warmup", in: 0...OptionChecks.maxSteps, "untimed warm-up iterations")
        try OptionChecks.check(top, "--top", in: 0...Int.max, "how many kernels to list")
        try OptionChecks.oneOf(format, "--format", ["text", "json"])
        try OptionChecks.check(threads, "--threads", in: 1...1024, "OpenMP threads")
        if op != nil {
            if let model { throw ValidationError("give a model (\(model)) or --op, not both") }
            for (given, name) in [(train, "--train"), (batch != nil, "--batch"), (size != nil, "--size"), (inputs != nil, "--inputs"), (weights != nil, "--weights")] where given {
                throw ValidationError("\(name) applies to models, not --op")
            }
            try OptionChecks.check(stride, "--stride", in: 1...OpBenchmark.maxExtent, "the convolution's stride")
            try OptionChecks.oneOf(padding, "--padding", ["same", "valid"])
            try OptionChecks.oneOf(grad, "--grad", ConvBenchPass.allCases.filter { $0 != .forward }.map(\.rawValue))
            _ = try opBenchmarks()
            return
        }
        guard let model else { throw ValidationError("give a model name or --op (\(OpBenchmark.ops.joined(separator: " or ")))") }
        for (given, name) in [(shape, "--shape"), (stride.map(String.init), "--stride"), (padding, "--padding"), (grad, "--grad")] where given != nil {
            throw ValidationError("\(name) applies to --op, not to a model")
        }
        try OptionChecks.batch(batch)
        try OptionChecks.check(size, "--size", in: StylizeCommand.sizes, "the image side in pixels")
        // An unknown name is refused by run(), with the list of models.
        let argument = try? ModelArgument(model)
        if case .onnxFile = argument {
            if train || batch != nil || size != nil { throw ValidationError("an ONNX model runs forward at its own shapes: use --input-shape, not --train, --batch or --size") }
            return
        }
        if !shapeOptions.inputShape.isEmpty || onnxruntime {
            throw ValidationError("--input-shape and --onnxruntime apply to ONNX models (MODEL.onnx)")
        }
        switch argument {
        case .irFile:
            if train || batch != nil || size != nil {
                throw ValidationError("an IR file runs as saved, at its own shapes: not --train, --batch or --size (save the graph you want to time, e.g. Learner.saveGraph(to:, train: true))")
            }
        case .imageZoo:
            if batch != nil && batch != 1 { throw ValidationError("\(model) optimises one image: --batch must be 1 (use --size)") }
        default:
            if size != nil { throw ValidationError("--size applies to image models (\(ImageZoo.entries.map(\.name).joined(separator: ", "))), not \(model); use --batch") }
        }
    }

    /// The op benchmarks `--op` asks for: `--shape`, or the peers' shapes.
    func opBenchmarks() throws -> [OpBenchmark] {
        guard let op else { return [] }
        guard OpBenchmark.ops.contains(op) else {
            throw ValidationError("--op must be \(OpBenchmark.ops.joined(separator: " or ")); got '\(SinterError.excerpt(op, limit: 40))'")
        }
        if op != "conv2d" {
            for (given, name) in [(stride != nil, "--stride"), (padding != nil, "--padding"), (grad != nil, "--grad")] where given {
                throw ValidationError("\(name) applies to --op conv2d, not \(op)")
            }
        }
        let pass = grad.flatMap(ConvBenchPass.init(rawValue:)) ?? .forward
        let paddingMode = padding.flatMap(Padding.init(rawValue:)) ?? .same
        do {
            return try (shape.map { [$0] } ?? OpBenchmark.defaultShapes[op] ?? []).map {
                try OpBenchmark.parse(op: op, shape: $0, stride: stride ?? 1, padding: paddingMode, grad: pass)
            }
        } catch let SinterError.runtime(message) {
            throw ValidationError(message)
        }
    }

    func run() throws {
        do {
            // libgomp reads OMP_NUM_THREADS once, when the first kernel library loads it: set it
            // before anything is compiled or loaded. (Only the CLI reads or sets the environment.)
            if let threads { setenv("OMP_NUM_THREADS", String(threads), 1) }
            if let model {
                let argument = try ModelArgument(model)
                var bench = ModelBench(model: model, argument: argument, train: train, batch: batch, size: size, steps: steps ?? 20,
                                       warmup: warmup, top: top, json: format == "json")
                if case .onnxFile = argument {
                    let imported = try ONNXModelFile.load(model, shapes: shapeOptions.shapes)
                    bench.onnx = (imported.graph, imported.weights)
                    bench.onnxruntime = onnxruntime
                }
                if let inputs {
                    try PathChecks.inputFile(inputs, option: "--inputs", expected: "a safetensors file")
                    bench.given = try Safetensors.read(path: inputs)
                }
                if let weights {
                    try PathChecks.inputFile(weights, option: "--weights", expected: "a safetensors file")
                    bench.given.merge(try Safetensors.read(path: weights)) { input, _ in input }
                    bench.weightsGiven = true
                }
                try bench.run()
            } else {
                for benchmark in try opBenchmarks() {
                    try OpBench(benchmark: benchmark, steps: steps, warmup: warmup, json: format == "json").run()
                }
            }
        } catch {
            throw fail(error)
        }
    }
}

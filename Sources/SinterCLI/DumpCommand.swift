import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// `sinter dump <model|FILE.ir|MODEL.onnx>`: everything the compiler did to a model from Graphs/,
/// an IR text file (a user's model saved by `Learner.saveGraph`, or any `sinter dump` output) or
/// an ONNX file (imported, with its node names as locations) — the IR as traced
/// or after any pass (text, dot or json), the execution plan (`--after plan`), the kernels fusion
/// made, the memory plan (table and SVG), the generated C, or a one-object summary. Pass reports
/// go to stderr.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Show what the compiler did to a model from Graphs/, an IR text file or an ONNX file.",
        discussion: "Models: \(Zoo.entries.map(\.name).joined(separator: ", ")). Passes: \(PassPipeline().names.joined(separator: ", ")); "
            + "'--after plan' prints the execution plan (kernels, strategies, arena offsets; SINTER_STRATEGY=kind:strategy,... forces strategies).")

    @Argument(help: "Model name, an IR text file (.ir, e.g. written by Learner.saveGraph), or an ONNX model file (.onnx).") var model: String
    @OptionGroup var shapeOptions: ONNXShapeOptions
    @Flag(help: "The whole training step: forward, gradients, optimizer updates.") var train = false
    @Option(parsing: .unconditional, help: "Batch size (default: the model's).") var batch: Int?
    @Option(help: "GAN phase: discriminator or generator (default: generator).") var phase: String?
    @Option(help: "The graph after this pass, 'all' for after every pass, or 'plan' for the execution plan (default: as traced).") var after: String?
    @Option(help: "Graph format: text (IR), dot (Graphviz) or json; with --summary: text or json.") var format: String = "text"
    @Flag(help: "The kernels after fusion: ops fused, FLOPs, bytes moved, source lines.") var kernels = false
    @Flag(help: "The memory plan as a table; the picture goes to --svg.") var memory = false
    @Option(help: "Where --memory writes its SVG picture (default: <model>-memory.svg; for a file, beside it).") var svg: String?
    @Flag(name: .customLong("emit-c"), help: "The generated C.") var emitC = false
    @Flag(help: "Headline numbers: ops, kernels, naive/lower-bound/arena bytes.") var summary = false

    func validate() throws {
        try OptionChecks.batch(batch)
        try OptionChecks.oneOf(format, "--format", ["text", "dot", "json"])
        try OptionChecks.oneOf(phase, "--phase", ["discriminator", "generator"])
    }

    func render(_ graph: Graph) throws -> String {
        switch format {
        case "text": return graph.text
        case "dot": return graphDOT(graph)
        case "json": return graphJSON(graph)
        default: throw SinterError.runtime(message: "unknown format '\(format)'; use text, dot or json")
        }
    }

    /// The model's graph: traced from Graphs/, read from an IR text file, or imported from an ONNX file.
    func graph(_ argument: ModelArgument) throws -> Graph {
        let entry: ZooEntry
        switch argument {
        case let .zoo(zooEntry): entry = zooEntry
        case let .imageZoo(image):
            throw SinterError.runtime(message: "\(image.name) is traced at an image size, not a batch: time it with `sinter bench \(image.name) --size N`; dump takes the models \(Zoo.entries.map(\.name).joined(separator: ", ")), FILE.ir or FILE.onnx")
        case let .irFile(path), let .onnxFile(path):
            guard !train, batch == nil, phase == nil else {
                throw SinterError.runtime(message: "--train, --batch and --phase apply to models from Graphs/, not to a file (\(SinterError.excerpt(path, limit: 80))): its graph and shapes are its own"
                    + (argument.isONNX ? " (see --input-shape)" : "; save the training step with Learner.saveGraph(to:, train: true)"))
            }
            if argument.isONNX { return try ONNXModelFile.load(path, shapes: shapeOptions.shapes).graph }
            guard shapeOptions.inputShape.isEmpty else { throw SinterError.runtime(message: "--input-shape applies to ONNX models only") }
            return try ModelArgument.readIR(path, option: "MODEL")
        }
        guard shapeOptions.inputShape.isEmpty else { throw SinterError.runtime(message: "--input-shape applies to ONNX models only") }
        var trace = entry.trace
        if let phase {
            guard let found = entry.phases.first(where: { $0.name == phase }) else {
                throw SinterError.runtime(message: "\(model) has no phase '\(phase)'"
                    + (entry.phases.isEmpty ? "" : "; phases: \(entry.phases.map(\.name).joined(separator: ", "))"))
            }
            trace = found.trace
        }
        let traced = try trace(batch ?? entry.defaultBatch, train)
        try traced.verify()
        return traced
    }

    func run() throws {
        do {
            let argument = try ModelArgument(model)
            let svgPath = svg ?? "\(argument.stem)-memory.svg"
            if memory { try PathChecks.outputFile(svgPath, option: "--svg") }
            let traced = try graph(argument)
            let passNames = PassPipeline().names
            if let after, after != "all", after != "plan", !passNames.contains(after) {
                throw SinterError.runtime(message: "unknown pass '\(SinterError.excerpt(after, limit: 40))'; passes: \(passNames.joined(separator: ", ")), all, plan")
            }
            if after == "plan" && format != "text" {
                throw SinterError.runtime(message: "--after plan prints text only, not --format \(format)")
            }
            let wantsProgram = kernels || memory || emitC || summary || after != nil
            guard wantsProgram else {
                print(try render(traced), terminator: "")
                return
            }
            let compilation = try compileProgram(traced, options: .fromEnvironment())
            for line in compilation.reportLines { FileHandle.standardError.write("\(line)\n".data(using: .utf8)!) }
            if after == "plan" {
                print(compilation.plan.text, terminator: "")
            } else if let after {
                for stage in compilation.stages where after == "all" || stage.report.pass == after {
                    if format == "text" { print("# after \(stage.report.pass): \(stage.report.line)") }
                    print(try render(stage.graph), terminator: "")
                }
            }
            if kernels { print(compilation.kernelsText, terminator: "") }
            if memory {
                print(memoryTable(compilation.program.info.memory, top: 12), terminator: "")
                try memorySVG(compilation.program.info.memory).write(toFile: svgPath, atomically: true, encoding: .utf8)
                FileHandle.standardError.write("wrote \(svgPath)\n".data(using: .utf8)!)
            }
            if emitC { print(compilation.program.source, terminator: "") }
            if summary {
                if format == "json" { print(compilation.summaryJSON, terminator: "") } else {
                    print(compilation.reportLines.joined(separator: "\n"))
                }
            }
        } catch {
            throw fail(error)
        }
    }
}

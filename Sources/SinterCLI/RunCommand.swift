import ArgumentParser
import Foundation
import Sinter

/// `sinter run <file.ir|model.onnx> --inputs FILE --out FILE [--weights FILE] [--cotangents FILE]`:
/// compile and run any IR text file or ONNX model, like XLA's run-HLO tool. Inputs, params and
/// state are read from --inputs (and --weights) by name; an ONNX model brings its own weights, and
/// takes its input shapes from the tensors given. With --cotangents (tensors `d<output>`) also
/// writes `grad.<name>` for every input and param.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Compile and run an IR text file or an ONNX model on safetensors inputs.")

    @Argument(help: "IR text file (as printed by `sinter dump`), or an ONNX model (.onnx).") var file: String
    @Option(help: "safetensors file with every input, param and state tensor, by name.") var inputs: String
    @Option(help: "safetensors file of params and state (e.g. written by `sinter import-onnx`), merged with --inputs.") var weights: String?
    @Option(help: "safetensors file to write the outputs to.") var out: String
    @Option(help: "safetensors file with a cotangent `d<output>` per output: also write `grad.<name>` for each input and param.")
    var cotangents: String?
    @OptionGroup var checks: CheckOptions

    func run() throws {
        do {
            let argument = try ModelArgument(file, zoo: false)
            // An IR file is read (and its errors reported) before the tensor files are.
            var parsed: Graph?
            if case .irFile = argument { parsed = try ModelArgument.readIR(file) }
            try PathChecks.inputFile(inputs, option: "--inputs", expected: "a safetensors file")
            if let weights { try PathChecks.inputFile(weights, option: "--weights", expected: "a safetensors file") }
            if let cotangents { try PathChecks.inputFile(cotangents, option: "--cotangents", expected: "a safetensors file") }
            try PathChecks.outputFile(out, option: "--out")
            checks.apply()
            var feeds = try Safetensors.read(path: inputs)
            warnNonFinite(feeds, source: inputs)
            if let weights { feeds.merge(try Safetensors.read(path: weights)) { given, _ in given } }
            var graph: Graph
            if let parsed {
                graph = parsed
            } else {
                let imported = try ONNXModelFile.load(file, feeds: feeds)
                graph = imported.graph
                feeds.merge(imported.weights) { given, _ in given }
                // Frozen into the graph as constants: no longer inputs.
                feeds = feeds.filter { !imported.frozenInputs.contains($0.key) }
            }
            if let cotangents {
                let (withGradients, cotangentFeeds) = try addVJP(to: graph, cotangentFile: cotangents)
                graph = withGradients
                feeds.merge(cotangentFeeds) { old, _ in old }
            }
            try graph.verify()
            let executable = try compileGraph(graph)
            let report = executable.report
            FileHandle.standardError.write(String(format: "sinter: %@ in %.2f s (%@)\n",
                                                  report.cacheHit ? "cache hit" : "compiled", report.seconds,
                                                  report.directory).data(using: .utf8)!)
            try executable.loadPersistent(feeds, requireAll: true)
            // The file holds params and state too (loaded above); every other name must be an input.
            let persistent = Set(executable.program.persistent.map(\.name))
            let results = try executable.run(feeds.filter { !persistent.contains($0.key) })
            try Safetensors.write(results, to: out)
            FileHandle.standardError.write("sinter: wrote \(results.count) tensors to \(out)\n".data(using: .utf8)!)
        } catch {
            throw fail(error)
        }
    }

    /// Adds an input `d<output>` per output and the outputs `grad.<name>` for every float input and param.
    private func addVJP(to graph: Graph, cotangentFile: String) throws -> (Graph, [String: HostTensor]) {
        let cotangentTensors = try Safetensors.read(path: cotangentFile)
        // Differentiate with respect to every float input and every param, chosen before the
        // cotangent inputs are added.
        let wrt = graph.nodes.indices.filter {
            (graph[$0].op == .input || graph[$0].op == .param) && graph[$0].type.dtype.isFloat
        }
        var pairs: [(node: Int, cotangent: Int)] = []
        for (name, node) in graph.outputs {
            guard cotangentTensors["d\(name)"] != nil else {
                throw SinterError.file(path: cotangentFile, message: "has no cotangent 'd\(name)' for output '\(name)'")
            }
            let location = graph[node].location
            let cotangent = try graph.add(.input, [], Attributes(["name": .string("d\(name)")]), type: graph[node].type, at: location)
            pairs.append((node, cotangent))
        }
        let grads = try vjp(in: graph, outputs: pairs, wrt: wrt)
        for (source, grad) in zip(wrt, grads) { try graph.addOutput("grad.\(graph[source].sourceName ?? "%\(source)")", grad) }
        return (graph, cotangentTensors)
    }
}

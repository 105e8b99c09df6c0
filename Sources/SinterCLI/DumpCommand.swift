import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// `sinter dump <model> [--train] [--after PASS|all] [--emit-c]`: the IR of a model from Graphs/
/// as traced, or after any pass, or the generated C. Pass reports go to stderr.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print the IR of a model from Graphs/ (forward graph, or the whole training step).",
        discussion: "Models: \(Zoo.entries.map(\.name).joined(separator: ", ")). Passes: \(PassPipeline().names.joined(separator: ", ")).")

    @Argument(help: "Model name.") var model: String
    @Flag(help: "Dump the whole training step: forward, gradients, optimizer updates.") var train = false
    @Option(help: "Batch size (default: the model's).") var batch: Int?
    @Option(help: "Print the graph after this pass (or 'all' for after every pass); default: as traced.")
    var after: String?
    @Flag(name: .customLong("emit-c"), help: "Print the generated C instead of the IR.") var emitC = false

    func run() throws {
        do {
            let entry = try Zoo.entry(named: model)
            let traced = try entry.trace(batch ?? entry.defaultBatch, train)
            try traced.verify()
            var options = CompileOptions.fromEnvironment()
            let passNames = PassPipeline().names
            if let after, after != "all", !passNames.contains(after) {
                throw SinterError.runtime(message: "unknown pass '\(after)'; passes: \(passNames.joined(separator: ", ")), all")
            }
            var printed = false
            options.afterPass = { report, graph in
                FileHandle.standardError.write("\(report.line)\n".data(using: .utf8)!)
                if !emitC, after == "all" || after == report.pass {
                    print("# after \(report.pass): \(report.line)")
                    print(graph.text, terminator: "")
                    printed = true
                }
            }
            if after == nil && !emitC {
                print(traced.text, terminator: "")
                return
            }
            let (optimized, _) = try optimizeGraph(traced, options: options)
            if emitC { print(try SinterCodegen.emitC(optimized).source, terminator: "") }
            _ = printed
        } catch {
            throw fail(error)
        }
    }
}

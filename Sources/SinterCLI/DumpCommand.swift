import ArgumentParser
import Sinter
import SinterModels

/// `sinter dump <model> [--train]`: the IR text of a model from Graphs/.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print the IR of a model from Graphs/ (forward graph, or the whole training step).",
        discussion: "Models: \(Zoo.entries.map(\.name).joined(separator: ", "))")

    @Argument(help: "Model name.") var model: String
    @Flag(help: "Dump the whole training step: forward, gradients, optimizer updates.") var train = false
    @Option(help: "Batch size (default: the model's).") var batch: Int?
    @Flag(name: .customLong("emit-c"), help: "Print the generated C instead of the IR.") var emitC = false

    func run() throws {
        do {
            let entry = try Zoo.entry(named: model)
            let graph = try entry.trace(batch ?? entry.defaultBatch, train)
            try graph.verify()
            print(emitC ? try SinterCodegen.emitC(graph).source : graph.text, terminator: "")
        } catch {
            throw fail(error)
        }
    }
}

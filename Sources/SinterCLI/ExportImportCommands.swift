import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// Every graph of a zoo model (all GAN phases), for mapping weights by how they are used.
func modelGraphs(_ model: String) throws -> [Graph] {
    let entry = try Zoo.entry(named: model)
    if entry.phases.isEmpty { return [try entry.trace(entry.defaultBatch, true)] }
    return try entry.phases.map { try $0.trace(entry.defaultBatch, true) }
}

/// Model weights only: no optimizer slots, counters or trainer state.
func isModelWeight(_ name: String) -> Bool {
    !(name.hasPrefix("opt") || name.hasPrefix("trainer.") || name == "rng.counter")
}

/// `sinter export`: a checkpoint's weights (and BN statistics) as safetensors, in Keras or
/// PyTorch names and layouts.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write a checkpoint's weights as safetensors.")

    @Argument(help: "Model name.") var model: String
    @Option(help: "Checkpoint written by `sinter train`.") var checkpoint: String
    @Option(help: "safetensors file to write.") var out: String
    @Option(help: "keras (Sinter's own names and layouts) or torch (OIHW, Linear (out,in), ConvTranspose2d (in,out,kh,kw)).")
    var layout: String = "keras"

    func validate() throws {
        try OptionChecks.oneOf(layout, "--layout", ["keras", "torch"])
    }

    func run() throws {
        do {
            try PathChecks.inputFile(checkpoint, option: "--checkpoint", expected: "a checkpoint written by `sinter train` or `sinter import`")
            try PathChecks.outputFile(out, option: "--out")
            let saved = try Checkpoint.read(path: checkpoint)
            try saved.checkModel(model, path: checkpoint)
            // Every weight of the model, of the model's dtype and shape, before any layout change.
            for graph in try modelGraphs(model) {
                let slots = graph.persistent.compactMap { id -> CProgram.Slot? in
                    guard let name = graph[id].sourceName, isModelWeight(name) else { return nil }
                    return CProgram.Slot(name: name, type: graph[id].type)
                }
                try saved.validate(slots: slots, path: checkpoint)
            }
            var weights = saved.tensors.filter { isModelWeight($0.key) }
            switch layout {
            case "keras": break
            case "torch":
                var converted: [String: HostTensor] = [:]
                for graph in try modelGraphs(model) {
                    let names = Set(graph.persistent.compactMap { graph[$0].sourceName })
                    converted.merge(TorchLayout.export(weights.filter { names.contains($0.key) }, graph: graph)) { first, _ in first }
                }
                weights = converted
            default: throw SinterError.runtime(message: "unknown layout '\(layout)'; use keras or torch")
            }
            try Safetensors.write(weights, to: out, metadata: ["model": model, "layout": layout, "step": String(saved.step)])
            print("wrote \(weights.count) tensors to \(out)")
        } catch {
            throw fail(error)
        }
    }
}

/// `sinter import`: safetensors weights (Keras or PyTorch layout) into a checkpoint that
/// `sinter train --resume` and `sinter sample` read; optimizer state starts at zero.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Turn safetensors weights into a checkpoint.")

    @Argument(help: "Model name.") var model: String
    @Option(help: "safetensors file with the weights.") var weights: String
    @Option(help: "Checkpoint file to write.") var out: String
    @Option(help: "keras or torch (see `sinter export`).") var layout: String = "keras"

    func validate() throws {
        try OptionChecks.oneOf(layout, "--layout", ["keras", "torch"])
    }

    func run() throws {
        do {
            try PathChecks.inputFile(weights, option: "--weights", expected: "a safetensors file")
            try PathChecks.outputFile(out, option: "--out")
            // Weights only: counters and optimizer slots start at zero whatever the file holds.
            let given = try Safetensors.read(path: weights).filter { isModelWeight($0.key) }
            warnNonFinite(given, source: weights)
            var persistent: [String: HostTensor] = [:]
            for graph in try modelGraphs(model) {
                let executable = try compileGraph(graph)
                try executable.initializeParameters(seed: 0)
                let mapped: [String: HostTensor]
                switch layout {
                case "keras":
                    for id in graph.persistent {
                        guard let name = graph[id].sourceName, isModelWeight(name) else { continue }
                        guard given[name] != nil else {
                            throw SinterError.file(path: weights, message: "has no tensor '\(name)' \(graph[id].type)")
                        }
                    }
                    mapped = given
                case "torch": mapped = try TorchLayout.import(given, graph: graph, path: weights)
                default: throw SinterError.runtime(message: "unknown layout '\(layout)'; use keras or torch")
                }
                try executable.loadPersistent(mapped, requireAll: false)
                persistent.merge(executable.persistentSnapshot()) { first, _ in first }
            }
            try Checkpoint(model: model, step: 0, tensors: persistent, metadata: ["imported_from": weights]).write(to: out)
            print("wrote \(out) (\(persistent.count) tensors)")
        } catch {
            throw fail(error)
        }
    }
}

import ArgumentParser
import Foundation
import Sinter

/// An ONNX model named on the command line (`sinter run|dump|import-onnx MODEL.onnx`): read,
/// imported with static shapes, its node names as the IR's locations.
enum ONNXModelFile {
    /// `--input-shape name=1,3,256,256` values, by input name.
    static func shapes(_ specs: [String]) throws -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        for spec in specs {
            guard let equals = spec.lastIndex(of: "=") else {
                throw SinterError.runtime(message: "--input-shape '\(spec)': expected NAME=D0,D1,... (e.g. image=1,3,256,256)")
            }
            let dims = spec[spec.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !dims.isEmpty, dims.allSatisfy({ $0 != nil && $0! > 0 && $0! <= 1 << 20 }) else {
                throw SinterError.runtime(message: "--input-shape '\(spec)': the sizes must be positive integers up to 2^20")
            }
            shapes[String(spec[..<equals])] = dims.map { $0! }
        }
        return shapes
    }

    /// Imports `path`; shapes for symbolic dimensions come from `shapes`, and for any input
    /// named in `feeds`, from the tensor given (so `sinter run` needs no --input-shape). An
    /// integer input given in `feeds` (a shape, index or axes tensor) is frozen: its values are
    /// folded into the graph as constants, as static shapes need.
    static func load(_ path: String, shapes: [String: [Int]] = [:], feeds: [String: HostTensor] = [:]) throws -> ONNXImport {
        try PathChecks.inputFile(path, option: "MODEL", expected: "an ONNX model")
        let model = try ONNXProtoDecoder.readModel(path: path)
        var options = ONNXImportOptions(inputShapes: shapes)
        // Only where the model leaves a size open: a fixed size that differs is the feed's error.
        for input in model.graph.inputs where options.inputShapes[input.name] == nil {
            let open = input.shape.map { $0.contains { $0.value == nil || $0.symbol != nil } } ?? true
            if open, let given = feeds[input.name] { options.inputShapes[input.name] = given.shape }
        }
        for input in model.graph.inputs {
            guard let code = input.elementType, let type = ONNXElementType(rawValue: Int(code)), type.isInteger,
                  let given = feeds[input.name] else { continue }
            options.frozenInputs[input.name] = ONNXConstant(type: type, shape: given.shape, values: given.doubles)
        }
        let imported = try ONNXImporter(model: model, path: path, options: options).run()
        try imported.graph.verify()
        return imported
    }
}

/// `--input-shape NAME=D0,D1,...` (repeatable), shared by the commands that import an ONNX file.
struct ONNXShapeOptions: ParsableArguments {
    @Option(help: "ONNX only: NAME=D0,D1,... the shape of an input with symbolic dimensions (repeatable).") var inputShape: [String] = []

    var shapes: [String: [Int]] { get throws { try ONNXModelFile.shapes(inputShape) } }
}

/// `sinter import-onnx MODEL.onnx --out MODEL.ir [--weights W.safetensors]`: the imported IR as
/// text, and the initializers (in the layouts the IR reads them) as safetensors beside it, so
/// `sinter run MODEL.ir --weights W.safetensors --inputs ...` runs it.
struct ImportONNXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-onnx", abstract: "Import an ONNX model as IR text plus a safetensors file of its weights.")

    @Argument(help: "ONNX model file (.onnx).") var model: String
    @Option(help: "Where to write the IR text.") var out: String
    @Option(help: "Where to write the weights (default: the --out path with .safetensors).") var weights: String?
    @OptionGroup var shapeOptions: ONNXShapeOptions

    func run() throws {
        do {
            let weightsPath = weights ?? (out.hasSuffix(".ir") ? String(out.dropLast(3)) : out) + ".safetensors"
            try PathChecks.outputFile(out, option: "--out")
            try PathChecks.outputFile(weightsPath, option: "--weights")
            let imported = try ONNXModelFile.load(model, shapes: shapeOptions.shapes)
            try AtomicFile.write(Array(imported.graph.text.utf8), to: out)
            try Safetensors.write(imported.weights, to: weightsPath)
            FileHandle.standardError.write("sinter: \(model): opset \(imported.opset), \(imported.graph.nodes.count) IR nodes, \(imported.weights.count) weight tensors; wrote \(out) and \(weightsPath)\n".data(using: .utf8)!)
        } catch {
            throw fail(error)
        }
    }
}

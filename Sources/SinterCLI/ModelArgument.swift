import Foundation
import Sinter
import SinterModels

/// What the model argument of `sinter dump|bench MODEL` or `sinter run FILE` names, decided here
/// and nowhere else, by its form: `*.onnx` is an ONNX model, `*.ir` IR text (as `sinter dump`,
/// `sinter import-onnx` or `Learner.saveGraph` write it), a zoo name that model from Graphs/, and
/// any other existing file IR text (what `sinter run` always read). Anything else is refused with
/// the zoo's names and the file kinds accepted.
enum ModelArgument {
    case zoo(ZooEntry)
    /// A zoo model traced at an image size rather than a batch (`nst`): `sinter bench --size`.
    case imageZoo(ImageZooEntry)
    case irFile(String)
    case onnxFile(String)

    /// `zoo: false` (`sinter run`): files only, so a file called like a zoo model is still read.
    init(_ argument: String, zoo: Bool = true) throws {
        let lowered = argument.lowercased()
        if lowered.hasSuffix(".onnx") {
            self = .onnxFile(argument)
        } else if lowered.hasSuffix(".ir") || !zoo {
            self = .irFile(argument)
        } else if let entry = Zoo.entries.first(where: { $0.name == argument }) {
            self = .zoo(entry)
        } else if let entry = ImageZoo.entry(named: argument) {
            self = .imageZoo(entry)
        } else if case .regularFile = PathChecks.kind(argument) {
            self = .irFile(argument)
        } else {
            throw SinterError.runtime(message: "unknown model '\(SinterError.excerpt(argument, limit: 80))'; "
                + "known models: \((Zoo.entries.map(\.name) + ImageZoo.entries.map(\.name)).joined(separator: ", ")); "
                + "or give a file: IR text (FILE.ir, as written by `sinter dump`, `sinter import-onnx` or Learner.saveGraph) or an ONNX model (FILE.onnx)")
        }
    }

    var isONNX: Bool {
        if case .onnxFile = self { return true }
        return false
    }

    /// What default output names start with: the model's name, or the file's path without its
    /// extension (so `dir/step.ir` gives `dir/step-memory.svg`).
    var stem: String {
        switch self {
        case let .zoo(entry): return entry.name
        case let .imageZoo(entry): return entry.name
        case let .irFile(path), let .onnxFile(path): return (path as NSString).deletingPathExtension
        }
    }

    /// An IR text file, parsed (errors name the file and line) and verified.
    static func readIR(_ path: String, option: String = "FILE") throws -> Graph {
        let text = try PathChecks.readText(path, option: option, expected: "an IR text file")
        let graph = try parseIR(text, file: path)
        try graph.verify()
        return graph
    }
}

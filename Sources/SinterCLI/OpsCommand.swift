import ArgumentParser
import Sinter

/// `sinter ops`: every IR op with its gradient status; `sinter ops --onnx`: the ONNX operators the
/// importer maps (Docs/onnx.md).
struct OpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ops", abstract: "List every IR op and whether it has a gradient.")

    @Flag(help: "List the ONNX operators `sinter run|dump|import-onnx MODEL.onnx` imports instead.") var onnx = false

    func run() throws {
        if onnx {
            print(ONNXOperators.supported.joined(separator: "\n"))
            return
        }
        let width = Op.allCases.map(\.rawValue.count).max() ?? 10
        print("op".padding(toLength: width, withPad: " ", startingAt: 0) + "  gradient  description")
        for op in Op.allCases {
            let name = op.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
            let status = gradientStatus(of: op).padding(toLength: 8, withPad: " ", startingAt: 0)
            print("\(name)  \(status)  \(op.summary)")
        }
    }
}

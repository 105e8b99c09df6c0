import ArgumentParser
import Sinter

/// `sinter ops`: every IR op with its gradient status.
struct OpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ops", abstract: "List every IR op and whether it has a gradient.")

    func run() throws {
        let width = Op.allCases.map(\.rawValue.count).max() ?? 10
        print("op".padding(toLength: width, withPad: " ", startingAt: 0) + "  gradient  description")
        for op in Op.allCases {
            let name = op.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
            let status = gradientStatus(of: op).padding(toLength: 8, withPad: " ", startingAt: 0)
            print("\(name)  \(status)  \(op.summary)")
        }
    }
}

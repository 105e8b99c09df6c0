import ArgumentParser
import Foundation

@main
struct SinterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sinter",
        abstract: "Sinter: a deep-learning compiler (Swift DSL -> static graph -> C -> dlopen).",
        subcommands: [OpsCommand.self, DumpCommand.self, RunCommand.self, ImportONNXCommand.self, TrainCommand.self, EvalCommand.self, BenchCommand.self,
                      ExportCommand.self, ImportCommand.self, ConvertWeightsCommand.self, SampleCommand.self, StylizeCommand.self]
    )
}

/// Prints a Sinter error the way a compiler does (`file:line: error: ...`), a Foundation error
/// as one line with its path (see `oneLineDescription`), and exits non-zero.
func fail(_ error: Error) -> ExitCode {
    FileHandle.standardError.write("sinter: \(oneLineDescription(error))\n".data(using: .utf8)!)
    return ExitCode.failure
}

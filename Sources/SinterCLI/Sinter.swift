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

    static func main() {
        OpenMPDefaults.apply()
        Self.main(Array(CommandLine.arguments.dropFirst()))
    }
}

/// The OpenMP wait policy of every `sinter` command: passive (a worker sleeps as soon as a
/// parallel loop ends) unless the environment already says how workers wait
/// (`OMP_WAIT_POLICY`, or libgomp's `GOMP_SPINCOUNT`). libgomp's default lets idle workers spin
/// for a long while after each loop; on a machine whose cores other jobs need, a spinning or
/// preempted worker made the zoo's small-kernel models 20-60x slower and big convolution models
/// 1.5-2x slower (Docs/performance.md, "Threads and the OpenMP wait policy"). libgomp reads the
/// variable once, when the first kernel library loads it, so it is set before anything runs.
/// Only the CLI sets it: a program using the library directly keeps its own environment.
enum OpenMPDefaults {
    static let waitPolicy = "passive"

    static func apply(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard environment["OMP_WAIT_POLICY"] == nil, environment["GOMP_SPINCOUNT"] == nil else { return }
        setenv("OMP_WAIT_POLICY", waitPolicy, 0)
    }
}

/// Prints a Sinter error the way a compiler does (`file:line: error: ...`), a Foundation error
/// as one line with its path (see `oneLineDescription`), and exits non-zero.
func fail(_ error: Error) -> ExitCode {
    FileHandle.standardError.write("sinter: \(oneLineDescription(error))\n".data(using: .utf8)!)
    return ExitCode.failure
}

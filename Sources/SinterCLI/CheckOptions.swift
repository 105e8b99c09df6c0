import ArgumentParser
import Foundation
import Sinter

/// `--check-numerics` / `--check-bounds`: the checking builds (Docs/reliability.md), for every
/// graph the command compiles.
struct CheckOptions: ParsableArguments {
    @Flag(name: .customLong("check-numerics"),
          help: "Compile a checking build that stops at the first op producing NaN or Inf and names it with its source line (also SINTER_CHECK_NUMERICS=1).")
    var checkNumerics = false
    @Flag(name: .customLong("check-bounds"),
          help: "Compile a checking build with guard zones around every buffer, verified after each kernel (also SINTER_CHECK_BOUNDS=1).")
    var checkBounds = false

    /// Switches the builds on for this process. Every compile (also the trainer's and the step
    /// families') takes its options from `CompileOptions.fromEnvironment`, so setting the variables
    /// here reaches all of them without threading a parameter through each.
    func apply() {
        if checkNumerics { setenv("SINTER_CHECK_NUMERICS", "1", 1) }
        if checkBounds { setenv("SINTER_CHECK_BOUNDS", "1", 1) }
    }
}

/// Prints a warning line per loaded tensor that holds NaN or Inf (`source` is the file it came from).
/// For safetensors given by the user; a checkpoint holding NaN or Inf is refused outright by its
/// validation (CheckpointValidation.swift), so it needs no warning.
func warnNonFinite(_ tensors: [String: HostTensor], source: String) {
    for line in NonFiniteWeights.warnings(tensors, source: source) {
        FileHandle.standardError.write(Data("sinter: \(line)\n".utf8))
    }
}

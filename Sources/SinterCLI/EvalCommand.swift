import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// `sinter eval <model> --weights FILE --inputs FILE --out FILE [--phase P] [--bn M] [--width-divisor K]`:
/// one training step of a model from Graphs/ on given weights and inputs, writing everything a
/// golden model file holds (see `evalStep`): `loss`, the outputs, `grad.<param>`, `step.<param>`
/// and `step.<bn>.moving_*`; GAN phases prefixed `d.` / `g.`.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Run one training step of a model from Graphs/ on given weights and inputs; write loss, outputs, gradients and updated params.",
        discussion: """
            Models: \(evalModels.joined(separator: ", ")).
            The optimizer starts from zero state (one step, t = 1), dropout is off, random tensors are inputs \
            (eps, z, noise) and the batch size comes from the inputs. A golden file works as both --weights and --inputs.
            """)

    @Argument(help: "Model name.") var model: String
    @Option(help: "safetensors file with every param and BatchNorm statistic of the model, by name.") var weights: String
    @Option(help: "safetensors file with the inputs (x, eps, noise, z, real; a GAN phase's prefixed d./g., e.g. d.z).")
    var inputs: String
    @Option(help: "safetensors file to write the results to.") var out: String
    @Option(help: "GANs: run only this phase, discriminator or generator (default: both, from the same weights).")
    var phase: String?
    @Option(help: "BatchNorm mode, train or infer (default: what the notebook does).") var bn: String?
    @Option(name: .customLong("width-divisor"), parsing: .unconditional, help: "Divide every channel width by K (the golden -wK cases).")
    var widthDivisor: Int = 1
    @OptionGroup var checks: CheckOptions

    func validate() throws {
        try WidthDivisorCheck.validate(model: model, widthDivisor: widthDivisor)
        try OptionChecks.oneOf(bn, "--bn", ["train", "infer"])
        try OptionChecks.oneOf(phase, "--phase", ["discriminator", "generator"])
    }

    func run() throws {
        do {
            checks.apply()
            try PathChecks.inputFile(weights, option: "--weights", expected: "a safetensors file")
            try PathChecks.inputFile(inputs, option: "--inputs", expected: "a safetensors file")
            try PathChecks.outputFile(out, option: "--out")
            let mode = try bn.map { text -> BNMode in
                guard let mode = BNMode(rawValue: text) else {
                    throw SinterError.runtime(message: "--bn must be train or infer, got '\(text)'")
                }
                return mode
            }
            let weightTensors = try Safetensors.read(path: weights)
            warnNonFinite(weightTensors, source: weights)
            let results = try evalStep(model: model, weights: weightTensors,
                                       inputs: try Safetensors.read(path: inputs), phase: phase, bn: mode,
                                       widthDivisor: widthDivisor)
            try Safetensors.write(results, to: out)
            FileHandle.standardError.write("sinter: wrote \(results.count) tensors to \(out)\n".data(using: .utf8)!)
        } catch {
            throw fail(error)
        }
    }
}

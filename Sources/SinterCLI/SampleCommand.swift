import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// `sinter sample <model> --checkpoint C`: a grid of new images from a trained generator or
/// decoder, from a seeded batch of N(0,1) codes; for a 2-D latent space also the decoded grid of
/// the latent plane.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Write a grid of new samples from a trained model.",
        discussion: "Models: \(Samplers.models.joined(separator: ", ")).")

    @Argument(help: "Model name.") var model: String
    @Option(help: "Checkpoint written by `sinter train` (or `sinter import`).") var checkpoint: String
    @Option(help: "Number of samples.") var count: Int = 64
    @Option(help: "Seed of the latent codes.") var seed: UInt64 = 0
    @Option(help: "PNG file to write.") var out: String?
    @OptionGroup var checks: CheckOptions

    func run() throws {
        do {
            checks.apply()
            let saved = try Checkpoint.read(path: checkpoint)
            warnNonFinite(saved.tensors, source: checkpoint)
            guard saved.model == model else {
                throw SinterError.file(path: checkpoint, message: "checkpoint is for model '\(saved.model)', not '\(model)'")
            }
            let base = (out ?? "\(model)-samples.png").replacingOccurrences(of: ".png", with: "")
            let grids = try SampleGrids(model: model, count: count, seed: seed)
            try grids.load(saved.tensors)
            for path in try grids.write(base: base) { print("wrote \(path)") }
        } catch {
            throw fail(error)
        }
    }
}

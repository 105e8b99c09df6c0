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
    @Option(parsing: .unconditional, help: "Number of samples.") var count: Int = 64
    @Option(parsing: .unconditional, help: "Seed of the latent codes.") var seed: UInt64 = 0
    @Option(help: "PNG file to write.") var out: String?
    @OptionGroup var checks: CheckOptions

    /// Samples in one grid at most: a 64 x 64 grid of images is already a very large picture.
    static let maxCount = 4096

    func validate() throws {
        try OptionChecks.check(count, "--count", in: 1...Self.maxCount, "samples drawn in one grid")
    }

    func run() throws {
        do {
            checks.apply()
            try PathChecks.inputFile(checkpoint, option: "--checkpoint", expected: "a checkpoint written by `sinter train` or `sinter import`")
            let base = (out ?? "\(model)-samples.png").replacingOccurrences(of: ".png", with: "")
            try PathChecks.outputFile("\(base).png", option: "--out")
            let saved = try Checkpoint.read(path: checkpoint)
            try saved.checkModel(model, path: checkpoint)
            let grids = try SampleGrids(model: model, count: count, seed: seed)
            try grids.load(saved, path: checkpoint)
            for path in try grids.write(base: base) { print("wrote \(path)") }
        } catch {
            throw fail(error)
        }
    }
}

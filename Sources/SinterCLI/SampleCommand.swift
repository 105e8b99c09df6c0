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

    func run() throws {
        do {
            let saved = try Checkpoint.read(path: checkpoint)
            guard saved.model == model else {
                throw SinterError.file(path: checkpoint, message: "checkpoint is for model '\(saved.model)', not '\(model)'")
            }
            let path = out ?? "\(model)-samples.png"
            var generator = SplitMix64(seed: seed)
            let sampler = try Samplers.make(model, count: count)
            let codes = (0..<(count * sampler.latentShape.reduce(1, *))).map { _ in normal(&generator) }
            try draw(sampler, codes: codes, checkpoint: saved, columns: Int(Double(count).squareRoot().rounded(.up)), path: path)
            print("wrote \(path)")
            if sampler.latentShape == [2] {
                // The latent plane: a 16x16 grid over [-2, 2]^2, as the VAE notebooks plot it.
                let side = 16
                let plane = try Samplers.make(model, count: side * side)
                let codes = (0..<(side * side)).flatMap { index -> [Float] in
                    [Float(index % side) / Float(side - 1) * 4 - 2, 2 - Float(index / side) / Float(side - 1) * 4]
                }
                let planePath = path.replacingOccurrences(of: ".png", with: "") + "-latent-plane.png"
                try draw(plane, codes: codes, checkpoint: saved, columns: side, path: planePath)
                print("wrote \(planePath)")
            }
        } catch {
            throw fail(error)
        }
    }

    private func draw(_ sampler: Sampler, codes: [Float], checkpoint: Checkpoint, columns: Int, path: String) throws {
        let executable = try compileGraph(sampler.graph)
        try executable.loadPersistent(checkpoint.tensors, requireAll: true)
        let batch = codes.count / sampler.latentShape.reduce(1, *)
        let images = try executable.run(["z": HostTensor(shape: [batch] + sampler.latentShape, floats: codes)])["images"]!
        let shape = images.shape
        let (height, width, channels) = shape.count == 4 ? (shape[1], shape[2], shape[3])
            : shape.count == 3 ? (shape[1], shape[2], 1) : (28, 28, 1)
        try ImageGrid.write(path: path, images: images.floats, count: batch, height: height, width: width, channels: channels,
                            columns: columns, range: sampler.range)
    }

    private func normal(_ generator: inout SplitMix64) -> Float {
        let u1 = max(Double(generator.next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(generator.next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

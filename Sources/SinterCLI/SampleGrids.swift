import Foundation
import Sinter
import SinterModels

/// A generator's (or decoder's) compiled forward graph with a fixed batch of N(0,1) codes, drawn
/// as a PNG grid; for a 2-D latent space also the decoded latent plane over [-2, 2]^2. Used by
/// `sinter sample` and, each epoch, by `sinter train`, so successive grids show the same codes.
final class SampleGrids {
    private let samples: (sampler: Sampler, executable: Executable, codes: [Float], columns: Int)
    private let plane: (sampler: Sampler, executable: Executable, codes: [Float], columns: Int)?

    init(model: String, count: Int, seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let sampler = try Samplers.make(model, count: count)
        let codes = (0..<(count * sampler.latentShape.reduce(1, *))).map { _ in Self.normal(&generator) }
        samples = (sampler, try compileGraph(sampler.graph), codes, Int(Double(count).squareRoot().rounded(.up)))
        if sampler.latentShape == [2] {
            let side = 16
            let planeSampler = try Samplers.make(model, count: side * side)
            let planeCodes = (0..<(side * side)).flatMap { index -> [Float] in
                [Float(index % side) / Float(side - 1) * 4 - 2, 2 - Float(index / side) / Float(side - 1) * 4]
            }
            plane = (planeSampler, try compileGraph(planeSampler.graph), planeCodes, side)
        } else {
            plane = nil
        }
    }

    /// Loads a checkpoint's weights by name after checking that every tensor the sampler needs
    /// is there with its exact dtype and shape and finite values (`path` names it in errors).
    func load(_ checkpoint: Checkpoint, path: String) throws {
        for executable in [samples.executable] + (plane.map { [$0.executable] } ?? []) {
            try checkpoint.validate(slots: executable.program.persistent, path: path)
        }
        try samples.executable.loadPersistent(checkpoint.tensors, requireAll: true)
        try plane?.executable.loadPersistent(checkpoint.tensors, requireAll: true)
    }

    /// Copies the weights from a training executable.
    func load(from state: Executable) {
        samples.executable.copyPersistent(from: state)
        plane?.executable.copyPersistent(from: state)
    }

    /// Writes `<base>.png` (and `<base>-latent-plane.png`); returns the paths written.
    func write(base: String) throws -> [String] {
        var written = [try draw(samples, path: "\(base).png")]
        if let plane { written.append(try draw(plane, path: "\(base)-latent-plane.png")) }
        return written
    }

    private func draw(_ grid: (sampler: Sampler, executable: Executable, codes: [Float], columns: Int), path: String) throws -> String {
        let latent = grid.sampler.latentShape
        let batch = grid.codes.count / latent.reduce(1, *)
        let images = try grid.executable.run(["z": HostTensor(shape: [batch] + latent, floats: grid.codes)])["images"]!
        let shape = images.shape
        let (height, width, channels) = shape.count == 4 ? (shape[1], shape[2], shape[3])
            : shape.count == 3 ? (shape[1], shape[2], 1) : (28, 28, 1)
        // NaN has no grey level (and would trap converting to a byte): draw it as the darkest.
        let pixels = images.floats.map { $0.isNaN ? grid.sampler.range.lowerBound : $0 }
        try ImageGrid.write(path: path, images: pixels, count: batch, height: height, width: width, channels: channels,
                            columns: grid.columns, range: grid.sampler.range)
        return path
    }

    private static func normal(_ generator: inout SplitMix64) -> Float {
        let u1 = max(Double(generator.next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(generator.next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

import Foundation
import Sinter

/// The PNG grids the example writes: new samples decoded from N(0, I) codes, and test images
/// above their reconstructions.
enum Pictures {
    /// Decodes `count` seeded N(0, I) codes with `vae`'s decoder on the weights in `weights` and
    /// writes them as a square grid to `path`.
    static func samples(of vae: ResidualVAE, weights: [String: HostTensor], count: Int, seed: UInt64, path: String) throws {
        // A forward graph of just the decoder: its weights have the names the training step gave them.
        let graph = try traceForward(name: "vae_decode", models: [vae]) { builder in
            [("images", sigmoid(vae.decode(builder.input("z", [count, vae.latentDimension]))))]
        }
        let decoder = try compileGraph(graph)
        try decoder.loadPersistent(weights, requireAll: true)
        var random = SplitMix64(seed: seed)
        let codes = HostTensor(shape: [count, vae.latentDimension], floats: (0..<(count * vae.latentDimension)).map { _ in normal(&random) })
        let images = try decoder.run(["z": codes])["images"]!
        try ImageGrid.write(path: path, images: images.floats, count: count, height: 28, width: 28, channels: 1,
                            columns: Int(Double(count).squareRoot().rounded(.up)))
    }

    /// Writes `originals` and `reconstructions` (each N 28x28 images) as rows of `columns`
    /// originals, each followed by the row of their reconstructions.
    static func reconstructions(originals: [Float], reconstructions: [Float], count: Int, columns: Int, path: String) throws {
        let size = 28 * 28
        var interleaved: [Float] = []
        for start in stride(from: 0, to: count, by: columns) {
            let end = min(start + columns, count)
            interleaved += originals[(start * size)..<(end * size)]
            interleaved += reconstructions[(start * size)..<(end * size)]
        }
        try ImageGrid.write(path: path, images: interleaved, count: interleaved.count / size, height: 28, width: 28, channels: 1,
                            columns: columns)
    }

    /// One N(0, 1) number (Box-Muller).
    private static func normal(_ random: inout SplitMix64) -> Float {
        let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &random)
        let u2 = Double.random(in: 0..<1, using: &random)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

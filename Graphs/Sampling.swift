import Sinter

/// A forward graph that turns latent codes `z` into images with a trained model's generator or
/// decoder (BatchNorm in inference mode), for `sinter sample`.
public struct Sampler {
    public let graph: Graph
    /// Shape of one latent code (without the batch axis).
    public let latentShape: [Int]
    /// Value range of the `images` output, for drawing.
    public let range: ClosedRange<Float>
}

public enum Samplers {
    public static let models = ["vae", "cvae", "gan", "dcgan", "celeba-dcgan"]

    public static func make(_ model: String, count: Int) throws -> Sampler {
        switch model {
        case "vae":
            let vae = VAE()
            let graph = try traceForward(name: "vae_sample", models: [vae]) { builder in
                [("images", vae.decode(builder.input("z", [count, vae.latentDimension])))]
            }
            return Sampler(graph: graph, latentShape: [vae.latentDimension], range: 0...1)
        case "cvae":
            let cvae = CVAE()
            let graph = try traceForward(name: "cvae_sample", models: [cvae]) { builder in
                // The tutorial samples with a sigmoid of the decoder's logits.
                [("images", cvae.decode(builder.input("z", [count, cvae.latentDimension])).sigmoid())]
            }
            return Sampler(graph: graph, latentShape: [cvae.latentDimension], range: 0...1)
        case "gan":
            let generator = GAN().generator
            let graph = try traceForward(name: "gan_sample", models: [generator]) { builder in
                [("images", generator(builder.input("z", [count, generator.codingsSize])))]
            }
            return Sampler(graph: graph, latentShape: [generator.codingsSize], range: 0...1)
        case "dcgan":
            let generator = DCGAN().generator
            let graph = try traceForward(name: "dcgan_sample", models: [generator]) { builder in
                [("images", generator(builder.input("z", [count, generator.codingsSize])))]
            }
            return Sampler(graph: graph, latentShape: [generator.codingsSize], range: -1...1)
        case "celeba-dcgan":
            let generator = CelebADCGAN().generator
            let graph = try traceForward(name: "celeba_sample", models: [generator]) { builder in
                [("images", generator(builder.input("z", [count, 1, 1, generator.latentDimension])))]
            }
            return Sampler(graph: graph, latentShape: [1, 1, generator.latentDimension], range: -1...1)
        default:
            throw SinterError.runtime(message: "'\(model)' has no sampler; models that generate: \(models.joined(separator: ", "))")
        }
    }
}

import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// The options only `sinter train style` takes (a fast-style transformer, seed-models §3, trained
/// with Johnson et al.'s perceptual loss on VGG-19).
struct StyleTrainingOptions: ParsableArguments {
    @Option(help: "Style image (PNG) for `train style`; repeat it to train one network for several styles (conditional instance norm).")
    var style: [String] = []
    @Option(help: "safetensors file with the VGG-19 weights (Keras names, kernels HWIO), for `train style`.") var weights: String?
    @Option(parsing: .unconditional, help: "Side of the square training crops, a multiple of 4 (`train style`; default 256).") var crop: Int?
    @Option(name: .customLong("crops-per-image"), parsing: .unconditional, help: "Random crops drawn from each photo of --data (`train style`; default 8).")
    var cropsPerImage: Int?
    @Option(name: .customLong("style-size"), parsing: .unconditional, help: "Long side the style images are scaled to (`train style`; default 512).")
    var styleSize: Int?
    @Option(name: .customLong("style-weight"), parsing: .unconditional, help: "Weight of the style loss (`train style`; default 5).") var styleWeight: Double?
    @Option(name: .customLong("content-weight"), parsing: .unconditional, help: "Weight of the content loss (`train style`; default 1).") var contentWeight: Double?
    @Option(name: .customLong("tv-weight"), parsing: .unconditional, help: "Weight of the total variation (`train style`; default 1e-6).") var tvWeight: Double?
    @Option(name: .customLong("width-divisor"), parsing: .unconditional, help: "Divide VGG-19's and the transformer's widths by 1, 2, 4, 8, 16 or 32 (small test models).")
    var widthDivisor: Int?

    static let widthDivisors = [1, 2, 4, 8, 16, 32]

    func validate() throws {
        try OptionChecks.check(crop, "--crop", in: 16...4096, "the side of the training crops; VGG-19 halves it four times")
        if let crop, crop % 4 != 0 {
            throw ValidationError("--crop must be a multiple of 4 (the transformer's output is 4*ceil(ceil(n/2)/2)); got \(crop)")
        }
        try OptionChecks.check(cropsPerImage, "--crops-per-image", in: 1...10_000, "random crops per photo")
        try OptionChecks.check(styleSize, "--style-size", in: StylizeCommand.sizes, "the long side of the style images in pixels")
        try OptionChecks.weight(styleWeight, "--style-weight")
        try OptionChecks.weight(contentWeight, "--content-weight")
        try OptionChecks.weight(tvWeight, "--tv-weight")
        if let widthDivisor, !Self.widthDivisors.contains(widthDivisor) {
            throw ValidationError("--width-divisor must be 1, 2, 4, 8, 16 or 32 for `train style`; got \(widthDivisor)")
        }
    }

    /// The options given, by name: any of them with another model is a mistake worth a message.
    var given: [String] {
        var names: [String] = []
        if !style.isEmpty { names.append("--style") }
        if weights != nil { names.append("--weights") }
        if crop != nil { names.append("--crop") }
        if cropsPerImage != nil { names.append("--crops-per-image") }
        if styleSize != nil { names.append("--style-size") }
        if styleWeight != nil { names.append("--style-weight") }
        if contentWeight != nil { names.append("--content-weight") }
        if tvWeight != nil { names.append("--tv-weight") }
        if widthDivisor != nil { names.append("--width-divisor") }
        return names
    }

    /// The training: every crop of --data paired with every style, batch 4 by default (Johnson).
    func recipe(data: String?, batch: Int?, lr: Double?, seed: UInt64, trainLimit: Int?, testLimit: Int?) throws -> ZooTraining {
        guard let data else {
            throw SinterError.runtime(message: "`sinter train style` learns from a folder of content photos: pass --data DIR with .png or .jpg files (e.g. ../shared/data)")
        }
        guard !style.isEmpty else { throw SinterError.runtime(message: "`sinter train style` needs --style S.png (repeat it for several styles)") }
        guard let weights else {
            throw SinterError.runtime(message: "`sinter train style` needs --weights VGG19.safetensors (from `sinter convert-weights`)")
        }
        if testLimit != nil { throw SinterError.runtime(message: "--test-limit does not apply to `train style` (it has no test set)") }
        try PathChecks.inputDirectory(data, option: "--data", expected: "a folder of .png or .jpg content photos")
        for image in style { try PathChecks.inputFile(image, option: "--style", expected: RasterImage.expected) }
        try PathChecks.inputFile(weights, option: "--weights", expected: "a safetensors file with VGG-19's weights")

        var settings = FastStyleSettings()
        if let styleWeight { settings.styleWeight = styleWeight }
        if let contentWeight { settings.contentWeight = contentWeight }
        if let tvWeight { settings.totalVariationWeight = tvWeight }
        if let lr { settings.learningRate = lr }
        let model = FastStyleTraining(styles: style.count, widthDivisor: widthDivisor ?? 1, settings: settings)
        let vgg = try Safetensors.read(path: weights)
        warnNonFinite(vgg, source: weights)
        let styleImages = try style.map { try StyleImages.load(path: $0, longSide: styleSize ?? 512) }
        let setup = try FastStyleSetup(model: model, vggWeights: vgg, styles: styleImages, weightsPath: weights)
        let side = crop ?? 256
        let crops = try StyleCrops.load(directory: data, crop: side, cropsPerImage: cropsPerImage ?? 8, seed: seed, limit: trainLimit)
        let train = setup.replicated(crops)
        // The Trainer initialises every param from the seed; VGG-19's then come from the file.
        let learner = try Learner(name: "style", phases: [FitPhase("step") { try model.stepGraph(batch: $0, crop: side) }], seed: seed,
                                  afterInitialization: { try FastStyleSetup.loadVGG(vgg, into: $0, path: weights) })
        return ZooTraining(learner: learner, train: IndexedDataset(count: train.count) { setup.feeds(train, $0) }, batch: batch ?? 4,
                           picture: .init(phase: "step", output: "stylized", range: 0...1, input: "content"))
    }
}

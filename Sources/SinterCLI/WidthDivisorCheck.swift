import ArgumentParser
import Sinter
import SinterModels

/// `--width-divisor K` divides every channel width of a model; a K larger than a layer's width
/// leaves it with no channels (the conv autoencoder divides without a floor), which used to
/// crash in the tracer. The widths are read from the model itself, so the message names the layer.
enum WidthDivisorCheck {
    /// The model of a zoo name, built with a width divisor (nil for a name the zoo lacks: the
    /// command reports unknown models itself).
    static func module(_ model: String, widthDivisor: Int) -> Module? {
        switch model {
        case "autoencoder", "denoising-autoencoder": return ConvAutoencoder(widthDivisor: widthDivisor)
        case "dense-autoencoder": return DenseAutoencoder(widthDivisor: widthDivisor)
        case "deep-autoencoder": return DeepAutoencoder(widthDivisor: widthDivisor)
        case "vae": return VAE(widthDivisor: widthDivisor)
        case "cvae": return CVAE(widthDivisor: widthDivisor)
        case "gan": return GAN(widthDivisor: widthDivisor)
        case "dcgan": return DCGAN(widthDivisor: widthDivisor)
        case "celeba-dcgan": return CelebADCGAN(widthDivisor: widthDivisor)
        case "nst": return VGG19(widthDivisor: widthDivisor)
        default: return nil
        }
    }

    /// Every layer with a width (Dense units, convolution filters) by property path.
    static func widths(of module: Module) -> [(layer: String, width: Int)] {
        nameLayers(in: module)
        var found: [(String, Int)] = []
        func visit(_ value: Any) {
            if let dense = value as? Dense { found.append((dense.path, dense.units)) }
            if let conv = value as? ConvolutionLayer { found.append((conv.path, conv.filters)) }
            if let sequential = value as? Sequential { sequential.layers.forEach(visit); return }
            if let array = value as? [Any] { array.forEach(visit); return }
            guard value is Module else { return }
            for child in Mirror(reflecting: value).children where !(child.label ?? "").hasPrefix("$__lazy_storage") {
                visit(child.value)
            }
        }
        visit(module)
        return found
    }

    static func validate(model: String, widthDivisor: Int) throws {
        try OptionChecks.check(widthDivisor, "--width-divisor", in: 1...Int.max, "every channel width is divided by it")
        guard let divided = module(model, widthDivisor: widthDivisor), let full = module(model, widthDivisor: 1) else { return }
        let fullWidths = Dictionary(widths(of: full), uniquingKeysWith: { first, _ in first })
        let empty = widths(of: divided).filter { $0.width < 1 }
        guard let first = empty.first else { return }
        // A layer of width w keeps a channel for every K <= w; the narrowest emptied layer is the bound.
        let largest = empty.compactMap { fullWidths[$0.layer] }.min() ?? 1
        throw ValidationError("--width-divisor \(widthDivisor) leaves layer '\(first.layer)' of \(model) with 0 channels "
            + "(\(fullWidths[first.layer].map { "\($0) / \(widthDivisor)" } ?? "width \(first.width)")"
            + (empty.count > 1 ? "; \(empty.count - 1) more layer\(empty.count == 2 ? "" : "s") too)" : ")")
            + "; the largest divisor \(model) takes is \(largest)")
    }
}

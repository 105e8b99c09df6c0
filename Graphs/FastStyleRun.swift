import Sinter

/// What `sinter train style` needs beyond the Trainer: every style image's Gram targets (computed
/// once on the VGG-19 weights), the step's feeds, and loading the frozen VGG weights.
public struct FastStyleSetup {
    public let model: FastStyleTraining
    /// `style_targets.<layer>` (N, C, C): the styles' Gram matrices stacked in `--style` order.
    public let targets: [String: HostTensor]
    public let vggWeights: [String: HostTensor]
    let weightsPath: String?

    /// `styles`: (1, h, w, 3) images in 0..255, each at its own size.
    public init(model: FastStyleTraining, vggWeights: [String: HostTensor], styles: [HostTensor], weightsPath: String? = nil,
                options: CompileOptions = .fromEnvironment()) throws {
        guard styles.count == model.styles, !styles.isEmpty else {
            throw SinterError.runtime(message: "the model has \(model.styles) style\(model.styles == 1 ? "" : "s") but \(styles.count) style images were given")
        }
        self.model = model
        self.vggWeights = vggWeights
        self.weightsPath = weightsPath
        var stacked: [String: [Float]] = [:], shapes: [String: [Int]] = [:]
        for style in styles {
            let size = try GatysRun.imageSize(style, "style")
            let executable = try compileGraph(try model.targetsGraph(style: size), options: options)
            try Self.loadVGG(vggWeights, into: executable, path: weightsPath)
            for (name, gram) in try executable.run(["style": style]) {
                let layer = String(name.dropFirst("style_target.".count))
                stacked["style_targets.\(layer)", default: []] += gram.floats
                shapes["style_targets.\(layer)"] = [styles.count] + gram.shape.dropFirst()
            }
        }
        targets = Dictionary(uniqueKeysWithValues: stacked.map { name, floats in (name, HostTensor(shape: shapes[name] ?? [], floats: floats)) })
    }

    /// The step's inputs for entries `indices` of `crops` as `replicated` lays them out: entry i
    /// is crop i % perStyle paired with style i / perStyle.
    public func feeds(_ crops: ImageDataset, _ indices: ArraySlice<Int>) -> [String: HostTensor] {
        let perStyle = crops.count / model.styles
        var weights = [Float](repeating: 0, count: indices.count * model.styles)
        for (row, index) in indices.enumerated() { weights[row * model.styles + min(index / max(perStyle, 1), model.styles - 1)] = 1 }
        var feeds = targets
        feeds["content"] = crops.batch(indices)
        feeds["style_weights"] = HostTensor(shape: [indices.count, model.styles], floats: weights)
        return feeds
    }

    /// The crops repeated once per style (style-major), so that one epoch pairs every crop with
    /// every style and the Trainer's seeded shuffle mixes the styles within each batch.
    public func replicated(_ crops: ImageDataset) -> ImageDataset {
        var pixels: [Float] = []
        pixels.reserveCapacity(crops.pixels.count * model.styles)
        for _ in 0..<model.styles { pixels += crops.pixels }
        return ImageDataset(pixels: pixels, count: crops.count * model.styles, height: crops.height, width: crops.width, channels: crops.channels)
    }

    /// Loads the VGG-19 params of `executable` from `weights`, naming every missing and
    /// mis-shaped one (and `path`, the weights file, when given). Other params are left alone.
    public static func loadVGG(_ weights: [String: HostTensor], into executable: Executable, path: String?) throws {
        let slots = executable.program.persistent.filter { FastStyleTraining.isVGGParam($0.name) }
        let missing = slots.filter { weights[$0.name] == nil }.map(\.name)
        let misshaped = slots.compactMap { slot -> String? in
            guard let tensor = weights[slot.name], tensor.shape != slot.type.shape else { return nil }
            return "\(slot.name) is \(shapeText(tensor.shape)), expected \(shapeText(slot.type.shape))"
        }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("lack \(missing.count) VGG-19 tensor\(missing.count == 1 ? "" : "s"): \(missing.joined(separator: ", "))") }
        if !misshaped.isEmpty {
            problems.append("have \(misshaped.count) mis-shaped: " + misshaped.prefix(4).joined(separator: "; ") + (misshaped.count > 4 ? "; ..." : ""))
        }
        guard problems.isEmpty else {
            let message = "the weights " + problems.joined(separator: " and ") + " (expected Keras names, kernels HWIO, e.g. block1_conv1.kernel (3, 3, 3, 64) at full width)"
            if let path { throw SinterError.file(path: path, message: message) }
            throw SinterError.runtime(message: message)
        }
        try executable.loadPersistent(weights.filter { name, _ in slots.contains { $0.name == name } }, requireAll: false)
    }
}

/// A trained fast-style transformer from a `sinter train style` checkpoint, applied to images of
/// any size (each new size is a new graph; the kernel cache keeps its compiled C).
public final class FastStylizer {
    public let styles: Int
    public let widthDivisor: Int
    let checkpoint: Checkpoint
    let path: String
    let options: CompileOptions

    public init(checkpoint: Checkpoint, path: String, options: CompileOptions = .fromEnvironment()) throws {
        try checkpoint.checkModel("style", path: path)
        guard let gamma = checkpoint.tensors["norms.0.gamma"], gamma.shape.count == 2, gamma.shape[0] >= 1,
              let kernel = checkpoint.tensors["conv1.kernel"], kernel.shape.count == 4, kernel.shape[3] >= 1, 32 % kernel.shape[3] == 0 else {
            throw SinterError.file(path: path, message: "is not a fast-style checkpoint: it needs norms.0.gamma (styles, 32/k) and conv1.kernel (9, 9, 3, 32/k)")
        }
        styles = gamma.shape[0]
        widthDivisor = 32 / kernel.shape[3]
        self.checkpoint = checkpoint
        self.path = path
        self.options = options
    }

    /// `content` (1, h, w, 3) in 0..255 -> (1, h, w, 3) in 0..255 for style `styleIndex`. The
    /// network itself gives 4*ceil(ceil(h/2)/2) rows (and columns); the extra rows and columns,
    /// at the bottom and right, lie past the image and are cropped off.
    public func stylize(_ content: HostTensor, styleIndex: Int) throws -> HostTensor {
        let (h, w) = try GatysRun.imageSize(content, "content")
        guard (0..<styles).contains(styleIndex) else {
            throw SinterError.file(path: path, message: "the model has \(styles) style\(styles == 1 ? "" : "s") (indices 0...\(styles - 1)); --style-index \(styleIndex) is none of them")
        }
        let model = FastStyleTraining(styles: styles, widthDivisor: widthDivisor)
        let executable = try compileGraph(try model.stylizeGraph(height: h, width: w), options: options)
        try checkpoint.restore(into: executable, model: "style", path: path)
        var oneHot = [Float](repeating: 0, count: styles)
        oneHot[styleIndex] = 1
        let unit = content.floats.map { $0 / 255 }
        guard let out = try executable.run(["content": HostTensor(shape: content.shape, floats: unit),
                                            "style_weights": HostTensor(shape: [1, styles], floats: oneHot)])["stylized"] else {
            throw SinterError.runtime(message: "the stylize graph gave no 'stylized' output")
        }
        return Self.cropped(out, height: h, width: w, scale: 255)
    }

    /// The top-left (height, width) of a (1, H, W, 3) tensor, times `scale`.
    static func cropped(_ image: HostTensor, height: Int, width: Int, scale: Float) -> HostTensor {
        let (fullWidth, source) = (image.shape[2], image.floats)
        var pixels: [Float] = []
        pixels.reserveCapacity(height * width * 3)
        for y in 0..<height {
            let row = y * fullWidth * 3
            for i in 0..<(width * 3) { pixels.append(source[row + i] * scale) }
        }
        return HostTensor(shape: [1, height, width, 3], floats: pixels)
    }
}

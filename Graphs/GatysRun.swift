import Sinter

/// A compiled Gatys optimisation (seed-models §2) on given VGG-19 weights, content and style
/// images: the targets are computed once at construction, then each `step()` is one Adam update
/// of the image (clipped to [0, 255]). Used by `sinter stylize`, `sinter eval nst` and the tests.
public final class GatysRun {
    public let model: GatysStyleTransfer
    /// The step graph's executable; its persistent `image` is the image being optimised.
    public let executable: Executable
    /// `style_target.<layer>` and `content_target`, fed to every step.
    public let targets: [String: HostTensor]
    public private(set) var steps = 0
    public let size: (height: Int, width: Int)
    private let options: CompileOptions
    private var lossExecutable: Executable?

    /// The losses of one step, computed on the image before that step's update.
    public struct Losses: Sendable {
        public var total, style, content, tv: Double
    }

    /// `content` and `style` are (1, h, w, 3) RGB in 0..255, each at its own size; `image` starts
    /// at `initial` (default: the content image, as the notebook does). `weights` must hold every
    /// VGG-19 param up to block5_conv2 by Keras name (`block1_conv1.kernel` HWIO, ...).
    public init(weights: [String: HostTensor], content: HostTensor, style: HostTensor, initial: HostTensor? = nil,
                widthDivisor: Int = 1, settings: GatysSettings = GatysSettings(), gradientOutputs: Bool = false,
                weightsPath: String? = nil, options: CompileOptions = .fromEnvironment()) throws {
        let contentSize = try Self.imageSize(content, "content")
        let styleSize = try Self.imageSize(style, "style")
        size = contentSize
        self.options = options
        let start = initial ?? content
        guard start.shape == content.shape else {
            throw SinterError.runtime(message: "the initial image is \(shapeText(start.shape)); it must have the content image's shape \(shapeText(content.shape))")
        }
        model = GatysStyleTransfer(widthDivisor: widthDivisor, settings: settings)
        let targetsExecutable = try compileGraph(try model.targetsGraph(content: contentSize, style: styleSize), options: options)
        try Self.loadWeights(weights, into: targetsExecutable, path: weightsPath)
        targets = try targetsExecutable.run(["content": content, "style": style])

        executable = try compileGraph(try model.stepGraph(size: contentSize, gradientOutputs: gradientOutputs), options: options)
        try Self.loadWeights(weights, into: executable, path: weightsPath)
        try executable.setPersistent("image", start)
    }

    /// One Adam step on the image; returns the step graph's outputs (`loss`, `style_loss`,
    /// `content_loss`, `tv`, `gram.<layer>`, and `grad.image` when asked for).
    @discardableResult
    public func stepOutputs() throws -> [String: HostTensor] {
        let outputs = try executable.run(targets)
        steps += 1
        return outputs
    }

    /// One Adam step; the losses of the image it started from.
    @discardableResult
    public func step() throws -> Losses {
        Self.losses(try stepOutputs())
    }

    static func losses(_ outputs: [String: HostTensor]) -> Losses {
        func scalar(_ name: String) -> Double { outputs[name]?.doubles.first ?? .nan }
        return Losses(total: scalar("loss"), style: scalar("style_loss"), content: scalar("content_loss"), tv: scalar("tv"))
    }

    /// The losses of the image as it is now, with no update (the loss-only graph, compiled on
    /// first use): what the last `step()` led to.
    public func losses() throws -> Losses {
        if lossExecutable == nil {
            lossExecutable = try compileGraph(try model.stepGraph(size: size, optimizer: false), options: options)
        }
        guard let lossExecutable else { throw SinterError.runtime(message: "the loss graph did not compile") }
        lossExecutable.copyPersistent(from: executable)
        return Self.losses(try lossExecutable.run(targets))
    }

    /// The image as it is now: (1, h, w, 3) in 0..255.
    public func image() throws -> HostTensor { try executable.persistent("image") }

    /// (h, w) of a (1, h, w, 3) image.
    static func imageSize(_ image: HostTensor, _ name: String) throws -> (Int, Int) {
        guard image.shape.count == 4, image.shape[0] == 1, image.shape[3] == 3 else {
            throw SinterError.runtime(message: "the \(name) image has shape \(shapeText(image.shape)); expected (1, height, width, 3) RGB")
        }
        return (image.shape[1], image.shape[2])
    }

    /// Loads the VGG params, naming every one the weights lack and every mis-shaped one; errors
    /// name `path` (the weights file) when given.
    static func loadWeights(_ weights: [String: HostTensor], into executable: Executable, path: String?) throws {
        let slots = executable.program.persistent.filter { $0.name != "image" && !$0.name.hasPrefix("opt.") }
        let missing = slots.filter { weights[$0.name] == nil }.map(\.name)
        let misshaped = slots.compactMap { slot -> String? in
            guard let tensor = weights[slot.name], tensor.shape != slot.type.shape else { return nil }
            return "\(slot.name) is \(shapeText(tensor.shape)), expected \(shapeText(slot.type.shape))"
        }
        var problems: [String] = []
        if !missing.isEmpty {
            problems.append("lack \(missing.count) VGG-19 tensor\(missing.count == 1 ? "" : "s"): \(missing.joined(separator: ", "))")
        }
        if !misshaped.isEmpty {
            var hint = ""
            if let filters = weights["block1_conv1.kernel"]?.shape.last, filters > 0, 64 % filters == 0,
               let expected = slots.first(where: { $0.name == "block1_conv1.kernel" })?.type.shape.last, filters != expected {
                hint = " (block1_conv1 has \(filters) filters, VGG-19 / \(64 / filters): --width-divisor \(64 / filters))"
            }
            let listed = misshaped.prefix(4).joined(separator: "; ") + (misshaped.count > 4 ? "; ..." : "")
            problems.append("have \(misshaped.count) mis-shaped: \(listed)\(hint)")
        }
        guard problems.isEmpty else {
            let message = "the weights " + problems.joined(separator: " and ")
                + " (expected Keras names, kernels HWIO, e.g. block1_conv1.kernel (3, 3, 3, 64) at full width)"
            if let path { throw SinterError.file(path: path, message: message) }
            throw SinterError.runtime(message: message)
        }
        try executable.loadPersistent(weights.filter { name, _ in slots.contains { $0.name == name } }, requireAll: false)
    }
}

/// `sinter eval nst`: the golden NST case's tensors for given weights and inputs `content`,
/// `style` and `image` (the image before the step): the targets, `loss`, `style_loss`,
/// `content_loss`, `tv`, `gram.<layer>`, `grad.image` and `step.image` (after one clipped Adam step
/// from zero optimizer state).
func evalGatys(weights: [String: HostTensor], inputs: [String: HostTensor], widthDivisor: Int) throws -> [String: HostTensor] {
    var missing: [String] = []
    for name in ["content", "style", "image"] where inputs[name] == nil { missing.append(name) }
    guard missing.isEmpty, let content = inputs["content"], let style = inputs["style"], let image = inputs["image"] else {
        throw SinterError.runtime(message: "nst needs inputs content, style and image; missing \(missing.joined(separator: ", ")); given: "
            + inputs.keys.sorted().joined(separator: ", "))
    }
    let run = try GatysRun(weights: weights, content: content, style: style, initial: image, widthDivisor: widthDivisor,
                           gradientOutputs: true)
    var results = run.targets
    try results.merge(run.stepOutputs()) { _, new in new }
    results["step.image"] = try run.image()
    return results
}

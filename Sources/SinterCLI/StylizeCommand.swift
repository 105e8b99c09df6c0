import ArgumentParser
import Foundation
import Sinter
import SinterModels

/// `sinter stylize --content C.png --style S.png --weights VGG19.safetensors --out OUT.png`: Gatys
/// neural style transfer as seed-models §2 runs it (Adam lr 20 halving every 100 steps, the image
/// clipped to [0, 255] after every step, 1000 steps), with a progress line, an optional loss log
/// and intermediate frames, and a final summary line.
struct StylizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stylize", abstract: "Gatys neural style transfer with VGG-19: optimise an image towards a content and a style image.",
        discussion: """
            Images are PNG or JPEG, told apart by their first bytes (RGB or gray; PNG alpha is composited onto white). Each image is \
            scaled so its long side is --size (bilinear, as tf.image.resize) and keeps its own aspect ratio; the result has \
            the content image's size. --weights holds VGG-19's conv layers by Keras name (block1_conv1.kernel HWIO, \
            block1_conv1.bias, ... up to block5_conv2), e.g. from `sinter convert-weights`.
            """)

    @Option(help: "Content image (PNG or JPEG).") var content: String
    @Option(help: "Style image (PNG or JPEG).") var style: String?
    @Option(help: "safetensors file with the VGG-19 weights (Keras names, kernels HWIO).") var weights: String?
    @Option(help: "A fast-style checkpoint from `sinter train style`: run its transformer instead of optimising (no --style, --weights).")
    var model: String?
    @Option(help: "A pretrained ONNX stylizer (e.g. multistyle26.onnx, or arbitrary_transform.onnx with --style-model): one pass, no --weights.")
    var onnx: String?
    @Option(name: .customLong("style-model"), help: "With --onnx and --style: the ONNX style predictor (arbitrary_predict.onnx).")
    var styleModel: String?
    @Option(name: .customLong("style-index"), parsing: .unconditional, help: "With --model or --onnx: which of its styles (0-based; for --model, the --style order of training).")
    var styleIndex: Int?
    @Option(help: "PNG file to write the result to.") var out: String
    @Option(parsing: .unconditional, help: "Long side of both images, in pixels (default 512; with --model, the content image's own size).")
    var size: Int?
    @Option(parsing: .unconditional, help: "Optimisation steps (the notebook: 10 epochs of 100).") var steps: Int = 1000
    @Option(name: .customLong("style-weight"), parsing: .unconditional, help: "Weight of the style loss.") var styleWeight: Double = 2e-2
    @Option(name: .customLong("content-weight"), parsing: .unconditional, help: "Weight of the content loss.") var contentWeight: Double = 1e-2
    @Option(name: .customLong("tv-weight"), parsing: .unconditional, help: "Weight of the total variation (0: the notebook's first run).")
    var tvWeight: Double = 2
    @Option(parsing: .unconditional, help: "Adam's initial learning rate (halved every 100 steps).") var lr: Double = 20
    @Option(name: .customLong("frames-every"), parsing: .unconditional, help: "Also write the image every N steps, as OUT-stepK.png.")
    var framesEvery: Int?
    @Option(help: "CSV file for the losses of every step (step,total,style,content,tv).") var log: String?
    @Option(name: .customLong("width-divisor"), parsing: .unconditional, help: "VGG-19 with every width divided by K (small test weights).")
    var widthDivisor: Int = 1
    @OptionGroup var checks: CheckOptions

    /// Sides below 16 leave VGG-19 no block5 features; above this the activations of one image
    /// (64 channels at full size) no longer fit any machine this runs on.
    static let sizes = 16...8192

    func validate() throws {
        if onnx != nil {
            if model != nil || weights != nil { throw ValidationError("--onnx runs a pretrained stylizer; it takes neither --model nor --weights") }
        } else if styleModel != nil {
            throw ValidationError("--style-model applies only with --onnx")
        } else if model != nil {
            if style != nil { throw ValidationError("--style is for Gatys optimisation; a --model checkpoint has its styles built in (pick one with --style-index)") }
            if weights != nil { throw ValidationError("--weights is for Gatys optimisation; a --model checkpoint needs no VGG-19 weights") }
        } else {
            if style == nil { throw ValidationError("--style S.png is required (or --model CHECKPOINT from `sinter train style`)") }
            if weights == nil { throw ValidationError("--weights VGG19.safetensors is required (or --model CHECKPOINT from `sinter train style`)") }
            if styleIndex != nil { throw ValidationError("--style-index applies only with --model") }
        }
        try OptionChecks.check(styleIndex, "--style-index", in: 0...Int.max, "the style's 0-based index in the checkpoint")
        try OptionChecks.check(size, "--size", in: Self.sizes, "the long side of both images in pixels; VGG-19 halves it four times")
        try OptionChecks.check(steps, "--steps", in: 1...OptionChecks.maxSteps, "optimisation steps")
        try OptionChecks.check(framesEvery, "--frames-every", in: 1...OptionChecks.maxSteps, "steps between intermediate images")
        try OptionChecks.weight(styleWeight, "--style-weight")
        try OptionChecks.weight(contentWeight, "--content-weight")
        try OptionChecks.weight(tvWeight, "--tv-weight")
        try OptionChecks.learningRate(lr)
        try WidthDivisorCheck.validate(model: "nst", widthDivisor: widthDivisor)
    }

    func run() throws {
        checks.apply()
        do { try stylize() } catch { throw fail(error) }
    }

    private func stylize() throws {
        if let onnx { return try stylizeWithONNX(onnx) }
        if let model { return try stylizeWithModel(model) }
        guard let style, let weights else { return }
        try PathChecks.inputFile(content, option: "--content", expected: RasterImage.expected)
        try PathChecks.inputFile(style, option: "--style", expected: RasterImage.expected)
        try PathChecks.inputFile(weights, option: "--weights", expected: "a safetensors file with VGG-19's weights")
        try PathChecks.outputFile(out, option: "--out")
        if let log { try PathChecks.outputFile(log, option: "--log") }
        let framesBase = out.hasSuffix(".png") ? String(out.dropLast(4)) : out
        if let framesEvery { try PathChecks.outputFile("\(framesBase)-step\(framesEvery).png", option: "--frames-every") }

        var settings = GatysSettings()
        settings.styleWeight = styleWeight
        settings.contentWeight = contentWeight
        settings.totalVariationWeight = tvWeight
        settings.learningRate = lr
        let vggWeights = try Safetensors.read(path: weights)
        warnNonFinite(vggWeights, source: weights)
        let contentImage = try StyleImages.load(path: content, longSide: size ?? 512)
        let styleImage = try StyleImages.load(path: style, longSide: size ?? 512)
        let run = try GatysRun(weights: vggWeights, content: contentImage, style: styleImage, widthDivisor: widthDivisor,
                               settings: settings, weightsPath: weights)
        let csv = try log.map { try StylizeLog(path: $0) }
        let progress = StylizeProgress(total: steps, size: run.size)
        do {
            for step in 1...steps {
                let losses = try run.step()
                try csv?.append(step: step, losses)
                progress.update(step: step, losses)
                guard losses.total.isFinite else {
                    throw SinterError.runtime(message: "the loss is \(losses.total) at step \(step) (style \(losses.style), content \(losses.content), tv \(losses.tv))")
                }
                if let framesEvery, step % framesEvery == 0 {
                    try StyleImages.write(try run.image(), path: "\(framesBase)-step\(step).png")
                }
            }
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        try StyleImages.write(try run.image(), path: out)
        let final = try run.losses()
        print("wrote \(out) (\(run.size.width)x\(run.size.height))" + (log.map { " and \($0)" } ?? ""))
        print(String(format: "final loss %.6g (style %.6g, content %.6g, tv %.6g) after %d steps", final.total, final.style,
                     final.content, final.tv, steps))
    }
}

/// `--log`: one CSV row per step (the losses of the image that step started from), written as
/// the run goes so an interrupted run keeps what it computed.
final class StylizeLog {
    static let header = "step,total,style,content,tv\n"
    let path: String
    private let handle: FileHandle

    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: Data(Self.header.utf8)),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw SinterError.file(path: path, message: "--log: cannot create the loss log")
        }
        self.handle = handle
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    func append(step: Int, _ losses: GatysRun.Losses) throws {
        let row = "\(step),\(losses.total),\(losses.style),\(losses.content),\(losses.tv)\n"
        do { try handle.write(contentsOf: Data(row.utf8)) } catch {
            throw SinterError.file(path: path, message: "--log: cannot write the loss log: \(oneLineDescription(error))")
        }
    }
}

/// The live `\r` line: step/total, the losses, steps per second, ETA.
final class StylizeProgress {
    let total: Int
    let size: (height: Int, width: Int)
    let started = Date()
    private var lastPrint = Date.distantPast

    init(total: Int, size: (height: Int, width: Int)) {
        self.total = total
        self.size = size
    }

    func update(step: Int, _ losses: GatysRun.Losses) {
        guard Date().timeIntervalSince(lastPrint) > 0.25 || step == total else { return }
        lastPrint = Date()
        let elapsed = Date().timeIntervalSince(started)
        let eta = elapsed / Double(step) * Double(total - step)
        let line = String(format: "\rstep %d/%d  %dx%d  loss %.4g (style %.4g, content %.4g, tv %.4g)  %.2f steps/s  ETA %@   ",
                          step, total, size.width, size.height, losses.total, losses.style, losses.content, losses.tv,
                          Double(step) / max(elapsed, 1e-9), formatDuration(eta))
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }

    func finish() { FileHandle.standardError.write("\n".data(using: .utf8)!) }
}

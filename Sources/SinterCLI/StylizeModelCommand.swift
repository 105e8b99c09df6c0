import Foundation
import Sinter
import SinterModels

/// `sinter stylize --model CHECKPOINT --content C.png|C.jpg [--style-index K] --out OUT.png`: one pass of
/// a fast-style transformer trained by `sinter train style`, on the content image at its own size
/// (or scaled to a long side of --size). Each new image size traces and compiles a new graph;
/// the kernel cache keeps it, so the next image of that size starts at once.
extension StylizeCommand {
    /// The checks of a one-pass stylize (`--model` or `--onnx`): the files, and no options that
    /// only Gatys optimisation has.
    func checkOnePass(_ path: String, option: String, expected: String) throws {
        try PathChecks.inputFile(content, option: "--content", expected: RasterImage.expected)
        try PathChecks.inputFile(path, option: option, expected: expected)
        try PathChecks.outputFile(out, option: "--out")
        if log != nil || framesEvery != nil {
            throw SinterError.runtime(message: "--log and --frames-every apply to Gatys optimisation; \(option) stylizes in one pass")
        }
    }

    func stylizeWithModel(_ model: String) throws {
        try checkOnePass(model, option: "--model", expected: "a checkpoint written by `sinter train style`")
        let stylizer = try FastStylizer(checkpoint: try Checkpoint.read(path: model), path: model)
        let longSide = try size ?? {
            let image = try RasterImage.read(path: content, maxPixelBytes: StyleImages.maxPixelBytes)
            return max(image.width, image.height)
        }()
        let image = try StyleImages.load(path: content, longSide: longSide)
        let started = Date()
        let result = try stylizer.stylize(image, styleIndex: styleIndex ?? 0)
        try StyleImages.write(result, path: out)
        print(String(format: "wrote %@ (%dx%d, style %d of %d) in %.2f s", out, result.shape[2], result.shape[1], styleIndex ?? 0,
                     stylizer.styles, Date().timeIntervalSince(started)))
    }
}

import Foundation
import Sinter
import SinterModels

/// `sinter stylize --onnx MODEL.onnx --content C.png [--style-index K] --out OUT.png` (a
/// multi-style network), or with `--style S.png --style-model PREDICT.onnx` (an arbitrary
/// stylizer: the predictor turns the style image into the transformer's style vector). One pass
/// per image; each new size is one cached compile.
extension StylizeCommand {
    func stylizeWithONNX(_ path: String) throws {
        try checkOnePass(path, option: "--onnx", expected: "an ONNX stylizer")
        let stylizer = try ONNXStylizer(path: path)
        var vector: HostTensor?
        if stylizer.needsStyleVector {
            guard let style, let styleModel else {
                throw SinterError.runtime(message: "\(path) is an arbitrary stylizer: give --style S.png and --style-model PREDICT.onnx (e.g. arbitrary_predict.onnx)")
            }
            try PathChecks.inputFile(style, option: "--style", expected: RasterImage.expected)
            try PathChecks.inputFile(styleModel, option: "--style-model", expected: "an ONNX style predictor")
            vector = try ONNXStylizer(path: styleModel).predictStyle(StyleImages.decode(path: style))
        } else if style != nil || styleModel != nil {
            throw SinterError.runtime(message: "\(path) has its styles built in (\(stylizer.styleCount)); pick one with --style-index, not --style")
        }
        let started = Date()
        let result = try stylizer.stylize(StyleImages.decode(path: content), longSide: size, styleIndex: styleIndex ?? 0, styleVector: vector)
        try StyleImages.write(result, path: out)
        let which = stylizer.needsStyleVector ? "style of \(style ?? "")" : "style \(styleIndex ?? 0) of \(stylizer.styleCount)"
        print(String(format: "wrote %@ (%dx%d, %@) in %.2f s", out, result.shape[2], result.shape[1], which, Date().timeIntervalSince(started)))
    }
}

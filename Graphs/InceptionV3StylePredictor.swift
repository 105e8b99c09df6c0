import Sinter

/// A slim Inception-v3 convolution as magenta's arg-scope builds it (seed-models §3): conv
/// without bias, BN with beta only (epsilon 1e-3, inference mode: moving statistics), ReLU6.
/// Kernels may be rectangular (the 1x7 / 7x1 factorised convs). Params carry slim's names under
/// the layer's path: `<path>.weights` (HWIO), `<path>.BatchNorm.beta`, `.moving_mean`,
/// `.moving_variance`.
public final class SlimConv: Layer, TensorLayer {
    public let filters: Int
    public let kernel: (Int, Int)
    public let stride: Int
    public let padding: Padding

    public init(_ name: String, _ filters: Int, _ kernel: (Int, Int), stride: Int = 1, padding: Padding = .same) {
        self.filters = filters
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        super.init(name: name)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        let b = x.builder
        let weights = parameter(b, "weights", [kernel.0, kernel.1, x.shape.last ?? 1, filters], initializer: "glorot_uniform", at: location)
        let beta = parameter(b, "BatchNorm.beta", [filters], initializer: "zeros", at: location)
        let mean = parameter(b, "BatchNorm.moving_mean", [filters], initializer: "zeros", trainable: false, at: location)
        let variance = parameter(b, "BatchNorm.moving_variance", [filters], initializer: "ones", trainable: false, at: location)
        let y = conv2d(x, weights, strides: (stride, stride), padding: padding, file: file, line: line)
        return add(subtract(y, mean, file: file, line: line) * (variance + 1e-3).rsqrt(file: file, line: line), beta,
                   file: file, line: line).relu6(file: file, line: line)
    }
}

/// slim `inception_v3_base` up to `Mixed_6e` (final_endpoint), the style predictor's trunk in §3.
/// Layer names follow slim (`InceptionV3.Mixed_5b.Branch_1.Conv2d_0b_5x5`), so converted
/// weights would load by name. Each conv is described where it is used: every one carries its
/// full name, so the struct needs no stored property per layer (there are 70).
///
/// For a (B, 256, 256, 3) input: 127 -> 125 -> 125 -> 62 -> 62 -> 60 -> 29 through the stem,
/// 29x29 through Mixed_5b-5d (256, 288, 288 channels), 14x14x768 from Mixed_6a to Mixed_6e.
public struct InceptionV3StylePredictor: Module {
    public init() {}

    private func conv(_ name: String, _ filters: Int, _ kh: Int, _ kw: Int, stride: Int = 1, padding: Padding = .same) -> SlimConv {
        SlimConv("InceptionV3.\(name)", filters, (kh, kw), stride: stride, padding: padding)
    }

    /// Mixed_6e's output, (B, H', W', 768).
    public func callAsFunction(_ image: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        // The stem: slim's default padding here is VALID.
        var x = conv("Conv2d_1a_3x3", 32, 3, 3, stride: 2, padding: .valid)(image, file: file, line: line)
        x = conv("Conv2d_2a_3x3", 32, 3, 3, padding: .valid)(x, file: file, line: line)
        x = conv("Conv2d_2b_3x3", 64, 3, 3)(x, file: file, line: line)
        x = maxPool(x, 3, strides: 2, padding: .valid, file: file, line: line)
        x = conv("Conv2d_3b_1x1", 80, 1, 1, padding: .valid)(x, file: file, line: line)
        x = conv("Conv2d_4a_3x3", 192, 3, 3, padding: .valid)(x, file: file, line: line)
        x = maxPool(x, 3, strides: 2, padding: .valid, file: file, line: line)
        // 35x35 blocks (29x29 for a 256 input). slim names Mixed_5c's 5x5 branch Conv_1_0c_5x5.
        x = mixed5(x, "Mixed_5b", pool: 32, fiveNames: ("Conv2d_0a_1x1", "Conv2d_0b_5x5"), file: file, line: line)
        x = mixed5(x, "Mixed_5c", pool: 64, fiveNames: ("Conv2d_0b_1x1", "Conv_1_0c_5x5"), file: file, line: line)
        x = mixed5(x, "Mixed_5d", pool: 64, fiveNames: ("Conv2d_0a_1x1", "Conv2d_0b_5x5"), file: file, line: line)
        x = mixed6a(x, file: file, line: line)
        x = mixed6(x, "Mixed_6b", 128, file: file, line: line)
        x = mixed6(x, "Mixed_6c", 160, file: file, line: line)
        x = mixed6(x, "Mixed_6d", 160, file: file, line: line)
        return mixed6(x, "Mixed_6e", 192, file: file, line: line)
    }

    /// 64 (1x1) + 64 (1x1 48 -> 5x5) + 96 (1x1 64 -> 3x3 96 -> 3x3 96) + pool (avg 3x3 SAME -> 1x1).
    private func mixed5(_ x: Tensor, _ block: String, pool: Int, fiveNames: (String, String), file: String, line: Int) -> Tensor {
        let b0 = conv("\(block).Branch_0.Conv2d_0a_1x1", 64, 1, 1)(x, file: file, line: line)
        var b1 = conv("\(block).Branch_1.\(fiveNames.0)", 48, 1, 1)(x, file: file, line: line)
        b1 = conv("\(block).Branch_1.\(fiveNames.1)", 64, 5, 5)(b1, file: file, line: line)
        var b2 = conv("\(block).Branch_2.Conv2d_0a_1x1", 64, 1, 1)(x, file: file, line: line)
        b2 = conv("\(block).Branch_2.Conv2d_0b_3x3", 96, 3, 3)(b2, file: file, line: line)
        b2 = conv("\(block).Branch_2.Conv2d_0c_3x3", 96, 3, 3)(b2, file: file, line: line)
        var b3 = avgPool(x, 3, strides: 1, padding: .same, file: file, line: line)
        b3 = conv("\(block).Branch_3.Conv2d_0b_1x1", pool, 1, 1)(b3, file: file, line: line)
        return concat([b0, b1, b2, b3], axis: 3, file: file, line: line)
    }

    /// The 35 -> 17 reduction: 3x3/2 384 | 1x1 64 -> 3x3 96 -> 3x3/2 96 | max-pool 3x3/2 (768).
    private func mixed6a(_ x: Tensor, file: String, line: Int) -> Tensor {
        let b0 = conv("Mixed_6a.Branch_0.Conv2d_1a_1x1", 384, 3, 3, stride: 2, padding: .valid)(x, file: file, line: line)
        var b1 = conv("Mixed_6a.Branch_1.Conv2d_0a_1x1", 64, 1, 1)(x, file: file, line: line)
        b1 = conv("Mixed_6a.Branch_1.Conv2d_0b_3x3", 96, 3, 3)(b1, file: file, line: line)
        b1 = conv("Mixed_6a.Branch_1.Conv2d_1a_1x1", 96, 3, 3, stride: 2, padding: .valid)(b1, file: file, line: line)
        let b2 = maxPool(x, 3, strides: 2, padding: .valid, file: file, line: line)
        return concat([b0, b1, b2], axis: 3, file: file, line: line)
    }

    /// 17x17 blocks with factorised 7x7 convs of `depth` inner channels; every branch ends at 192.
    private func mixed6(_ x: Tensor, _ block: String, _ depth: Int, file: String, line: Int) -> Tensor {
        let b0 = conv("\(block).Branch_0.Conv2d_0a_1x1", 192, 1, 1)(x, file: file, line: line)
        var b1 = conv("\(block).Branch_1.Conv2d_0a_1x1", depth, 1, 1)(x, file: file, line: line)
        b1 = conv("\(block).Branch_1.Conv2d_0b_1x7", depth, 1, 7)(b1, file: file, line: line)
        b1 = conv("\(block).Branch_1.Conv2d_0c_7x1", 192, 7, 1)(b1, file: file, line: line)
        var b2 = conv("\(block).Branch_2.Conv2d_0a_1x1", depth, 1, 1)(x, file: file, line: line)
        b2 = conv("\(block).Branch_2.Conv2d_0b_7x1", depth, 7, 1)(b2, file: file, line: line)
        b2 = conv("\(block).Branch_2.Conv2d_0c_1x7", depth, 1, 7)(b2, file: file, line: line)
        b2 = conv("\(block).Branch_2.Conv2d_0d_7x1", depth, 7, 1)(b2, file: file, line: line)
        b2 = conv("\(block).Branch_2.Conv2d_0e_1x7", 192, 1, 7)(b2, file: file, line: line)
        var b3 = avgPool(x, 3, strides: 1, padding: .same, file: file, line: line)
        b3 = conv("\(block).Branch_3.Conv2d_0b_1x1", 192, 1, 1)(b3, file: file, line: line)
        return concat([b0, b1, b2, b3], axis: 3, file: file, line: line)
    }
}

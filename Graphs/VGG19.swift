import Sinter

/// Keras `VGG19(include_top=False)` (seed-models §2): 16 convolutions, every one 3x3 stride 1 SAME
/// with bias and ReLU, in five blocks each closed by a 2x2 stride-2 VALID max-pool. Params are
/// named as Keras names the layers (`block1_conv1.kernel` HWIO, `block1_conv1.bias`), so converted
/// ImageNet weights load by name. `widthDivisor` divides the widths 64/128/256/512/512 (the golden
/// `-w8` case has 8/16/32/64/64).
///
/// Params are created when a layer is first used: `features(_:outputs:)` truncated at
/// block5_conv2 (what NST needs) has the 14 convolutions of the truncated Keras model, 15,304,768
/// params at full width; `callAsFunction` runs the whole stack (20,024,384 params).
public struct VGG19: Module {
    public let block1_conv1: Conv2D
    public let block1_conv2: Conv2D
    public let block2_conv1: Conv2D
    public let block2_conv2: Conv2D
    public let block3_conv1: Conv2D
    public let block3_conv2: Conv2D
    public let block3_conv3: Conv2D
    public let block3_conv4: Conv2D
    public let block4_conv1: Conv2D
    public let block4_conv2: Conv2D
    public let block4_conv3: Conv2D
    public let block4_conv4: Conv2D
    public let block5_conv1: Conv2D
    public let block5_conv2: Conv2D
    public let block5_conv3: Conv2D
    public let block5_conv4: Conv2D

    /// Convolutions per block, and the blocks' widths at full size.
    public static let blockDepths = [2, 2, 4, 4, 4]
    public static let blockWidths = [64, 128, 256, 512, 512]
    /// Every conv layer's Keras name, in network order.
    public static let layerNames: [String] = zip(1..., blockDepths).flatMap { block, depth in
        (1...depth).map { "block\(block)_conv\($0)" }
    }

    public init(widthDivisor: Int = 1) {
        let conv = { (block: Int) in Conv2D(scaled(VGG19.blockWidths[block - 1], widthDivisor), kernel: 3, activation: .relu) }
        block1_conv1 = conv(1); block1_conv2 = conv(1)
        block2_conv1 = conv(2); block2_conv2 = conv(2)
        block3_conv1 = conv(3); block3_conv2 = conv(3); block3_conv3 = conv(3); block3_conv4 = conv(3)
        block4_conv1 = conv(4); block4_conv2 = conv(4); block4_conv3 = conv(4); block4_conv4 = conv(4)
        block5_conv1 = conv(5); block5_conv2 = conv(5); block5_conv3 = conv(5); block5_conv4 = conv(5)
    }

    /// The conv layers with their names, in network order; `true` where a max-pool follows.
    var layers: [(name: String, conv: Conv2D, poolAfter: Bool)] {
        let convs = [block1_conv1, block1_conv2, block2_conv1, block2_conv2,
                     block3_conv1, block3_conv2, block3_conv3, block3_conv4,
                     block4_conv1, block4_conv2, block4_conv3, block4_conv4,
                     block5_conv1, block5_conv2, block5_conv3, block5_conv4]
        let blockEnds = Set(["block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4", "block5_conv4"])
        return zip(Self.layerNames, convs).map { ($0, $1, blockEnds.contains($0)) }
    }

    /// The post-ReLU outputs of the named conv layers for an already preprocessed input (NHWC,
    /// BGR minus the ImageNet means: `caffePreprocess`). The network runs only as far as the last
    /// requested layer, so no later layer gets params. Unknown names are a shape error.
    public func features(_ x: Tensor, outputs: [String], file: String = #fileID, line: Int = #line) -> [String: Tensor] {
        let wanted = Set(outputs)
        let unknown = wanted.subtracting(Self.layerNames)
        guard unknown.isEmpty else {
            x.builder.record(.shape(op: "vgg19", message: "no layer named \(unknown.sorted().joined(separator: ", ")); VGG-19's conv layers are \(Self.layerNames.joined(separator: ", "))",
                                    location: SourceLocation(file: file, line: line)))
            return [:]
        }
        var found: [String: Tensor] = [:]
        var h = x
        for layer in layers where found.count < wanted.count {
            h = layer.conv(h, file: file, line: line)
            if wanted.contains(layer.name) { found[layer.name] = h }
            if layer.poolAfter { h = maxPool(h, 2, file: file, line: line) }
        }
        return found
    }

    /// The whole conv stack through block5_pool (Keras `include_top=False`, `pooling=None`).
    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        var h = x
        for layer in layers {
            h = layer.conv(h, file: file, line: line)
            if layer.poolAfter { h = maxPool(h, 2, file: file, line: line) }
        }
        return h
    }
}

/// Keras `vgg19.preprocess_input` ("caffe" mode) on NHWC RGB in 0..255, inside the graph so the
/// image's gradient flows through it: channels reversed to BGR, then the ImageNet BGR means
/// subtracted; no scaling.
public func caffePreprocess(_ rgb: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    let bgr = rgb.reversed(axes: [rgb.rank - 1], file: file, line: line)
    let means = caffeBGRMeans.map { rgb.builder.constant($0, [1, 1, 1, 1], file: file, line: line) }
    return bgr - concat(means, axis: 3, file: file, line: line)
}

/// The BGR channel means `preprocess_input` subtracts (seed-models §2).
public let caffeBGRMeans = [103.939, 116.779, 123.68]

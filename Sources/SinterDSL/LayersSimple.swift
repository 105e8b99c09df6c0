import SinterIR

// Parameter-free layers, so `Sequential { ... }` stacks read like Keras.

public struct MaxPool: TensorLayer, Module {
    public let size: Int, strides: Int?, padding: Padding
    public init(_ size: Int = 2, strides: Int? = nil, padding: Padding = .valid) {
        self.size = size; self.strides = strides; self.padding = padding
    }
    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        maxPool(x, size, strides: strides, padding: padding, file: file, line: line)
    }
}

public struct AvgPool: TensorLayer, Module {
    public let size: Int, strides: Int?, padding: Padding
    public init(_ size: Int = 2, strides: Int? = nil, padding: Padding = .valid) {
        self.size = size; self.strides = strides; self.padding = padding
    }
    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        avgPool(x, size, strides: strides, padding: padding, file: file, line: line)
    }
}

public struct UpSampling2D: TensorLayer, Module {
    public let factor: Int
    public init(_ factor: Int = 2) { self.factor = factor }
    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        upSample(x, factor, file: file, line: line)
    }
}

public struct Flatten: TensorLayer, Module {
    public init() {}
    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        x.flattened(file: file, line: line)
    }
}

/// Reshape to (batch, shape...), as Keras Reshape.
public struct Reshape: TensorLayer, Module {
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        x.reshaped([x.shape.first ?? 1] + shape, file: file, line: line)
    }
}

public struct ActivationLayer: TensorLayer, Module {
    public let activation: Activation
    public init(_ activation: Activation) { self.activation = activation }
    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        activation.apply(x, file: file, line: line)
    }
}

/// Inverted dropout: in training, zero each element with probability `rate` and scale the rest
/// by 1/(1-rate); identity otherwise or when the builder has dropout disabled.
public struct Dropout: TensorLayer, Module {
    public let rate: Double
    public init(_ rate: Double) { self.rate = rate }
    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let builder = x.builder
        guard builder.training, builder.dropoutEnabled, rate > 0 else { return x }
        let draw = randomUniform(builder, x.shape, file: file, line: line)
        let keep = draw.binary(.greaterEqual, draw.scalar(rate, at: SourceLocation(file: file, line: line)),
                               at: SourceLocation(file: file, line: line))
        return builder.located(file, line) { multiply(x, keep, file: file, line: line) * (1 / (1 - rate)) }
    }
}

/// A plain stack of layers applied in order.
public final class Sequential: Layer, TensorLayer {
    public let layers: [any TensorLayer]

    public init(name: String? = nil, @SequentialBuilder _ content: () -> [any TensorLayer]) {
        layers = content()
        super.init(name: name)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        layers.reduce(x) { $1($0, file: file, line: line) }
    }
}

@resultBuilder
public enum SequentialBuilder {
    public static func buildExpression(_ layer: any TensorLayer) -> [any TensorLayer] { [layer] }
    public static func buildBlock(_ parts: [any TensorLayer]...) -> [any TensorLayer] { parts.flatMap { $0 } }
}

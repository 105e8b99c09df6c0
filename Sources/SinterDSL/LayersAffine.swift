import SinterIR

/// Keras Dense: y = x @ kernel + bias, kernel (in, out), glorot-uniform, zero bias.
public final class Dense: Layer, TensorLayer {
    public let units: Int
    public let activation: Activation
    public let useBias: Bool

    public init(_ units: Int, activation: Activation = .linear, useBias: Bool = true, name: String? = nil) {
        self.units = units
        self.activation = activation
        self.useBias = useBias
        super.init(name: name)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        let kernel = parameter(x.builder, "kernel", [x.shape.last ?? 1, units], initializer: "glorot_uniform", at: location)
        var y = matmul(x, kernel, file: file, line: line)
        if useBias { y = add(y, parameter(x.builder, "bias", [units], initializer: "zeros", at: location), file: file, line: line) }
        return activation.apply(y, file: file, line: line)
    }
}

/// Keras Conv2D: NHWC input, HWIO kernel, TF SAME/VALID padding.
public final class Conv2D: Layer, TensorLayer {
    public let filters: Int
    public let kernelSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    public let activation: Activation
    public let useBias: Bool

    public init(_ filters: Int, kernel: Int, strides: Int = 1, padding: Padding = .same, activation: Activation = .linear,
                useBias: Bool = true, name: String? = nil) {
        self.filters = filters
        kernelSize = (kernel, kernel)
        self.strides = (strides, strides)
        self.padding = padding
        self.activation = activation
        self.useBias = useBias
        super.init(name: name)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        let kernel = parameter(x.builder, "kernel", [kernelSize.0, kernelSize.1, x.shape.last ?? 1, filters],
                               initializer: "glorot_uniform", at: location)
        var y = conv2d(x, kernel, strides: strides, padding: padding, file: file, line: line)
        if useBias { y = add(y, parameter(x.builder, "bias", [filters], initializer: "zeros", at: location), file: file, line: line) }
        return activation.apply(y, file: file, line: line)
    }
}

/// Keras Conv2DTranspose: kernel (kh, kw, out, in).
public final class Conv2DTranspose: Layer, TensorLayer {
    public let filters: Int
    public let kernelSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    public let activation: Activation
    public let useBias: Bool

    public init(_ filters: Int, kernel: Int, strides: Int = 1, padding: Padding = .same, activation: Activation = .linear,
                useBias: Bool = true, name: String? = nil) {
        self.filters = filters
        kernelSize = (kernel, kernel)
        self.strides = (strides, strides)
        self.padding = padding
        self.activation = activation
        self.useBias = useBias
        super.init(name: name)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        let kernel = parameter(x.builder, "kernel", [kernelSize.0, kernelSize.1, filters, x.shape.last ?? 1],
                               initializer: "glorot_uniform", at: location)
        var y = conv2dTranspose(x, kernel, strides: strides, padding: padding, file: file, line: line)
        if useBias { y = add(y, parameter(x.builder, "bias", [filters], initializer: "zeros", at: location), file: file, line: line) }
        return activation.apply(y, file: file, line: line)
    }
}

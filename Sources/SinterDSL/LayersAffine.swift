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

/// What Conv2D and Conv2DTranspose share: Keras's arguments, and "kernel, op, bias,
/// activation". Subclasses say only how the kernel is shaped and which op applies it.
public class ConvolutionLayer: Layer {
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

    /// The kernel's shape for `inputChannels` (HWIO for Conv2D, (kh, kw, out, in) for the transpose).
    func kernelShape(inputChannels: Int) -> [Int] { fatalError("subclass responsibility") }

    /// The op applying `kernel` to `x`.
    func apply(_ x: Tensor, _ kernel: Tensor, file: String, line: Int) -> Tensor { fatalError("subclass responsibility") }

    func forward(_ x: Tensor, file: String, line: Int) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        let kernel = parameter(x.builder, "kernel", kernelShape(inputChannels: x.shape.last ?? 1), initializer: "glorot_uniform", at: location)
        var y = apply(x, kernel, file: file, line: line)
        if useBias { y = add(y, parameter(x.builder, "bias", [filters], initializer: "zeros", at: location), file: file, line: line) }
        return activation.apply(y, file: file, line: line)
    }
}

/// Keras Conv2D: NHWC input, HWIO kernel, TF SAME/VALID padding.
public final class Conv2D: ConvolutionLayer, TensorLayer {
    override func kernelShape(inputChannels: Int) -> [Int] { [kernelSize.0, kernelSize.1, inputChannels, filters] }

    override func apply(_ x: Tensor, _ kernel: Tensor, file: String, line: Int) -> Tensor {
        conv2d(x, kernel, strides: strides, padding: padding, file: file, line: line)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        forward(x, file: file, line: line)
    }
}

/// Keras Conv2DTranspose: kernel (kh, kw, out, in).
public final class Conv2DTranspose: ConvolutionLayer, TensorLayer {
    override func kernelShape(inputChannels: Int) -> [Int] { [kernelSize.0, kernelSize.1, filters, inputChannels] }

    override func apply(_ x: Tensor, _ kernel: Tensor, file: String, line: Int) -> Tensor {
        conv2dTranspose(x, kernel, strides: strides, padding: padding, file: file, line: line)
    }

    public func callAsFunction(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
        forward(x, file: file, line: line)
    }
}

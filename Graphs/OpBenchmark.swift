import Sinter

/// One op of the compiler as a benchmark (`sinter bench --op`): a one-op graph whose inputs are
/// the op's operands and whose output is its result, compiled through the normal path, so the
/// kernel timed is the one a model of that geometry gets. `OpReference` checks its result.
public struct OpBenchmark: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// C[m,n] = A[m,k] B[k,n].
        case matmul(m: Int, n: Int, k: Int)
        /// A forward convolution of `ConvBenchGeometry`, or one of its two gradients.
        case conv2d(ConvBenchGeometry, ConvBenchPass)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// The ops `--op` names.
    public static let ops = ["matmul", "conv2d"]
    /// The shapes `--op` benches when `--shape` is not given: those of the peer scripts
    /// (`bench_tf.py matmul` and `bench_numpy.py`: n = 512, 1024, 2048; `bench_tf.py conv`:
    /// N32 56x56 64->64, 3x3, stride 1, SAME).
    public static let defaultShapes = ["matmul": ["512x512x512", "1024x1024x1024", "2048x2048x2048"],
                                       "conv2d": ["32x56x56x64,3x3x64x64"]]

    /// The IR op timed.
    public var opName: String {
        switch kind {
        case .matmul: return "matmul"
        case let .conv2d(_, pass): return pass.opName
        }
    }

    /// The shape as `--shape` takes it (`MxNxK`, or `NxHxWxC,KHxKWxCxO` for every conv pass).
    public var shapeText: String {
        switch kind {
        case let .matmul(m, n, k): return "\(m)x\(n)x\(k)"
        case let .conv2d(g, _): return g.shapeText
        }
    }

    /// The operands as graph inputs, in the op's operand order.
    public var operands: [(name: String, shape: [Int])] {
        switch kind {
        case let .matmul(m, n, k): return [("a", [m, k]), ("b", [k, n])]
        case let .conv2d(g, .forward): return [("x", g.inputShape), ("w", g.kernelShape)]
        case let .conv2d(g, .inputGrad): return [("dy", g.outputShape), ("w", g.kernelShape)]
        case let .conv2d(g, .filterGrad): return [("x", g.inputShape), ("dy", g.outputShape)]
        }
    }

    /// The shape of the op's result (the graph output `y`).
    public var resultShape: [Int] {
        switch kind {
        case let .matmul(m, n, _): return [m, n]
        case let .conv2d(g, .forward): return g.outputShape
        case let .conv2d(g, .inputGrad): return g.inputShape
        case let .conv2d(g, .filterGrad): return g.kernelShape
        }
    }

    /// Multiply-adds of the op as a dense computation (every kernel tap, padding included, as
    /// the peers count a convolution's FLOPs): the FLOPs are twice this.
    public var multiplyAdds: Int {
        switch kind {
        case let .matmul(m, n, k): return [m, n, k].reduce(1, SizeLimits.saturatingProduct)
        case let .conv2d(g, _):
            return [g.batch, g.outputHeight, g.outputWidth, g.outChannels, g.kernelHeight, g.kernelWidth, g.inChannels]
                .reduce(1, SizeLimits.saturatingProduct)
        }
    }

    public var flops: Double { 2 * Double(multiplyAdds) }

    /// The one-op graph: inputs named as `operands`, output `y`.
    public func graph() throws -> Graph {
        let builder = GraphBuilder(name: "bench_\(opName)")
        let inputs = operands.map { builder.input($0.name, $0.shape) }
        let result: Tensor
        switch kind {
        case .matmul:
            result = matmul(inputs[0], inputs[1])
        case let .conv2d(g, pass):
            let type = TensorType(.f32, resultShape)
            result = builder.node(pass.op, inputs, g.attributes, type: pass == .forward ? nil : type,
                                  at: SourceLocation(file: #fileID, line: #line))
        }
        let graph = try builder.finish()
        try graph.addOutput("y", result.id)
        return graph
    }
}

/// Which convolution `--op conv2d` times: the forward op, or (`--grad`) one of its gradients.
public enum ConvBenchPass: String, Sendable, CaseIterable {
    case forward
    /// `--grad input`: conv2d_input_grad (dy, w) -> dx, also Conv2DTranspose.
    case inputGrad = "input"
    /// `--grad filter`: conv2d_filter_grad (x, dy) -> dw.
    case filterGrad = "filter"

    var op: Op {
        switch self {
        case .forward: return .conv2d
        case .inputGrad: return .conv2dInputGrad
        case .filterGrad: return .conv2dFilterGrad
        }
    }

    public var opName: String { op.rawValue }
}

/// A convolution's geometry: input NHWC, kernel HWIO, one stride for both axes, TF padding.
public struct ConvBenchGeometry: Sendable, Equatable {
    public let batch, height, width, inChannels: Int
    public let kernelHeight, kernelWidth, outChannels: Int
    public let stride: Int
    public let padding: Padding
    /// [top, bottom, left, right], by TensorFlow's rule for `padding`.
    public let pads: [Int]
    public let outputHeight, outputWidth: Int

    public var inputShape: [Int] { [batch, height, width, inChannels] }
    public var kernelShape: [Int] { [kernelHeight, kernelWidth, inChannels, outChannels] }
    public var outputShape: [Int] { [batch, outputHeight, outputWidth, outChannels] }
    public var shapeText: String {
        inputShape.map(String.init).joined(separator: "x") + "," + kernelShape.map(String.init).joined(separator: "x")
    }

    var attributes: Attributes { Attributes(["strides": .ints([stride, stride]), "pads": .ints(pads)]) }

    /// Throws (naming `--shape`) unless both shapes have rank 4 and positive extents, the stride
    /// is at least 1 and the kernel fits the padded input.
    public init(input: [Int], kernel: [Int], stride: Int, padding: Padding) throws {
        let given = input.map(String.init).joined(separator: "x") + "," + kernel.map(String.init).joined(separator: "x")
        guard input.count == 4, kernel.count == 4, (input + kernel).allSatisfy({ $0 >= 1 }), stride >= 1 else {
            throw SinterError.runtime(message: "--shape \(given) (stride \(stride)): expected an NHWC input and an HWIO kernel of positive extents, and a stride of at least 1")
        }
        (batch, height, width, inChannels) = (input[0], input[1], input[2], input[3])
        (kernelHeight, kernelWidth, outChannels) = (kernel[0], kernel[1], kernel[3])
        self.stride = stride
        self.padding = padding
        let (top, bottom) = padding.pads(size: height, kernel: kernelHeight, stride: stride)
        let (left, right) = padding.pads(size: width, kernel: kernelWidth, stride: stride)
        pads = [top, bottom, left, right]
        guard kernel[2] == inChannels else {
            throw SinterError.runtime(message: "--shape \(given): the input has \(inChannels) channels but the kernel (HWIO) expects \(kernel[2])")
        }
        guard height + top + bottom >= kernelHeight, width + left + right >= kernelWidth else {
            throw SinterError.runtime(message: "--shape \(given): a \(kernelHeight)x\(kernelWidth) kernel does not fit a \(height)x\(width) input with \(padding.rawValue) padding")
        }
        outputHeight = (height + top + bottom - kernelHeight) / stride + 1
        outputWidth = (width + left + right - kernelWidth) / stride + 1
    }
}

extension OpBenchmark {
    /// The largest extent `--shape` accepts on any axis: a sanity bound against typos (the
    /// memory guard refuses smaller shapes that still do not fit).
    public static let maxExtent = 1 << 20

    /// The benchmark `sinter bench --op OP --shape SHAPE [--stride S] [--padding P] [--grad G]`
    /// names. Every refusal is a `SinterError.runtime` naming the option and the text given.
    public static func parse(op: String, shape: String, stride: Int = 1, padding: Padding = .same,
                             grad: ConvBenchPass = .forward) throws -> OpBenchmark {
        let shown = SinterError.excerpt(shape.utf8, limit: 60)
        switch op {
        case "matmul":
            let dims = try extents(shape, shown, rank: 3, what: "MxNxK (C[M,N] = A[M,K] B[K,N])")
            return try OpBenchmark(.matmul(m: dims[0], n: dims[1], k: dims[2])).checkedSizes(shown)
        case "conv2d":
            let parts = shape.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw SinterError.runtime(message: "--shape '\(shown)': conv2d takes NxHxWxC,KHxKWxCxO (input NHWC, kernel HWIO), e.g. 32x56x56x64,3x3x64x64")
            }
            let input = try extents(String(parts[0]), shown, rank: 4, what: "the input NxHxWxC")
            let kernel = try extents(String(parts[1]), shown, rank: 4, what: "the kernel KHxKWxCxO")
            return try OpBenchmark(.conv2d(try ConvBenchGeometry(input: input, kernel: kernel, stride: stride, padding: padding), grad))
                .checkedSizes(shown)
        default:
            throw SinterError.runtime(message: "--op '\(SinterError.excerpt(op.utf8, limit: 40))': expected \(ops.joined(separator: " or "))")
        }
    }

    /// Self, when every operand and the result have a byte size that fits Int (the memory guard
    /// then refuses what does not fit the machine, before anything is compiled or allocated).
    private func checkedSizes(_ shown: String) throws -> OpBenchmark {
        for (name, shape) in operands + [("the result", resultShape)] {
            guard let count = SizeLimits.elementCount(shape), !count.multipliedReportingOverflow(by: 4).overflow else {
                throw SinterError.runtime(message: "--shape '\(shown)': \(name) \(SinterIR.shapeText(shape)) has more bytes than fit in Int")
            }
        }
        return self
    }

    /// `rank` whole numbers separated by `x`, each between 1 and `maxExtent`.
    private static func extents(_ text: String, _ shown: String, rank: Int, what: String) throws -> [Int] {
        let fields = text.split(separator: "x", omittingEmptySubsequences: false)
        let values = fields.map { field in field.allSatisfy(\.isASCII) ? Int(field) : nil }
        guard fields.count == rank, values.allSatisfy({ $0 != nil }) else {
            throw SinterError.runtime(message: "--shape '\(shown)': expected \(rank) whole numbers separated by 'x' for \(what)")
        }
        let dims = values.map { $0! }
        guard dims.allSatisfy({ (1...maxExtent).contains($0) }) else {
            throw SinterError.runtime(message: "--shape '\(shown)': every extent of \(what) must be between 1 and \(maxExtent)")
        }
        return dims
    }
}

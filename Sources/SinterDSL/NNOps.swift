import SinterIR

// Functional forms of the network ops, with Keras semantics. Layers (Layers*.swift) call these.

/// 2-D cross-correlation, x NHWC, kernel HWIO (Keras Conv2D).
public func conv2d(_ x: Tensor, _ kernel: Tensor, strides: (Int, Int) = (1, 1), padding: Padding = .same,
                   file: String = #fileID, line: Int = #line) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    guard x.rank == 4, kernel.rank == 4 else {
        x.builder.record(.shape(op: "conv2d", message: "input \(x.type) must be NHWC and kernel \(kernel.type) HWIO", location: location))
        return Tensor.poison(x.builder, x.type)
    }
    let pads = windowPads(padding, h: x.shape[1], w: x.shape[2], kernel: (kernel.shape[0], kernel.shape[1]), strides: strides)
    return x.builder.node(.conv2d, [x, kernel], Attributes(["strides": .ints([strides.0, strides.1]), "pads": .ints(pads)]), at: location)
}

/// Keras Conv2DTranspose: kernel (kh, kw, out, in); the input-gradient of the forward conv that
/// maps the output back to the input, with that conv's TF padding.
public func conv2dTranspose(_ x: Tensor, _ kernel: Tensor, strides: (Int, Int) = (1, 1), padding: Padding = .same,
                            file: String = #fileID, line: Int = #line) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    guard x.rank == 4, kernel.rank == 4 else {
        x.builder.record(.shape(op: "conv2d_transpose", message: "input \(x.type) must be NHWC and kernel \(kernel.type) (kh,kw,out,in)", location: location))
        return Tensor.poison(x.builder, x.type)
    }
    let (kh, kw) = (kernel.shape[0], kernel.shape[1])
    let outH = padding.transposedSize(size: x.shape[1], kernel: kh, stride: strides.0)
    let outW = padding.transposedSize(size: x.shape[2], kernel: kw, stride: strides.1)
    let pads = windowPads(padding, h: outH, w: outW, kernel: (kh, kw), strides: strides)
    let outType = TensorType(x.dtype, [x.shape[0], outH, outW, kernel.shape[2]])
    return x.builder.node(.conv2dInputGrad, [x, kernel], Attributes(["strides": .ints([strides.0, strides.1]), "pads": .ints(pads)]),
                          type: outType, at: location)
}

func pool(_ op: Op, _ x: Tensor, _ size: (Int, Int), _ strides: (Int, Int)?, _ padding: Padding, _ location: SourceLocation) -> Tensor {
    guard x.rank == 4 else {
        x.builder.record(.shape(op: op.rawValue, message: "input \(x.type) must be NHWC", location: location))
        return Tensor.poison(x.builder, x.type)
    }
    let strides = strides ?? size
    let pads = windowPads(padding, h: x.shape[1], w: x.shape[2], kernel: size, strides: strides)
    return x.builder.node(op, [x], Attributes(["window": .ints([size.0, size.1]), "strides": .ints([strides.0, strides.1]),
                                               "pads": .ints(pads)]), at: location)
}

/// Max over windows (strides default to the window size, as in Keras).
public func maxPool(_ x: Tensor, _ size: Int = 2, strides: Int? = nil, padding: Padding = .valid,
                    file: String = #fileID, line: Int = #line) -> Tensor {
    pool(.maxPool, x, (size, size), strides.map { ($0, $0) }, padding, SourceLocation(file: file, line: line))
}

/// Mean over windows; with SAME padding the padded cells are not counted (TF semantics).
public func avgPool(_ x: Tensor, _ size: Int = 2, strides: Int? = nil, padding: Padding = .valid,
                    file: String = #fileID, line: Int = #line) -> Tensor {
    pool(.avgPool, x, (size, size), strides.map { ($0, $0) }, padding, SourceLocation(file: file, line: line))
}

/// Nearest-neighbour up-sampling by an integer factor (Keras UpSampling2D), built from
/// reshape + broadcast so its gradient (a sum over each block) needs no op of its own.
public func upSample(_ x: Tensor, _ factor: Int = 2, file: String = #fileID, line: Int = #line) -> Tensor {
    guard x.rank == 4 else {
        x.builder.record(.shape(op: "upsample", message: "input \(x.type) must be NHWC", location: SourceLocation(file: file, line: line)))
        return Tensor.poison(x.builder, x.type)
    }
    let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return x.reshaped([b, h, 1, w, 1, c], file: file, line: line)
        .broadcast(to: [b, h, factor, w, factor, c], file: file, line: line)
        .reshaped([b, SizeLimits.saturatingProduct(h, factor), SizeLimits.saturatingProduct(w, factor), c], file: file, line: line)
}

/// tf.image.resize bilinear: half-pixel centres, no antialias.
public func resizeBilinear(_ x: Tensor, height: Int, width: Int, file: String = #fileID, line: Int = #line) -> Tensor {
    x.builder.node(.resizeBilinear, [x], type: TensorType(x.dtype, [x.shape.first ?? 1, height, width, x.shape.last ?? 1]),
                   at: SourceLocation(file: file, line: line))
}

/// Samples of N(0,1) with a fresh value every run (counter-based; the builder's seed fixes the stream).
public func randomNormal(_ builder: GraphBuilder, _ shape: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let counter = builder.randomCounter(at: location)
    return builder.node(.randomNormal, [counter], Attributes(["seed": .int(builder.nextSeed())]),
                        type: TensorType(builder.dtype, shape), at: location)
}

/// Samples of U[low, high), fresh every run.
public func randomUniform(_ builder: GraphBuilder, _ shape: [Int], low: Double = 0, high: Double = 1,
                          file: String = #fileID, line: Int = #line) -> Tensor {
    let location = SourceLocation(file: file, line: line)
    let counter = builder.randomCounter(at: location)
    return builder.node(.randomUniform, [counter], Attributes(["seed": .int(builder.nextSeed()), "low": .float(low), "high": .float(high)]),
                        type: TensorType(builder.dtype, shape), at: location)
}

/// Gram matrix of NHWC features: G[b,c,d] = sum_ij F[b,i,j,c] F[b,i,j,d] / (H*W).
public func gram(_ features: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    let (b, h, w, c) = (features.shape[0], features.shape[1], features.shape[2], features.shape[3])
    let flat = features.reshaped([b, h * w, c], file: file, line: line)
    return features.builder.located(file, line) { matmul(flat, flat, transposeA: true, file: file, line: line) / Double(h * w) }
}

/// tf.image.total_variation: per image, the sum of absolute differences of vertical and
/// horizontal neighbours. Shape (B,).
public func totalVariation(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return x.builder.located(file, line) {
        let down = x.slice(begin: [0, 1, 0, 0], end: [b, h, w, c], file: file, line: line)
            - x.slice(begin: [0, 0, 0, 0], end: [b, h - 1, w, c], file: file, line: line)
        let right = x.slice(begin: [0, 0, 1, 0], end: [b, h, w, c], file: file, line: line)
            - x.slice(begin: [0, 0, 0, 0], end: [b, h, w - 1, c], file: file, line: line)
        return down.abs(file: file, line: line).sum(axes: [1, 2, 3], file: file, line: line)
            + right.abs(file: file, line: line).sum(axes: [1, 2, 3], file: file, line: line)
    }
}

import SinterIR

// Reductions and data movement. Axes may be negative (counted from the end).

extension Tensor {
    func reduce(_ op: Op, _ axes: [Int]?, keepDims: Bool, file: String, line: Int) -> Tensor {
        unary(op, Attributes(["axes": .ints(axes ?? Array(0..<rank)), "keepdims": .bool(keepDims)]), file: file, line: line)
    }

    /// Sum over `axes` (all axes when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.reduceSum, axes, keepDims: keepDims, file: file, line: line)
    }

    public func mean(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.reduceMean, axes, keepDims: keepDims, file: file, line: line)
    }

    public func max(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Tensor {
        reduce(.reduceMax, axes, keepDims: keepDims, file: file, line: line)
    }

    /// Row-major reshape; one dimension may be -1 (inferred).
    public func reshaped(_ shape: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
        var shape = shape
        let location = SourceLocation(file: file, line: line)
        if isPoisoned { return Tensor.poison(builder, TensorType(dtype, shape.map { Swift.max($0, 1) })) }
        if let hole = shape.firstIndex(of: -1) {
            var rest = shape
            rest.remove(at: hole)
            // Only one -1, every other dimension positive, and a product that fits Int.
            guard let known = SizeLimits.elementCount(rest), known > 0, type.count % known == 0 else {
                builder.record(.shape(op: "reshape", message: "cannot reshape \(type) (\(type.count) elements) to \(shapeText(shape))",
                                      location: location))
                return Tensor.poison(builder, TensorType(dtype, shape.map { Swift.max($0, 1) }))
            }
            shape[hole] = type.count / known
        }
        return builder.node(.reshape, [self], type: TensorType(dtype, shape), at: location)
    }

    /// (B, ...) -> (B, product of the rest), NHWC row-major like Keras Flatten.
    public func flattened(file: String = #fileID, line: Int = #line) -> Tensor {
        reshaped([shape.first ?? 1, -1], file: file, line: line)
    }

    public func broadcast(to shape: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
        if shape == self.shape { return self }
        return builder.node(.broadcastTo, [self], type: TensorType(dtype, shape), at: SourceLocation(file: file, line: line))
    }

    public func transposed(_ perm: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
        unary(.transpose, Attributes(["perm": .ints(perm)]), file: file, line: line)
    }

    /// x[begin..<end] along every axis.
    public func slice(begin: [Int], end: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
        unary(.slice, Attributes(["begin": .ints(begin), "end": .ints(end)]), file: file, line: line)
    }

    /// Splits `axis` into `count` equal parts (CVAE mean / log-variance).
    public func split(_ count: Int, axis: Int = -1, file: String = #fileID, line: Int = #line) -> [Tensor] {
        let axis = axis < 0 ? axis + rank : axis
        guard axis >= 0, axis < rank, count > 0, shape[axis] % count == 0 else {
            builder.record(.shape(op: "split", message: "cannot split axis \(axis) of \(type) into \(count) equal parts",
                                  location: SourceLocation(file: file, line: line)))
            // Enough poisoned parts for the caller to index, never a huge allocation.
            return Array(repeating: Tensor.poison(builder, type), count: Swift.min(Swift.max(count, 1), 16))
        }
        let part = shape[axis] / count
        return (0..<count).map { index in
            var begin = [Int](repeating: 0, count: rank), end = shape
            begin[axis] = index * part
            end[axis] = (index + 1) * part
            return slice(begin: begin, end: end, file: file, line: line)
        }
    }

    /// Pads each axis by (before, after): zeros, or TF REFLECT (edge not repeated).
    public func padded(_ pads: [(Int, Int)], mode: PadMode = .constant, file: String = #fileID, line: Int = #line) -> Tensor {
        unary(.pad, Attributes(["pads": .ints(pads.flatMap { [$0.0, $0.1] }), "mode": .string(mode.rawValue)]),
              file: file, line: line)
    }

    public func reversed(axes: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
        unary(.reverse, Attributes(["axes": .ints(axes)]), file: file, line: line)
    }
}

public enum PadMode: String { case constant, reflect }

public func concat(_ tensors: [Tensor], axis: Int, file: String = #fileID, line: Int = #line) -> Tensor {
    guard let first = tensors.first else { preconditionFailure("concat of no tensors") }
    return first.builder.node(.concat, tensors, Attributes(["axis": .int(axis)]), at: SourceLocation(file: file, line: line))
}

/// Matrix product; rank 2, or rank 3 batched.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                   file: String = #fileID, line: Int = #line) -> Tensor {
    a.builder.node(.matmul, [a, b], Attributes(["transpose_a": .bool(transposeA), "transpose_b": .bool(transposeB)]),
                   at: SourceLocation(file: file, line: line))
}

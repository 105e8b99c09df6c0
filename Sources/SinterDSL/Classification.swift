import SinterIR

// The classification primitives, with Keras semantics: softmax and log-softmax (max-subtracted,
// so no exp overflows), argmax, one-hot, stop-gradient, and the class indices that sparse losses
// and metrics take. Losses are in ClassificationLosses.swift, metrics in Metrics.swift.

/// How a per-sample loss or metric is reduced over the batch (Keras's `reduction`): `.mean` is
/// Keras's default "sum_over_batch_size".
public enum Reduction: Sendable, Equatable { case mean, sum, none }

extension Tensor {
    /// This per-sample tensor reduced over all its axes (or as it is for `.none`).
    func reduced(_ reduction: Reduction, file: String, line: Int) -> Tensor {
        switch reduction {
        case .mean: return mean(file: file, line: line)
        case .sum: return sum(file: file, line: line)
        case .none: return self
        }
    }

    /// The same values; autodiff sends no gradient through (tf.stop_gradient).
    public func stoppedGradient(file: String = #fileID, line: Int = #line) -> Tensor {
        unary(.stopGradient, file: file, line: line)
    }

    /// The logits this tensor is the softmax of, when it came straight out of `softmax` over its
    /// last axis.
    var softmaxLogits: Tensor? {
        guard !isPoisoned, let logits = builder.softmaxLogits[id] else { return nil }
        return Tensor(builder: builder, id: logits)
    }
}

/// x - max(x) along `axis`, the max a constant to autodiff (it cancels out of softmax and
/// log-softmax exactly; letting its gradient through would only add rounding).
func shiftedByMax(_ x: Tensor, axis: Int, file: String, line: Int) -> Tensor {
    subtract(x, x.max(axes: [axis], keepDims: true, file: file, line: line).stoppedGradient(file: file, line: line),
             file: file, line: line)
}

/// softmax(x) = exp(x - max) / sum(exp(x - max)) along `axis` (keras.activations.softmax).
public func softmax(_ x: Tensor, axis: Int = -1, file: String = #fileID, line: Int = #line) -> Tensor {
    let e = shiftedByMax(x, axis: axis, file: file, line: line).exp(file: file, line: line)
    let result = divide(e, e.sum(axes: [axis], keepDims: true, file: file, line: line), file: file, line: line)
    if !result.isPoisoned, axis == -1 || axis == x.rank - 1 { x.builder.softmaxLogits[result.id] = x.id }
    return result
}

/// log(softmax(x)) = (x - max) - log(sum(exp(x - max))) along `axis`, finite for any finite x
/// (keras.ops.log_softmax).
public func logSoftmax(_ x: Tensor, axis: Int = -1, file: String = #fileID, line: Int = #line) -> Tensor {
    let shifted = shiftedByMax(x, axis: axis, file: file, line: line)
    let logSum = shifted.exp(file: file, line: line).sum(axes: [axis], keepDims: true, file: file, line: line).log(file: file, line: line)
    return subtract(shifted, logSum, file: file, line: line)
}

/// tf.stop_gradient: the same values, no gradient.
public func stopGradient(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    x.stoppedGradient(file: file, line: line)
}

/// The index of the maximum along `axis`, as i32, the axis removed (keras.ops.argmax): the first
/// maximum wins ties, NaN never wins, -0 ranks below +0.
public func argmax(_ x: Tensor, axis: Int = -1, file: String = #fileID, line: Int = #line) -> Tensor {
    x.unary(.argmax, Attributes(["axis": .int(axis)]), file: file, line: line)
}

/// One-hot rows of class indices: shape `indices.shape + [classes]`, 1 at the index and 0
/// elsewhere; an index outside 0..<classes gives a row of zeros (tf.one_hot). Float indices are
/// truncated to integers first (a cast, as Keras does with float labels). The dtype defaults to the
/// graph's.
public func oneHot(_ indices: Tensor, classes: Int, dtype: DType? = nil, file: String = #fileID, line: Int = #line) -> Tensor {
    let integers = indices.dtype == .i32 ? indices : indices.cast(.i32, file: file, line: line)
    return integers.builder.node(.oneHot, [integers], type: TensorType(dtype ?? integers.builder.dtype, integers.shape + [classes]),
                                 at: SourceLocation(file: file, line: line))
}

/// The class indices of `labels` for `prediction` [..., classes], as i32 of prediction's shape
/// without its last axis: a trailing axis of 1 is dropped and floats are cast, as Keras does.
/// Records an error naming `op` (and returns nil) when the shapes do not fit.
func classIndices(_ labels: Tensor, for prediction: Tensor, op: String, file: String, line: Int) -> Tensor? {
    guard !labels.isPoisoned, !prediction.isPoisoned else { return nil }
    var indices = labels
    if labels.rank == prediction.rank, labels.shape.last == 1 {
        indices = labels.reshaped(Array(labels.shape.dropLast()), file: file, line: line)
    }
    guard prediction.rank >= 1, indices.shape == Array(prediction.shape.dropLast()) else {
        prediction.builder.record(.shape(op: op, message: "labels \(labels.type) do not fit predictions \(prediction.type): "
                                             + "expected one class index per row, shape \(shapeText(Array(prediction.shape.dropLast())))",
                                         location: SourceLocation(file: file, line: line)))
        return nil
    }
    return indices.dtype == .i32 ? indices : indices.cast(.i32, file: file, line: line)
}

/// Records an error naming `op` unless `prediction` and `target` have one shape (Keras's rule for
/// the categorical losses and metrics: no broadcasting).
func sameShape(_ prediction: Tensor, _ target: Tensor, op: String, file: String, line: Int) -> Bool {
    guard !prediction.isPoisoned, !target.isPoisoned else { return false }
    guard prediction.shape == target.shape, prediction.rank >= 1 else {
        prediction.builder.record(.shape(op: op, message: "target \(target.type) and prediction \(prediction.type) must have one shape",
                                         location: SourceLocation(file: file, line: line)))
        return false
    }
    return true
}

import SinterIR

// Keras's accuracy metrics (keras/src/metrics/accuracy_metrics.py), per batch: 1 where a row is
// right, 0 where it is not, reduced by `reduction` (default: the batch mean). Keras's metric
// objects average these over an epoch; here a caller averages the per-batch means weighted by
// batch size (or asks for `.sum`).
//
// Ties follow Keras: accuracy compares argmax, where the first maximum wins (so a tie between
// the label and an earlier class counts as wrong); top-k uses tf.math.in_top_k, where a row is
// right when fewer than k classes score strictly higher than the label, so every class tied
// at the k-th place counts as in the top k. A row with a non-finite score, or a label outside
// 0..<classes, is never in the top k.

/// The fraction of rows whose argmax is the label (keras.metrics.sparse_categorical_accuracy).
public func sparseCategoricalAccuracy(_ prediction: Tensor, labels: Tensor, reduction: Reduction = .mean,
                                      file: String = #fileID, line: Int = #line) -> Tensor {
    guard let indices = classIndices(labels, for: prediction, op: "sparse_categorical_accuracy", file: file, line: line) else {
        return Tensor.poison(prediction.builder, TensorType(prediction.dtype, []))
    }
    return matches(argmax(prediction, file: file, line: line), indices, prediction.dtype, reduction, file: file, line: line)
}

/// The fraction of rows whose argmax is the target's (keras.metrics.categorical_accuracy).
public func categoricalAccuracy(_ prediction: Tensor, target: Tensor, reduction: Reduction = .mean,
                                file: String = #fileID, line: Int = #line) -> Tensor {
    guard sameShape(prediction, target, op: "categorical_accuracy", file: file, line: line) else {
        return Tensor.poison(prediction.builder, TensorType(prediction.dtype, []))
    }
    return matches(argmax(prediction, file: file, line: line), argmax(target, file: file, line: line), prediction.dtype, reduction,
                   file: file, line: line)
}

/// The fraction of rows whose label is in the top `k` scores (keras.metrics.sparse_top_k_categorical_accuracy).
public func sparseTopKCategoricalAccuracy(_ prediction: Tensor, labels: Tensor, k: Int = 5, reduction: Reduction = .mean,
                                          file: String = #fileID, line: Int = #line) -> Tensor {
    guard let indices = classIndices(labels, for: prediction, op: "sparse_top_k_categorical_accuracy", file: file, line: line) else {
        return Tensor.poison(prediction.builder, TensorType(prediction.dtype, []))
    }
    return inTopK(prediction, indices, k: k, file: file, line: line).reduced(reduction, file: file, line: line)
}

/// The fraction of rows whose target's argmax is in the top `k` scores
/// (keras.metrics.top_k_categorical_accuracy).
public func topKCategoricalAccuracy(_ prediction: Tensor, target: Tensor, k: Int = 5, reduction: Reduction = .mean,
                                    file: String = #fileID, line: Int = #line) -> Tensor {
    guard sameShape(prediction, target, op: "top_k_categorical_accuracy", file: file, line: line) else {
        return Tensor.poison(prediction.builder, TensorType(prediction.dtype, []))
    }
    return inTopK(prediction, argmax(target, file: file, line: line), k: k, file: file, line: line).reduced(reduction, file: file, line: line)
}

/// 1 where the two index tensors agree, in `dtype`, reduced.
private func matches(_ a: Tensor, _ b: Tensor, _ dtype: DType, _ reduction: Reduction, file: String, line: Int) -> Tensor {
    equal(a, b, file: file, line: line).cast(dtype, file: file, line: line).reduced(reduction, file: file, line: line)
}

/// tf.math.in_top_k per row, in the prediction's dtype: fewer than k scores strictly above the
/// label's, every score finite, the label in range.
private func inTopK(_ prediction: Tensor, _ indices: Tensor, k: Int, file: String, line: Int) -> Tensor {
    prediction.builder.located(file, line) {
        let location = SourceLocation(file: file, line: line)
        let classes = prediction.shape.last ?? 1
        let hot = oneHot(indices, classes: classes, dtype: prediction.dtype, file: file, line: line)
        let zero = prediction.scalar(0, at: location)
        let labelScore = select(hot, prediction, zero, file: file, line: line).sum(axes: [-1], keepDims: true, file: file, line: line)
        let above = greater(prediction, labelScore, file: file, line: line).sum(axes: [-1], file: file, line: line)
        let largest = prediction.dtype == .f32 ? Double(Float.greatestFiniteMagnitude) : Double.greatestFiniteMagnitude
        let finite = lessEqual(prediction.abs(file: file, line: line), prediction.scalar(largest, at: location), file: file, line: line)
            .sum(axes: [-1], file: file, line: line)
        let allFinite = equal(finite, prediction.scalar(Double(classes), at: location), file: file, line: line)
        let inRange = hot.sum(axes: [-1], file: file, line: line)
        return less(above, prediction.scalar(Double(k), at: location), file: file, line: line) * allFinite * inRange
    }
}

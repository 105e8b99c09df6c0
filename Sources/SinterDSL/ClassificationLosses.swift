import SinterIR

// The cross-entropies of classification, as Keras computes them on the TensorFlow backend
// (keras/src/backend/tensorflow/nn.py). Per-sample losses over the last (class) axis, reduced
// by `reduction` (default: the mean over the batch, Keras's "sum_over_batch_size").
//
// As in Keras, probabilities that came straight out of `softmax` are not used as such: the loss
// takes the softmax's logits (exact for any logits, where log of a rounded probability is not).

/// Keras categorical cross-entropy: `target` holds a probability distribution per row (one-hot
/// or soft), of the prediction's shape.
/// - fromLogits: -sum(t * log_softmax(z)) (tf.nn.softmax_cross_entropy_with_logits).
/// - probabilities: rows rescaled to sum to 1, clipped to [1e-7, 1 - 1e-7], -sum(t * log q).
/// - labelSmoothing s: t becomes t * (1 - s) + s / classes first.
public func categoricalCrossEntropy(_ prediction: Tensor, target: Tensor, fromLogits: Bool = false, labelSmoothing: Double = 0,
                                    reduction: Reduction = .mean, file: String = #fileID, line: Int = #line) -> Tensor {
    guard sameShape(prediction, target, op: "categorical_cross_entropy", file: file, line: line) else {
        return Tensor.poison(prediction.builder, TensorType(prediction.dtype, []))
    }
    return prediction.builder.located(file, line) {
        var t = target
        if labelSmoothing != 0 {
            let classes = Double(prediction.shape.last ?? 1)
            t = t * (1 - labelSmoothing) + labelSmoothing / classes
        }
        let perSample: Tensor
        if let logits = fromLogits ? prediction : prediction.softmaxLogits {
            perSample = -multiply(t, logSoftmax(logits, file: file, line: line), file: file, line: line).sum(axes: [-1], file: file, line: line)
        } else {
            let rescaled = divide(prediction, prediction.sum(axes: [-1], keepDims: true, file: file, line: line), file: file, line: line)
            let q = rescaled.clipped(kerasEpsilon, 1 - kerasEpsilon, file: file, line: line)
            perSample = -multiply(t, q.log(file: file, line: line), file: file, line: line).sum(axes: [-1], file: file, line: line)
        }
        return perSample.reduced(reduction, file: file, line: line)
    }
}

/// Keras sparse categorical cross-entropy: `labels` holds one class index per row (i32, or
/// floats, which are truncated; a trailing axis of 1 is dropped).
/// - fromLogits: log_softmax(z) at the label, negated (tf.nn.sparse_softmax_cross_entropy_with_logits).
/// - probabilities: the same of log(clip(p, 1e-7, 1 - 1e-7)), so rows are renormalised too.
/// A label outside 0..<classes gives a NaN loss for its row (TensorFlow refuses it on the CPU and
/// gives NaN on a GPU); a silent 0 would hide it.
public func sparseCategoricalCrossEntropy(_ prediction: Tensor, labels: Tensor, fromLogits: Bool = false,
                                          reduction: Reduction = .mean, file: String = #fileID, line: Int = #line) -> Tensor {
    guard let indices = classIndices(labels, for: prediction, op: "sparse_categorical_cross_entropy", file: file, line: line) else {
        return Tensor.poison(prediction.builder, TensorType(prediction.dtype, []))
    }
    return prediction.builder.located(file, line) {
        let location = SourceLocation(file: file, line: line)
        let logits = fromLogits ? prediction
            : prediction.softmaxLogits ?? prediction.clipped(kerasEpsilon, 1 - kerasEpsilon, file: file, line: line).log(file: file, line: line)
        let hot = oneHot(indices, classes: prediction.shape.last ?? 1, dtype: prediction.dtype, file: file, line: line)
        // select, not multiply: 0 * -inf (a logit of -inf elsewhere in the row) would be NaN.
        let atLabel = select(hot, logSoftmax(logits, file: file, line: line), prediction.scalar(0, at: location), file: file, line: line)
            .sum(axes: [-1], file: file, line: line)
        let inRange = hot.sum(axes: [-1], file: file, line: line)
        let perSample = select(inRange, -atLabel, prediction.scalar(.nan, at: location), file: file, line: line)
        return perSample.reduced(reduction, file: file, line: line)
    }
}

import SinterIR

// Keras losses, each reduced to a scalar mean over every element unless said otherwise. Operators
// inside them run in `located` scopes, so they report the loss's caller's line.

/// Keras's `backend.epsilon()`: where probabilities are clipped to [epsilon, 1 - epsilon].
public let kerasEpsilon = 1e-7

/// tf.nn.sigmoid_cross_entropy_with_logits, elementwise: max(z,0) - z*t + log(1 + exp(-|z|)).
public func sigmoidCrossEntropy(logits z: Tensor, labels t: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    z.builder.located(file, line) {
        let zero = z.scalar(0, at: SourceLocation(file: file, line: line))
        let positive = maximum(z, zero, file: file, line: line)
        let softplusNegAbs = z.abs(file: file, line: line).neg(file: file, line: line).exp(file: file, line: line).log1p(file: file, line: line)
        return positive - multiply(z, t, file: file, line: line) + softplusNegAbs
    }
}

/// Which Keras version's probability-BCE to reproduce (they differ in where epsilon goes).
public enum KerasBCEForm: Sendable { case keras2, keras3 }

/// Keras binary cross-entropy, mean over every element. As Keras does, when `prediction` came
/// straight out of a sigmoid the exact logits form is used; otherwise the clipped-probability form.
public func binaryCrossEntropy(_ prediction: Tensor, target: Tensor, form: KerasBCEForm = .keras3,
                               file: String = #fileID, line: Int = #line) -> Tensor {
    if prediction.op == .sigmoid, let logits = prediction.operands.first {
        return sigmoidCrossEntropy(logits: logits, labels: target, file: file, line: line).mean(file: file, line: line)
    }
    return binaryCrossEntropyOnProbabilities(prediction, target: target, form: form, file: file, line: line)
}

/// BCE on probabilities: q = clip(p, 1e-7, 1-1e-7); Keras 3: -(t log q + (1-t) log(1-q));
/// Keras 2 adds 1e-7 inside both logs.
public func binaryCrossEntropyOnProbabilities(_ p: Tensor, target t: Tensor, form: KerasBCEForm = .keras3,
                                              file: String = #fileID, line: Int = #line) -> Tensor {
    p.builder.located(file, line) {
        let epsilon = kerasEpsilon
        let q = p.clipped(epsilon, 1 - epsilon, file: file, line: line)
        let shift = form == .keras2 ? epsilon : 0
        let logQ = (q + shift).log(file: file, line: line)
        let logNotQ = ((1 - q) + shift).log(file: file, line: line)
        let perElement = -(t * logQ + (1 - t) * logNotQ)
        return perElement.mean(file: file, line: line)
    }
}

/// Mean of (prediction - target)^2 over every element.
public func meanSquaredError(_ prediction: Tensor, target: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    subtract(prediction, target, file: file, line: line).square(file: file, line: line).mean(file: file, line: line)
}

/// Analytic KL(N(mu, exp(logvar)) || N(0,1)) as the VAE lab writes it:
/// -0.5 * mean(1 + logvar - mu^2 - exp(logvar)) over batch and latent dims.
public func gaussianKL(mu: Tensor, logVariance: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    mu.builder.located(file, line) {
        let inner = 1 + logVariance - mu.square(file: file, line: line) - logVariance.exp(file: file, line: line)
        return inner.mean(file: file, line: line) * -0.5
    }
}

/// log N(sample; mean, exp(logvar)) summed over the last axis (the CVAE tutorial's log_normal_pdf).
public func logNormalPDF(_ sample: Tensor, mean: Tensor, logVariance: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    sample.builder.located(file, line) {
        let log2pi = 1.8378770664093453  // log(2*pi)
        let z = subtract(sample, mean, file: file, line: line)
        let terms = (z.square(file: file, line: line) * logVariance.neg(file: file, line: line).exp(file: file, line: line)
            + logVariance + log2pi) * -0.5
        return terms.sum(axes: [-1], file: file, line: line)
    }
}

extension Tensor {
    public func neg(file: String = #fileID, line: Int = #line) -> Tensor { unary(.neg, file: file, line: line) }

    /// log(1 + x), built from primitives (x is small here, in (0, 1]).
    func log1p(file: String, line: Int) -> Tensor { builder.located(file, line) { (self + 1).log(file: file, line: line) } }
}

import Sinter

/// The denoising autoencoder's step (seed-models §6): the §5 `ConvAutoencoder` (same layers,
/// loss and Adam) fed `noisy = clip(x + 0.5*noise, 0, 1)` and trained to give back the clean `x`.
///
/// The noise is `N(0,1)` of the batch's shape. With `noise: .sampled` it is drawn in the graph,
/// fresh on every run (the notebook redraws it in its tf.data map every pass); with `.input` it is
/// the graph input `noise`, as in the golden case `model-denoising-autoencoder-w4`.
/// Outputs: `out`, `out_logits` (pre-sigmoid) and `noisy` (and `act.<layer>` with `activations`).
public func denoisingAutoencoderStep(_ model: ConvAutoencoder, batch: Int, optimizer: (any Optimizer)?,
                                     noise: NoiseSource = .sampled, activations: Bool = false,
                                     options: StepOptions = StepOptions()) throws -> Graph {
    let taps = activations ? ActivationTaps() : nil
    return try traceStep(name: optimizer == nil ? "denoising_autoencoder" : "denoising_autoencoder_train", models: [model],
                  optimizer: optimizer, options: options) { builder in
        let shape = [batch, 28, 28, 1]
        let x = builder.input("x", shape)
        let n = noise.tensor(builder, "noise", shape)
        let noisy = (x + 0.5 * n).clipped(0, 1)
        let out = model(noisy, taps: taps)
        return StepOutputs(loss: binaryCrossEntropy(out, target: x),
                           [("out", out), ("out_logits", out.operands[0]), ("noisy", noisy)] + (taps?.recorded ?? []))
    }
}

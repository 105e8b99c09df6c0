import Sinter

/// Fashion-MNIST convolutional autoencoder (seed-models §5): every conv 3x3 stride 1 SAME with
/// bias, 2x2 max-pools, nearest x2 up-sampling; Keras binary cross-entropy on the sigmoid output
/// (computed from its logits, as Keras does); Adam defaults. `widthDivisor` shrinks every channel
/// width (the `-w4` golden case and the denoising variant's small tests).
public struct ConvAutoencoder: Module {
    public let enc1: Conv2D
    public let enc2: Conv2D
    public let bottleneck: Conv2D
    public let dec1: Conv2D
    public let dec2: Conv2D
    public let out: Conv2D

    public init(widthDivisor: Int = 1) {
        let w = { (channels: Int) in channels / widthDivisor }
        enc1 = Conv2D(w(64), kernel: 3, activation: .relu)
        enc2 = Conv2D(w(128), kernel: 3, activation: .relu)
        bottleneck = Conv2D(w(256), kernel: 3, activation: .relu)
        dec1 = Conv2D(w(128), kernel: 3, activation: .relu)
        dec2 = Conv2D(w(64), kernel: 3, activation: .relu)
        out = Conv2D(1, kernel: 3, activation: .sigmoid)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, taps: nil) }

    /// The forward pass, recording `act.<layer>` (each conv after its relu) in `taps`.
    public func callAsFunction(_ x: Tensor, taps: ActivationTaps?) -> Tensor {
        var h = maxPool(tap(taps, "enc1", enc1(x)), 2)
        h = maxPool(tap(taps, "enc2", enc2(h)), 2)
        h = tap(taps, "bottleneck", bottleneck(h))
        h = upSample(tap(taps, "dec1", dec1(h)), 2)
        h = upSample(tap(taps, "dec2", dec2(h)), 2)
        return out(h)
    }
}

/// The autoencoder's step: the input `x` is its own target. Outputs `out` and `out_logits`.
public func autoencoderStep(_ model: ConvAutoencoder, batch: Int, optimizer: (any Optimizer)?,
                            options: StepOptions = StepOptions()) throws -> Graph {
    try traceStep(name: optimizer == nil ? "autoencoder" : "autoencoder_train", models: [model],
                  optimizer: optimizer, options: options) { builder in
        let x = builder.input("x", [batch, 28, 28, 1])
        let reconstruction = model(x)
        return StepOutputs(loss: binaryCrossEntropy(reconstruction, target: x),
                           [("out", reconstruction), ("out_logits", reconstruction.operands[0])])
    }
}

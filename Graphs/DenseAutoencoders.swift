import Sinter

// The dense autoencoders of seed-models §4 (W2 Labs 1-3). All layers are Keras Dense (glorot
// kernels, zero biases). `widthDivisor` divides the hidden widths; the data widths (3, 784) stay.

/// §4 Lab 1: 3-D points -> Dense 2 (linear) -> Dense 3 (linear); MSE; SGD(lr 0.1); 17 params.
public struct FirstAutoencoder: Module {
    public let encoder: Dense
    public let decoder: Dense

    public init(widthDivisor: Int = 1) {
        encoder = Dense(scaled(2, widthDivisor))
        decoder = Dense(3)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { decoder(encoder(x)) }
}

/// §4 Lab 2: MNIST flattened to 784 -> Dense 32 relu -> Dense 784 sigmoid; 50,992 params.
public struct DenseAutoencoder: Module {
    public let encoder: Dense
    public let decoder: Dense

    public init(widthDivisor: Int = 1) {
        encoder = Dense(scaled(32, widthDivisor), activation: .relu)
        decoder = Dense(784, activation: .sigmoid)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { decoder(encoder(x)) }
}

/// §4 Lab 3: 784 -> 128 -> 64 -> 32 -> 64 -> 128 (all relu) -> 784 sigmoid; 222,384 params.
public struct DeepAutoencoder: Module {
    public let enc1: Dense
    public let enc2: Dense
    public let code: Dense
    public let dec1: Dense
    public let dec2: Dense
    public let out: Dense

    public init(widthDivisor: Int = 1) {
        let w = { (units: Int) in scaled(units, widthDivisor) }
        enc1 = Dense(w(128), activation: .relu)
        enc2 = Dense(w(64), activation: .relu)
        code = Dense(w(32), activation: .relu)
        dec1 = Dense(w(64), activation: .relu)
        dec2 = Dense(w(128), activation: .relu)
        out = Dense(784, activation: .sigmoid)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        out(dec2(dec1(code(enc2(enc1(x))))))
    }
}

/// Lab 1's step: input `x` (B, 3) is its own target; MSE.
public func firstAutoencoderStep(_ model: FirstAutoencoder, batch: Int, optimizer: (any Optimizer)?,
                                 options: StepOptions = StepOptions()) throws -> Graph {
    try traceStep(name: optimizer == nil ? "first_autoencoder" : "first_autoencoder_train", models: [model],
                  optimizer: optimizer, options: options) { builder in
        let x = builder.input("x", [batch, 3])
        let reconstruction = model(x)
        return StepOutputs(loss: meanSquaredError(reconstruction, target: x), [("out", reconstruction)])
    }
}

/// Lab 2 and 3's step: input `x` (B, 784) = MNIST/255 flattened, its own target; Keras BCE on
/// the sigmoid output, i.e. from its logits.
public func denseAutoencoderStep(_ model: DenseAutoencoder, batch: Int, optimizer: (any Optimizer)?,
                                 options: StepOptions = StepOptions()) throws -> Graph {
    try flatAutoencoderStep(name: "dense_autoencoder", model: model, forward: model.callAsFunction, batch: batch,
                            optimizer: optimizer, options: options)
}

public func deepAutoencoderStep(_ model: DeepAutoencoder, batch: Int, optimizer: (any Optimizer)?,
                                options: StepOptions = StepOptions()) throws -> Graph {
    try flatAutoencoderStep(name: "deep_autoencoder", model: model, forward: model.callAsFunction, batch: batch,
                            optimizer: optimizer, options: options)
}

private func flatAutoencoderStep(name: String, model: Any, forward: (Tensor) -> Tensor, batch: Int,
                                 optimizer: (any Optimizer)?, options: StepOptions) throws -> Graph {
    try traceStep(name: optimizer == nil ? name : "\(name)_train", models: [model], optimizer: optimizer,
                  options: options) { builder in
        let x = builder.input("x", [batch, 784])
        let reconstruction = forward(x)
        return StepOutputs(loss: binaryCrossEntropy(reconstruction, target: x), [("out", reconstruction)])
    }
}

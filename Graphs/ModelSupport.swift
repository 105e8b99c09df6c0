import Sinter

// Small pieces the model files share: channel-width scaling for the `-wK` golden cases, the
// BatchNorm-mode and noise-source switches, `act.<layer>` taps, and telling G's params from D's.

/// Which mode the BatchNorm layers of a model run in (seed-models §1: calling a Keras model as
/// `model(x)` runs BN in inference mode, `fit`/`train_on_batch` in training mode).
public enum BNMode: String, Sendable, CaseIterable {
    /// Batch statistics; the moving statistics are updated (momentum 0.99).
    case train
    /// The stored moving statistics; nothing is updated.
    case infer

    public var isTraining: Bool { self == .train }
}

/// Where a model's random tensors (VAE `eps`, GAN `z`, denoising `noise`) come from.
public enum NoiseSource: Sendable {
    /// Graph inputs with the golden files' names (`eps`, `z`, `noise`): for parity checks.
    case input
    /// `randomNormal` in the graph: fresh samples every run (training).
    case sampled

    /// The tensor `name` of `shape`: an input, or N(0,1) samples drawn in the graph.
    func tensor(_ builder: GraphBuilder, _ name: String, _ shape: [Int], file: String = #fileID, line: Int = #line) -> Tensor {
        switch self {
        case .input: return builder.input(name, shape, file: file, line: line)
        case .sampled: return randomNormal(builder, shape, file: file, line: line)
        }
    }
}

/// Channel width `channels` of the spec divided by the `-wK` divisor (at least 1).
func scaled(_ channels: Int, _ widthDivisor: Int) -> Int {
    precondition(widthDivisor > 0, "widthDivisor must be positive, got \(widthDivisor)")
    return max(1, channels / widthDivisor)
}

/// Records `act.<layer>` outputs (the golden files' layer-by-layer activations) while a model is
/// traced. Models call `taps?("enc_conv1", h)`; with no taps the call is free.
public final class ActivationTaps {
    public private(set) var recorded: [(String, Tensor)] = []

    public init() {}

    /// Records `x` as `act.<layer>` and returns it unchanged.
    @discardableResult
    public func callAsFunction(_ layer: String, _ x: Tensor) -> Tensor {
        recorded.append(("act.\(layer)", x))
        return x
    }
}

/// Records `x` as `act.<name>` when tapping; returns `x`.
func tap(_ taps: ActivationTaps?, _ name: String, _ x: Tensor) -> Tensor {
    taps?(name, x) ?? x
}

/// Property paths of every layer reachable from `module` (after `nameLayers`), so a GAN phase can
/// train one network's params only.
public func layerPaths(in module: Any) -> [String] {
    var paths: [String] = []
    func visit(_ value: Any) {
        if let sequential = value as? Sequential {
            paths.append(sequential.path)
            sequential.layers.forEach(visit)
        } else if let layer = value as? Layer {
            paths.append(layer.path)
            Mirror(reflecting: layer).children.forEach { visit($0.value) }
        } else if let array = value as? [Any] {
            array.forEach(visit)
        } else if value is Module {
            Mirror(reflecting: value).children.forEach { visit($0.value) }
        }
    }
    Mirror(reflecting: module).children.forEach { visit($0.value) }
    return paths.filter { !$0.isEmpty }
}

/// A predicate on param names: true for params owned by a layer of `module`.
public func ownsParameter(_ module: Any) -> (String) -> Bool {
    nameLayers(in: module)
    let prefixes = layerPaths(in: module).map { $0 + "." }
    return { name in prefixes.contains { name.hasPrefix($0) } }
}

/// The two training phases of a GAN step (seed-models §10, §11).
public enum GANPhase: String, Sendable, CaseIterable {
    /// One optimizer step on the discriminator; the generator only produces fakes.
    case discriminator
    /// One optimizer step on the generator through the frozen discriminator.
    case generator

    /// Prefix of the phase's tensors in the golden files (`d.loss`, `g.grad.g1.kernel`).
    public var prefix: String { self == .discriminator ? "d" : "g" }
    /// Prefix of the phase's optimizer state (`opt_d.m.d1.kernel`): the two phases keep separate
    /// optimizers, as the notebooks do.
    public var optimizerPrefix: String { "opt_\(prefix)" }

    /// Parses `discriminator`/`generator` (or `d`/`g`).
    public init?(name: String) {
        switch name {
        case "discriminator", "d": self = .discriminator
        case "generator", "g": self = .generator
        default: return nil
        }
    }
}

/// Constant labels: `count` rows of `value`, shape (count, 1).
func labels(_ builder: GraphBuilder, _ value: Double, count: Int, file: String = #fileID, line: Int = #line) -> Tensor {
    builder.constant(value, [count, 1], file: file, line: line)
}

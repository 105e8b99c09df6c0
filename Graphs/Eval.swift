import Sinter

// One training step of a zoo model on given weights and inputs, with every tensor a golden file
// holds: what `sinter eval` writes and what the model parity tests compare with TensorFlow.

/// Runs ONE training step of `model` (a Zoo name) from `weights`, with the optimizer state at
/// zero (t = 1) unless `weights` holds some, and returns, named as in the golden files:
///
/// * `loss` and the model's outputs (`out`, `mu`, `fake`, `logits`, ..., and `act.<layer>`);
/// * `grad.<param>` for every trained param (the gradient of `loss`);
/// * `step.<param>` = the param after the step, and `step.<bn>.moving_mean` /
///   `step.<bn>.moving_variance` for BatchNorm layers that ran in training mode.
///
/// Random tensors are inputs with the golden names (`eps`, `z`, `noise`), dropout is off, and
/// the batch size is read from the inputs. GANs (`gan`, `dcgan`, `celeba-dcgan`) run both phases
/// from the same `weights` (or only `phase`: `discriminator`/`d` or `generator`/`g`); each phase's
/// inputs and results carry its prefix (`d.z` -> `d.loss`, `d.grad.d1.kernel`, ...; unprefixed
/// inputs are accepted too). `bn` overrides the BatchNorm mode (nil: what the notebook does).
/// `widthDivisor` selects the `-wK` variant. Every param and BN statistic of the model must be
/// in `weights`. `inputs` may be a whole golden file (weights and expected results too); any
/// other name in it is an error (a misspelt input is never dropped silently). `nst` (Gatys, §2) takes inputs `content`, `style` and `image` and returns the
/// golden NST tensors (see `evalGatys`).
public func evalStep(model: String, weights: [String: HostTensor], inputs: [String: HostTensor],
                     phase: String? = nil, bn: BNMode? = nil, widthDivisor: Int = 1) throws -> [String: HostTensor] {
    guard widthDivisor > 0 else { throw SinterError.runtime(message: "--width-divisor must be positive, got \(widthDivisor)") }
    if model == "nst" {
        if phase != nil { throw SinterError.runtime(message: "'nst' has a single step; --phase applies to GANs only") }
        if bn != nil { throw SinterError.runtime(message: "'nst' has no BatchNorm; --bn does not apply") }
        let results = try evalGatys(weights: weights, inputs: inputs, widthDivisor: widthDivisor)
        try checkInputNames(inputs, takes: ["content", "style", "image"], alsoKnown: Set(weights.keys).union(results.keys), model: model)
        return results
    }
    var phases = try parityPhases(model: model, bn: bn, widthDivisor: widthDivisor)
    if let phase {
        guard phases.first?.prefix != nil else {
            throw SinterError.runtime(message: "'\(model)' has a single step; --phase applies to GANs only")
        }
        guard let wanted = GANPhase(name: phase) else {
            throw SinterError.runtime(message: "unknown phase '\(phase)'; use discriminator or generator")
        }
        phases = phases.filter { $0.prefix == wanted.prefix }
    }
    var results: [String: HostTensor] = [:]
    var takes: [String] = [], known: Set<String> = []
    for parityPhase in phases {
        let (phaseResults, phaseInputs, persistent) = try parityPhase.run(weights: weights, inputs: inputs)
        results.merge(phaseResults) { _, new in new }
        takes += phaseInputs.map(parityPhase.prefixed)
        known.formUnion(phaseInputs + persistent + parityPhase.builtInInputs + parityPhase.builtInInputs.map(parityPhase.prefixed))
    }
    try checkInputNames(inputs, takes: takes, alsoKnown: known.union(results.keys), model: model)
    return results
}

/// Throws for the names in `inputs` that the step neither `takes` nor otherwise knows (a weight or
/// a result: a golden file holds both), with a "did you mean" among the inputs it takes.
func checkInputNames(_ inputs: [String: HostTensor], takes: [String], alsoKnown: Set<String>, model: String) throws {
    let unknown = inputs.keys.filter { !takes.contains($0) && !alsoKnown.contains($0) }.sorted()
    guard !unknown.isEmpty else { return }
    let listed = unknown.prefix(5).map { "'\(SinterError.excerpt($0))'\(NameSuggestions.hint(for: $0, among: takes))" }
    throw SinterError.runtime(message: "'\(model)' takes no input\(unknown.count == 1 ? "" : "s") \(listed.joined(separator: ", "))"
        + (unknown.count > 5 ? " and \(unknown.count - 5) more" : "") + "; its inputs are "
        + takes.joined(separator: ", ") + " (the file may also hold the model's weights and the step's results, as a golden file does)")
}

/// The models `evalStep` knows (the Zoo's names, then the image zoo's: `nst`).
public var evalModels: [String] { Zoo.entries.map(\.name) + ImageZoo.entries.map(\.name) }

/// One step graph traced for parity, plus how to feed it.
struct ParityPhase {
    /// `d`/`g` for GAN phases, nil for single-step models.
    var prefix: String?
    /// The input whose first dimension is the batch size.
    var batchInput: String
    var trace: (_ batch: Int) throws -> Graph
    /// Inputs a golden file carries that the step builds in its graph instead (a GAN's labels,
    /// 0 for fakes and 1 for reals): accepted and not used.
    var builtInInputs: [String] = []

    func prefixed(_ name: String) -> String { prefix.map { "\($0).\(name)" } ?? name }

    /// The step's results, the names of its graph's inputs (unprefixed) and of its persistent
    /// tensors.
    func run(weights: [String: HostTensor], inputs: [String: HostTensor]) throws
        -> (results: [String: HostTensor], inputs: [String], persistent: [String]) {
        func input(_ name: String) -> HostTensor? { inputs[prefixed(name)] ?? inputs[name] }
        guard let batchTensor = input(batchInput), let batch = batchTensor.shape.first else {
            throw SinterError.runtime(message: "missing input '\(prefixed(batchInput))' (it sets the batch size); given: "
                + inputs.keys.sorted().joined(separator: ", "))
        }
        let graph = try trace(batch)
        let executable = try compileGraph(graph)

        let missing = executable.program.persistent.map(\.name).filter { isModelTensor($0) && weights[$0] == nil }
        guard missing.isEmpty else {
            throw SinterError.runtime(message: "the weights lack \(missing.count) tensor\(missing.count == 1 ? "" : "s") of the model: "
                + missing.joined(separator: ", "))
        }
        try executable.loadPersistent(weights, requireAll: false)
        var feeds: [String: HostTensor] = [:]
        for slot in executable.program.inputs {
            guard let value = input(slot.name) else {
                throw SinterError.runtime(message: "missing input '\(prefixed(slot.name))' (\(slot.type))")
            }
            feeds[slot.name] = value
        }
        var results: [String: HostTensor] = [:]
        for (name, value) in try executable.run(feeds) { results[prefixed(name)] = value }
        // Params the step trained (those with a gradient), then the states it assigned.
        for (name, _) in graph.outputs where name.hasPrefix("grad.") {
            let param = String(name.dropFirst("grad.".count))
            results[prefixed("step.\(param)")] = try executable.persistent(param)
        }
        for effect in graph.effects where graph[effect].op == .assign {
            guard let target = graph[graph[effect].operands[0]].sourceName, isModelTensor(target) else { continue }
            results[prefixed("step.\(target)")] = try executable.persistent(target)
        }
        return (results, executable.inputNames, executable.program.persistent.map(\.name))
    }

    /// Params and BN statistics, as opposed to optimizer slots and the random-number counter.
    func isModelTensor(_ name: String) -> Bool {
        !(name.hasPrefix("opt.") || name.hasPrefix("opt_d.") || name.hasPrefix("opt_g.") || name.hasPrefix("rng."))
    }
}

/// The parity step(s) of each zoo model: gradient outputs, dropout off, noise as inputs, act taps.
func parityPhases(model: String, bn: BNMode?, widthDivisor w: Int) throws -> [ParityPhase] {
    var options = StepOptions()
    options.gradientOutputs = true
    options.dropout = false
    func single(_ batchInput: String = "x", _ trace: @escaping (Int) throws -> Graph) -> [ParityPhase] {
        [ParityPhase(prefix: nil, batchInput: batchInput, trace: trace)]
    }
    func gan(_ trace: @escaping (GANPhase, Int) throws -> Graph) -> [ParityPhase] {
        GANPhase.allCases.map { phase in
            ParityPhase(prefix: phase.prefix, batchInput: "z", trace: { try trace(phase, $0) }, builtInInputs: ["labels"])
        }
    }
    func singleBN(_ name: String) throws {
        if bn != nil { throw SinterError.runtime(message: "'\(name)' has no BatchNorm; --bn does not apply") }
    }
    switch model {
    case "dense-autoencoder":
        try singleBN(model)
        return single { try denseAutoencoderStep(DenseAutoencoder(widthDivisor: w), batch: $0, optimizer: Adam(), options: options) }
    case "deep-autoencoder":
        try singleBN(model)
        return single { try deepAutoencoderStep(DeepAutoencoder(widthDivisor: w), batch: $0, optimizer: Adam(), options: options) }
    case "autoencoder":
        try singleBN(model)
        return single { try autoencoderStep(ConvAutoencoder(widthDivisor: w), batch: $0, optimizer: Adam(), options: options) }
    case "denoising-autoencoder":
        try singleBN(model)
        return single {
            try denoisingAutoencoderStep(ConvAutoencoder(widthDivisor: w), batch: $0, optimizer: Adam(), noise: .input,
                                         activations: true, options: options)
        }
    case "vae":
        return single {
            try vaeStep(VAE(widthDivisor: w), batch: $0, optimizer: Adam(), bn: bn ?? .infer, noise: .input,
                        activations: true, options: options)
        }
    case "cvae":
        try singleBN(model)
        return single {
            try cvaeStep(CVAE(widthDivisor: w), batch: $0, optimizer: cvaeOptimizer, noise: .input, activations: true,
                         options: options)
        }
    case "gan":
        try singleBN(model)
        return gan { try GAN(widthDivisor: w).step($0, batch: $1, optimizer: RMSprop(), noise: .input, activations: true, options: options) }
    case "dcgan":
        return gan {
            try DCGAN(widthDivisor: w).step($0, batch: $1, optimizer: RMSprop(), generatorBN: bn, noise: .input,
                                            activations: true, options: options)
        }
    case "celeba-dcgan":
        return gan {
            try CelebADCGAN(widthDivisor: w).step($0, batch: $1, optimizer: celebAOptimizer, bn: bn ?? .infer, noise: .input,
                                                  activations: true, options: options)
        }
    default:
        throw SinterError.runtime(message: "unknown model '\(model)'; known models: \(evalModels.joined(separator: ", "))")
    }
}

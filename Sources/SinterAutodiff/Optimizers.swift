import SinterIR

// Optimizers as graph builders. `apply` adds the optimizer's persistent slots (state nodes, zero
// initialised), one update effect per parameter, and last an assign that increments the iteration
// counter. The update arithmetic itself is done by the C emitter's implementation of the effect
// ops (formulas in Docs/autodiff.md); effects run after every pure node, in graph order, in place.

/// Learning-rate schedule (Keras ExponentialDecay, staircase false): lr(t) = lr0 * rate^(t/steps),
/// t the 0-based iteration, so the first update uses lr0.
public struct ExponentialDecay: Hashable, Sendable {
    public var decayRate: Double
    public var decaySteps: Double

    public init(decayRate: Double, decaySteps: Double) {
        self.decayRate = decayRate
        self.decaySteps = decaySteps
    }
}

public protocol Optimizer {
    /// Adds the optimizer's state and one update per (param, gradient) pair to `graph`. State is
    /// named `<prefix>.iterations` and `<prefix>.<slot>.<param name>`; state that already exists
    /// in the graph (a second training phase, say) is reused.
    func apply(in graph: Graph, params: [(node: Int, gradient: Int)], prefix: String, at: SourceLocation) throws
}

/// Adam in the epsilon-hat form (Keras): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
/// alpha = lr sqrt(1-b2^t)/(1-b1^t) with t = iterations + 1, p -= alpha m / (sqrt(v) + epsilon).
public struct Adam: Optimizer, Hashable, Sendable {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var decay: ExponentialDecay?
    /// Clip every updated element to this range right after the step (the Gatys loop's
    /// `image.assign(clip_by_value(image, 0, 255))`, fused into the update so it sees the new value).
    public var clip: ClosedRange<Double>?

    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7,
                decay: ExponentialDecay? = nil, clip: ClosedRange<Double>? = nil) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decay = decay
        self.clip = clip
    }

    public func apply(in graph: Graph, params: [(node: Int, gradient: Int)], prefix: String, at location: SourceLocation) throws {
        var attrs = Attributes(["lr": .float(learningRate), "beta1": .float(beta1), "beta2": .float(beta2),
                                "epsilon": .float(epsilon)])
        addDecay(decay, to: &attrs)
        if let clip {
            attrs["clip_low"] = .float(clip.lowerBound)
            attrs["clip_high"] = .float(clip.upperBound)
        }
        try applyUpdates(graph: graph, op: .adamUpdate, slots: ["m", "v"], attrs: attrs, params: params,
                         prefix: prefix, at: location)
    }
}

/// RMSprop (no momentum, not centred): v = rho v + (1-rho) g^2, p -= lr g / sqrt(v + epsilon).
public struct RMSprop: Optimizer, Hashable, Sendable {
    public var learningRate: Double
    public var rho: Double
    public var epsilon: Double
    public var decay: ExponentialDecay?

    public init(learningRate: Double = 1e-3, rho: Double = 0.9, epsilon: Double = 1e-7, decay: ExponentialDecay? = nil) {
        self.learningRate = learningRate
        self.rho = rho
        self.epsilon = epsilon
        self.decay = decay
    }

    public func apply(in graph: Graph, params: [(node: Int, gradient: Int)], prefix: String, at location: SourceLocation) throws {
        var attrs = Attributes(["lr": .float(learningRate), "rho": .float(rho), "epsilon": .float(epsilon)])
        addDecay(decay, to: &attrs)
        try applyUpdates(graph: graph, op: .rmspropUpdate, slots: ["v"], attrs: attrs, params: params,
                         prefix: prefix, at: location)
    }
}

/// SGD with (non-Nesterov) momentum, Keras form: velocity = momentum velocity - lr g,
/// p += velocity (with momentum 0 this is p -= lr g).
public struct SGD: Optimizer, Hashable, Sendable {
    public var learningRate: Double
    public var momentum: Double
    public var decay: ExponentialDecay?

    public init(learningRate: Double = 0.01, momentum: Double = 0, decay: ExponentialDecay? = nil) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.decay = decay
    }

    public func apply(in graph: Graph, params: [(node: Int, gradient: Int)], prefix: String, at location: SourceLocation) throws {
        var attrs = Attributes(["lr": .float(learningRate), "momentum": .float(momentum)])
        addDecay(decay, to: &attrs)
        try applyUpdates(graph: graph, op: .sgdUpdate, slots: ["velocity"], attrs: attrs, params: params,
                         prefix: prefix, at: location)
    }
}

private func addDecay(_ decay: ExponentialDecay?, to attrs: inout Attributes) {
    guard let decay else { return }
    attrs["decay_rate"] = .float(decay.decayRate)
    attrs["decay_steps"] = .float(decay.decaySteps)
}

/// The state node `name` of type `type`: reused when the graph already has it, created (init
/// "zeros") otherwise.
func optimizerState(in graph: Graph, name: String, type: TensorType, at location: SourceLocation) throws -> Int {
    if let existing = graph.source(named: name) {
        let node = graph[existing]
        guard node.op == .state, node.type == type else {
            throw SinterError.shape(op: "state",
                                    message: "optimizer state '\(name)' needs state \(type), but the graph has \(node.op.rawValue) \(node.type) (%\(existing) at \(node.location))",
                                    location: location)
        }
        return existing
    }
    return try graph.add(.state, [], Attributes(["name": .string(name), "init": .string("zeros")]), type: type, at: location)
}

/// Shared by the optimizers: the iteration counter, per-param slots, one `op(p, slots..., iterations, g)`
/// effect per param in the given order, then `assign(iterations, iterations + 1)`.
func applyUpdates(graph: Graph, op: Op, slots: [String], attrs: Attributes, params: [(node: Int, gradient: Int)],
                  prefix: String, at location: SourceLocation) throws {
    for (param, gradient) in params {
        for id in [param, gradient] where id < 0 || id >= graph.nodes.count {
            throw SinterError.shape(op: op.rawValue, message: "node %\(id) does not exist", location: location)
        }
        guard graph[param].op.isPersistent, graph[param].sourceName != nil else {
            throw SinterError.shape(op: op.rawValue,
                                    message: "%\(param) \(graph[param].op.rawValue) is not a named param or state, so it cannot be updated",
                                    location: location)
        }
    }
    var seen = Set<Int>()
    for (param, _) in params where !seen.insert(param).inserted {
        throw SinterError.shape(op: op.rawValue, message: "'\(graph[param].sourceName!)' is listed twice", location: location)
    }
    let iterations = try optimizerState(in: graph, name: "\(prefix).iterations", type: TensorType(.i32, []), at: location)
    // Effects run in graph order and update state in place, so a second increment of the counter
    // would come before this call's updates and shift their t: one `apply` per prefix and graph.
    if let writer = graph.effects.first(where: { graph[$0].op == .assign && graph[$0].operands.first == iterations }) {
        throw SinterError.shape(op: op.rawValue,
                                message: "'\(prefix).iterations' is already incremented by %\(writer) (\(graph[writer].location)): apply an optimizer prefix once per graph, with all its params, or use another prefix",
                                location: location)
    }
    var slotNodes: [[Int]] = []
    for (param, _) in params {
        let name = graph[param].sourceName!
        let type = graph.type(of: param)
        slotNodes.append(try slots.map { try optimizerState(in: graph, name: "\(prefix).\($0).\(name)", type: type, at: location) })
    }
    for (index, (param, gradient)) in params.enumerated() {
        try graph.add(op, [param] + slotNodes[index] + [iterations, gradient], attrs, at: location)
    }
    let one = try graph.add(.constant, [], Attributes(["value": .float(1)]), type: TensorType(.i32, []), at: location)
    let next = try graph.add(.add, [iterations, one], at: location)
    try graph.add(.assign, [iterations, next], at: location)
}

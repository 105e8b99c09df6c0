import SinterAutodiff
import SinterIR

/// What a step function returns: the scalar `loss` plus any other named outputs to fetch.
public struct StepOutputs {
    public var loss: Tensor
    public var extra: [(String, Tensor)]

    public init(loss: Tensor, _ extra: [(String, Tensor)] = []) {
        self.loss = loss
        self.extra = extra
    }
}

/// Options of a traced step.
public struct StepOptions {
    public var dtype: DType = .f32
    /// Seed of the random ops in the graph (dropout masks, sampled noise).
    public var seed = 0
    /// BatchNorm/Dropout training mode for layers that do not fix it.
    public var training = true
    public var dropout = true
    /// Also output `grad.<param>` for every trained parameter (parity checks).
    public var gradientOutputs = false
    /// Which trainable params this step updates (GAN phases train one network); nil = all.
    public var trains: ((String) -> Bool)?
    /// Prefix of the optimizer's state names (`opt.m.enc1.kernel`).
    public var optimizerPrefix = "opt"

    public init() {}
}

/// Traces `body` into a graph: one whole training step when `optimizer` is given (forward, loss,
/// gradients, optimizer updates, BatchNorm statistics), else a forward graph.
///
/// `models` are named first (property paths), so their parameters get stable names.
public func traceStep(name: String, models: [Any], optimizer: (any Optimizer)?, options: StepOptions = StepOptions(),
                      file: String = #fileID, line: Int = #line,
                      _ body: (GraphBuilder) -> StepOutputs) throws -> Graph {
    for model in models { nameLayers(in: model) }
    let builder = GraphBuilder(name: name, dtype: options.dtype, training: options.training, seed: options.seed)
    builder.dropoutEnabled = options.dropout
    builder.modelTypes = models.map { String(describing: type(of: $0)) }
    let outputs = body(builder)
    if let error = builder.firstError { throw error }
    let graph = builder.graph
    let location = SourceLocation(file: file, line: line)
    guard outputs.loss.shape.isEmpty else {
        throw SinterError.shape(op: "loss", message: "the loss must be a scalar, got \(outputs.loss.type)", location: location)
    }
    try graph.addOutput("loss", outputs.loss.id)
    for (outputName, tensor) in outputs.extra { try graph.addOutput(outputName, tensor.id) }
    if let optimizer {
        let trained = graph.params.filter { options.trains?(graph[$0].sourceName ?? "") ?? true }
        let grads = try gradients(in: graph, of: outputs.loss.id, wrt: trained)
        if options.gradientOutputs {
            for (param, grad) in zip(trained, grads) { try graph.addOutput("grad.\(graph[param].sourceName ?? "")", grad) }
        }
        try optimizer.apply(in: graph, params: Array(zip(trained, grads)).map { (node: $0.0, gradient: $0.1) },
                            prefix: options.optimizerPrefix, at: location)
    }
    let finished = try builder.finish()
    try finished.verifyInDebug()
    return finished
}

/// Traces a forward-only graph (no gradients, no optimizer), BatchNorm in inference mode unless
/// `training` is set.
public func traceForward(name: String, models: [Any], training: Bool = false, dtype: DType = .f32,
                         _ body: (GraphBuilder) -> [(String, Tensor)]) throws -> Graph {
    for model in models { nameLayers(in: model) }
    let builder = GraphBuilder(name: name, dtype: dtype, training: training)
    builder.modelTypes = models.map { String(describing: type(of: $0)) }
    let outputs = body(builder)
    if let error = builder.firstError { throw error }
    for (outputName, tensor) in outputs { try builder.graph.addOutput(outputName, tensor.id) }
    let finished = try builder.finish()
    try finished.verifyInDebug()
    return finished
}

import SinterAutodiff
import SinterDSL
import SinterIR

/// A model `Learner(model, loss:...)` trains: a module called on one input tensor.
public protocol Model: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// A metric: a scalar computed in the graph from the model's prediction and the target, for
/// every batch, and averaged over an epoch or an evaluation weighted by batch size.
public struct Metric {
    public let name: String
    public let compute: (_ prediction: Tensor, _ target: Tensor) -> Tensor

    public init(_ name: String, _ compute: @escaping (_ prediction: Tensor, _ target: Tensor) -> Tensor) {
        self.name = name
        self.compute = compute
    }
}

extension Learner {
    /// Keras's `model.compile(loss:, optimizer:, metrics:)`: the training step is the loss of
    /// `model(x)` against `y`, minimised by `optimizer`, with each metric as an output; the
    /// evaluation graph is the same with BatchNorm and dropout in inference mode; the prediction
    /// graph outputs `model(x)` as `prediction`. The graphs take the datasets' `x` and `y` at
    /// their example shapes, fixed by the first dataset used (float data in the model's float
    /// type). Trace errors (a loss or metric that is not a scalar) name the caller's line.
    public convenience init<M: Model>(_ model: M, loss: @escaping (_ prediction: Tensor, _ target: Tensor) -> Tensor,
                                      optimizer: any Optimizer, metrics: [Metric] = [], seed: UInt64 = 0, name: String? = nil,
                                      file: String = #fileID, line: Int = #line) throws {
        let name = name ?? String(describing: M.self)
        let graphName = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        let examples = ExampleTypes()
        let location = SourceLocation(file: file, line: line)
        func step(_ builder: GraphBuilder, _ batch: Int) -> StepOutputs {
            let (x, y) = (examples.input(builder, "x", batch, location), examples.input(builder, "y", batch, location))
            let prediction = model(x)
            let outputs = metrics.map { metric -> (String, Tensor) in
                let value = metric.compute(prediction, y)
                if !value.shape.isEmpty {
                    builder.record(.shape(op: "metric", message: "metric '\(metric.name)' must be a scalar, got \(value.type)", location: location))
                }
                return (metric.name, value)
            }
            return StepOutputs(loss: loss(prediction, y), outputs)
        }
        var inference = StepOptions()
        inference.training = false
        try self.init(name: name,
                      phases: [FitPhase("step") { batch in
                          try traceStep(name: "\(graphName)_train", models: [model], optimizer: optimizer, file: file, line: line) { step($0, batch) }
                      }],
                      evaluation: { batch in
                          try traceStep(name: "\(graphName)_eval", models: [model], optimizer: nil, options: inference, file: file, line: line) { step($0, batch) }
                      },
                      prediction: { batch in
                          try traceForward(name: "\(graphName)_predict", models: [model]) { builder in
                              [("prediction", model(examples.input(builder, "x", batch, location)))]
                          }
                      },
                      predictionOutput: "prediction", metrics: metrics.map(\.name), seed: seed, afterInitialization: nil, examples: examples)
    }
}

/// The example types of `x` and `y` that graphs traced from the data take, fixed by the first
/// dataset that gives them; a later dataset must match.
final class ExampleTypes {
    private var types: [String: TensorType] = [:]

    /// Records (or checks) the types of `x`, and of `y` when `targets`. Float feeds (f32 or f64)
    /// are taken in the graphs' own float type (`run` converts them), integer ones as i32.
    func resolve(_ data: any Dataset, targets: Bool, name: String) throws {
        for feed in targets ? ["x", "y"] : ["x"] {
            var type: TensorType
            do { type = try data.exampleType(feed) } catch let SinterError.runtime(message) {
                throw SinterError.runtime(message: "learner '\(name)': \(message); its graphs take 'x' (inputs) and 'y' (targets)")
            }
            if type.dtype.isFloat { type.dtype = .f32 }
            if let known = types[feed], known != type {
                throw SinterError.runtime(message: "learner '\(name)': its graphs take '\(feed)' examples of \(known); this dataset's are \(type)")
            }
            types[feed] = type
        }
    }

    /// Throws unless the types of `feeds` are known (a dataset gave them): tracing before then
    /// would give each example the shape of a scalar.
    func requireResolved(_ feeds: [String], name: String) throws {
        guard let missing = feeds.first(where: { types[$0] == nil }) else { return }
        throw SinterError.runtime(message: "learner '\(name)': the shape of '\(missing)' comes from the data: pass data (any dataset of the examples it trains on) or fit first")
    }

    /// Graph input `feed` for `batch` examples; resolved before any graph is traced.
    func input(_ builder: GraphBuilder, _ feed: String, _ batch: Int, _ location: SourceLocation) -> Tensor {
        let type = types[feed] ?? TensorType(builder.dtype, [])
        return builder.input(feed, [batch] + type.shape, dtype: type.dtype.isFloat ? builder.dtype : type.dtype,
                             file: location.file, line: location.line)
    }
}

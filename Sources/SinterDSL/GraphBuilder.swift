import SinterIR

/// Records DSL calls into a `Graph`. One builder per graph being traced.
///
/// DSL calls never throw: the first error (a shape mismatch, say) is kept here with its source line,
/// later calls on the broken value are skipped, and `finish()` throws it. So a model reads like
/// Keras code, with no `try` on every line, and still fails at the line that is wrong.
public final class GraphBuilder {
    public let graph: Graph
    public let dtype: DType
    /// Training mode: BatchNorm uses batch statistics and updates its moving ones.
    public var training: Bool
    /// Dropout is active only when this and `training` are both true.
    public var dropoutEnabled = true
    /// Base seed of the random ops this builder creates; each op gets `seed + its index`.
    public var seed: Int
    public private(set) var firstError: SinterError?
    /// The most recent location a DSL call recorded: what operators (`+`, `*`, ...) report when
    /// the call stack cannot give their own line (Operators.swift).
    var currentLocation = SourceLocation.unknown
    /// Set by `located`: the line every operator reports while a DSL composite runs.
    var operatorScope: SourceLocation?
    /// Softmax results (node -> its logits node): a cross-entropy given probabilities that came
    /// straight out of `softmax` uses the logits instead, as Keras does (`_keras_logits`).
    var softmaxLogits: [Int: Int] = [:]
    /// The types of the models traceStep/traceForward named, for the message about an unnamed layer.
    public internal(set) var modelTypes: [String] = []
    /// States written during this trace (BatchNorm moving statistics), by name: the node holding
    /// the newest value. Reads see it; `finish()` emits one assign per state.
    private var pendingState: [String: Int] = [:]
    private var pendingOrder: [String] = []
    private var randomOps = 0
    private var counterNode: Int?

    public init(name: String, dtype: DType = .f32, training: Bool = true, seed: Int = 0) {
        graph = Graph(name: name)
        self.dtype = dtype
        self.training = training
        self.seed = seed
    }

    /// Runs `body` with training mode set to `mode`, restoring it afterwards.
    public func withTraining<T>(_ mode: Bool, _ body: () throws -> T) rethrows -> T {
        let saved = training
        training = mode
        defer { training = saved }
        return try body()
    }

    /// Adds a node; on error records it and returns a poisoned tensor.
    public func node(_ op: Op, _ operands: [Tensor], _ attrs: Attributes = Attributes(), type: TensorType? = nil,
              at location: SourceLocation) -> Tensor {
        currentLocation = location
        if operands.contains(where: \.isPoisoned) {
            return Tensor.poison(self, type ?? TensorType(dtype, []))
        }
        do {
            let id = try graph.add(op, operands.map(\.id), attrs, type: type, at: location)
            return Tensor(builder: self, id: id)
        } catch let error as SinterError {
            record(error)
            return Tensor.poison(self, type ?? operands.first?.type ?? TensorType(dtype, []))
        } catch {
            record(.shape(op: op.rawValue, message: "\(error)", location: location))
            return Tensor.poison(self, type ?? TensorType(dtype, []))
        }
    }

    public func record(_ error: SinterError) {
        if firstError == nil { firstError = error }
    }

    // MARK: Sources

    /// A graph input called `name`.
    public func input(_ name: String, _ shape: [Int], dtype: DType? = nil, file: String = #fileID, line: Int = #line) -> Tensor {
        let location = SourceLocation(file: file, line: line)
        if let existing = graph.source(named: name) {
            record(.shape(op: "input", message: "'\(name)' is already defined as %\(existing)", location: location))
            return Tensor.poison(self, TensorType(dtype ?? self.dtype, shape))
        }
        return node(.input, [], Attributes(["name": .string(name)]), type: TensorType(dtype ?? self.dtype, shape), at: location)
    }

    /// The persistent tensor `name` (a trainable param, or state when `trainable` is false),
    /// created on first use; later uses in the same graph get the same node.
    public func persistent(_ name: String, _ shape: [Int], initializer: String, trainable: Bool, dtype: DType? = nil,
                           at location: SourceLocation) -> Tensor {
        let type = TensorType(dtype ?? self.dtype, shape)
        if let pending = pendingState[name] { return Tensor(builder: self, id: pending) }
        if let existing = graph.source(named: name) {
            let node = graph[existing]
            guard node.type == type, node.op == (trainable ? .param : .state) else {
                record(.shape(op: trainable ? "param" : "state",
                              message: "'\(name)' was created as \(node.op.rawValue) \(node.type) at \(node.location), now requested as \(type)",
                              location: location))
                return Tensor.poison(self, type)
            }
            return Tensor(builder: self, id: existing)
        }
        return node(trainable ? .param : .state, [],
                    Attributes(["name": .string(name), "init": .string(initializer)]), type: type, at: location)
    }

    /// Schedules `value` to be written into the state `name` at the end of the step; later reads of
    /// the state in this graph see `value`.
    public func updateState(_ name: String, _ value: Tensor) {
        guard !value.isPoisoned else { return }
        if pendingState[name] == nil { pendingOrder.append(name) }
        pendingState[name] = value.id
    }

    public func constant(_ value: Double, _ shape: [Int] = [], dtype: DType? = nil, file: String = #fileID, line: Int = #line) -> Tensor {
        node(.constant, [], Attributes(["value": .float(value)]), type: TensorType(dtype ?? self.dtype, shape),
             at: SourceLocation(file: file, line: line))
    }

    /// The scalar counter random ops read, so each run draws new numbers: the state `rng.counter`,
    /// incremented once per run.
    func randomCounter(at location: SourceLocation) -> Tensor {
        if let counterNode { return Tensor(builder: self, id: counterNode) }
        let counter = persistent("rng.counter", [], initializer: "zeros", trainable: false, dtype: .i32, at: location)
        counterNode = counter.id
        return counter
    }

    /// A fresh seed for the next random op.
    func nextSeed() -> Int {
        randomOps += 1
        return seed &* 1000 &+ randomOps
    }

    /// Emits pending state writes (and the random counter increment) and returns the graph, or
    /// throws the first error recorded while tracing.
    public func finish() throws -> Graph {
        if let firstError { throw firstError }
        for name in pendingOrder {
            guard let target = graph.source(named: name), let value = pendingState[name] else { continue }
            try graph.add(.assign, [target, value], at: graph[value].location)
        }
        pendingState = [:]
        pendingOrder = []
        if let counterNode {
            let location = graph[counterNode].location
            let one = try graph.add(.constant, [], Attributes(["value": .float(1)]), type: TensorType(.i32, []), at: location)
            let next = try graph.add(.add, [counterNode, one], at: location)
            try graph.add(.assign, [counterNode, next], at: location)
            self.counterNode = nil
        }
        return graph
    }
}

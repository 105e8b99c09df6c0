import SinterIR

/// In-memory arrays as a dataset: named tensors whose axis 0 is the example (Keras's
/// `fit(x, y)` on arrays). A batch is the rows at its indices, of every tensor.
public struct TensorDataset: Dataset {
    public let tensors: [String: HostTensor]
    public let count: Int

    /// Every tensor needs rank 1 or more and the same number of rows (at least one); the error
    /// names the tensors and their shapes otherwise.
    public init(_ tensors: [String: HostTensor]) throws {
        let listed = tensors.sorted { $0.key < $1.key }.map { "'\($0.key)' \(shapeText($0.value.shape))" }.joined(separator: ", ")
        guard let first = tensors.values.first else { throw SinterError.runtime(message: "a tensor dataset needs at least one tensor") }
        guard tensors.values.allSatisfy({ !$0.shape.isEmpty && $0.shape[0] == first.shape.first }), let rows = first.shape.first, rows >= 1 else {
            throw SinterError.runtime(message: "the tensors of a dataset must all have the same number of rows (axis 0, at least 1); got \(listed)")
        }
        self.tensors = tensors
        count = rows
    }

    /// Inputs `x` and, when given, targets `y` (the names the `Learner(model:...)` graphs take).
    public init(x: HostTensor, y: HostTensor? = nil) throws {
        try self.init(y.map { ["x": x, "y": $0] } ?? ["x": x])
    }

    public func feeds(for indices: ArraySlice<Int>) -> [String: HostTensor] {
        tensors.mapValues { $0.rows(indices) }
    }
}

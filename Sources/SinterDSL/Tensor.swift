import SinterIR

/// A symbolic tensor: a node in the graph a `GraphBuilder` is recording. Operations on tensors add
/// nodes; nothing is computed until the graph is compiled and run.
public struct Tensor {
    public let builder: GraphBuilder
    /// Node index in `builder.graph`, or -1 for a tensor poisoned by an earlier error.
    public let id: Int
    private let poisonType: TensorType?

    init(builder: GraphBuilder, id: Int) {
        self.builder = builder
        self.id = id
        poisonType = nil
    }

    private init(builder: GraphBuilder, poisonType: TensorType) {
        self.builder = builder
        id = -1
        self.poisonType = poisonType
    }

    static func poison(_ builder: GraphBuilder, _ type: TensorType) -> Tensor {
        Tensor(builder: builder, poisonType: type)
    }

    public var isPoisoned: Bool { id < 0 }
    public var type: TensorType { poisonType ?? builder.graph[id].type }
    public var shape: [Int] { type.shape }
    public var rank: Int { type.rank }
    public var dtype: DType { type.dtype }
    public var graph: Graph { builder.graph }

    /// The op that produced this tensor (nil when poisoned).
    public var op: Op? { isPoisoned ? nil : builder.graph[id].op }

    /// The operand tensors of the node that produced this one.
    public var operands: [Tensor] {
        isPoisoned ? [] : builder.graph[id].operands.map { Tensor(builder: builder, id: $0) }
    }
}

/// How big a graph may be before any of its numbers is trusted.
///
/// Shapes come from IR files and user code, so `shape.reduce(1, *)` may overflow Int (and trap)
/// or name more memory than exists. Every type that enters shape inference is checked here first,
/// with overflow-checked arithmetic, so later code (`count`, `byteSize`, the memory planner, the
/// emitter's index arithmetic) can use plain arithmetic on any graph that was built or verified.
/// Whether the graph fits this machine is decided later, by the runtime's memory guard.
public enum SizeLimits {
    /// The largest tensor, in bytes: 2^48 (256 TiB), far beyond any real machine, small enough
    /// that C index arithmetic in `long` and sums of many tensors cannot overflow.
    public static let maxTensorBytes = 1 << 48
    /// The largest sum of the bytes of every node in one graph: 2^56. With at most 2^48 per
    /// tensor, the memory planner's offsets (sums of sizes plus alignment) stay far from Int.max.
    public static let maxGraphBytes = 1 << 56

    /// The number of elements of `shape`, or nil when a dimension is negative or the product
    /// overflows Int.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for n in shape {
            guard n >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Why `type` is not a tensor Sinter can hold, or nil when it is: a negative dimension, an
    /// element count that overflows, or more than `maxTensorBytes`.
    public static func problem(with type: TensorType) -> String? {
        if let negative = type.shape.first(where: { $0 < 0 }) {
            return "\(type) has the negative dimension \(negative)"
        }
        // A zero anywhere makes the product 0, however large the rest.
        if type.shape.contains(0) { return nil }
        guard let count = elementCount(type.shape) else {
            return "\(type) has more elements than Int can count (\(productText(type.shape)))"
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: type.dtype.byteSize)
        guard !overflow, bytes <= maxTensorBytes else {
            return "\(type) holds \(count) elements (\(overflow ? "more than Int.max" : "\(bytes)") bytes), "
                + "more than the \(maxTensorBytes)-byte limit of one tensor"
        }
        return nil
    }

    /// `a + b`, or nil on overflow.
    public static func sum(_ a: Int, _ b: Int) -> Int? {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : value
    }

    /// `a * b`, clamped to Int.min/Int.max instead of trapping: for estimates (flop counts) and
    /// for sizes a later check refuses anyway.
    public static func saturatingProduct(_ a: Int, _ b: Int) -> Int {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        guard overflow else { return value }
        return (a < 0) == (b < 0) ? Int.max : Int.min
    }

    /// `a + b`, clamped instead of trapping.
    public static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (value, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return value }
        return b > 0 ? Int.max : Int.min
    }

    /// `2^20 x 2^20 x 2^20`-style text of a product too big to print as a number.
    static func productText(_ shape: [Int]) -> String {
        shape.map { n in
            n > 0 && n & (n - 1) == 0 ? "2^\(n.trailingZeroBitCount)" : String(n)
        }.joined(separator: " x ")
    }
}

extension Graph {
    /// Throws when the nodes of the graph together hold more than `SizeLimits.maxGraphBytes`
    /// (each node was checked on its own when it was added or verified).
    public func checkTotalBytes() throws {
        var total = 0
        for (id, node) in nodes.enumerated() {
            if let problem = SizeLimits.problem(with: node.type) {
                throw SinterError.verify(message: "%\(id) \(node.op.rawValue) (\(node.location)): \(problem)")
            }
            guard let sum = SizeLimits.sum(total, node.type.byteSize), sum <= SizeLimits.maxGraphBytes else {
                throw SinterError.verify(message: "graph '\(name)' holds more than \(SizeLimits.maxGraphBytes) bytes in its nodes "
                    + "(reached at %\(id) \(node.op.rawValue) : \(node.type) @ \(node.location))")
            }
            total = sum
        }
    }
}

/// Element types a graph tensor can have. f64 exists for gradient checks; i32 for counters.
public enum DType: String, CaseIterable, Sendable, Codable {
    case f32, f64, i32

    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f64: return 8
        }
    }

    public var isFloat: Bool { self != .i32 }
}

/// A static tensor type: element type plus shape (NHWC for images). Rank 0 is a scalar.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var dtype: DType
    public var shape: [Int]

    public init(_ dtype: DType, _ shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
    }

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    public var byteSize: Int { count * dtype.byteSize }

    /// `f32[128,28,28,1]`, the form used in IR text and error messages.
    public var description: String {
        "\(dtype.rawValue)[\(shape.map(String.init).joined(separator: ","))]"
    }
}

/// Row-major strides of a shape, in elements.
public func rowMajorStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[axis] = running
        running *= shape[axis]
    }
    return strides
}

/// `[2,3,4]`, for messages.
public func shapeText(_ shape: [Int]) -> String {
    "[\(shape.map(String.init).joined(separator: ","))]"
}

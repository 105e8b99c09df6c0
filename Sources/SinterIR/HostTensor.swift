import Foundation

/// Element types a tensor can have in memory and in files (safetensors names). The graph itself
/// computes only in `DType`; the others exist for interchange.
public enum StorageType: String, CaseIterable, Sendable {
    case f64 = "F64", f32 = "F32", i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    public init(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f64: self = .f64
        case .i32: self = .i32
        }
    }

    /// The graph type this storage type computes in, if any.
    public var dtype: DType? {
        switch self {
        case .f32: return .f32
        case .f64: return .f64
        case .i32: return .i32
        default: return nil
        }
    }
}

/// A concrete tensor on the host: element type, shape and little-endian row-major bytes.
public struct HostTensor: Equatable, Sendable {
    public var storage: StorageType
    public var shape: [Int]
    public var bytes: [UInt8]

    public var count: Int { shape.reduce(1, *) }

    public init(storage: StorageType, shape: [Int], bytes: [UInt8]) {
        precondition(bytes.count == shape.reduce(1, *) * storage.byteSize, "byte count does not match shape")
        self.storage = storage
        self.shape = shape
        self.bytes = bytes
    }

    public init(shape: [Int], floats: [Float]) {
        precondition(floats.count == shape.reduce(1, *), "value count does not match shape")
        self.init(storage: .f32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
    }

    public init(shape: [Int], doubles: [Double]) {
        precondition(doubles.count == shape.reduce(1, *), "value count does not match shape")
        self.init(storage: .f64, shape: shape, bytes: doubles.withUnsafeBytes { Array($0) })
    }

    public init(shape: [Int], int32s: [Int32]) {
        precondition(int32s.count == shape.reduce(1, *), "value count does not match shape")
        self.init(storage: .i32, shape: shape, bytes: int32s.withUnsafeBytes { Array($0) })
    }

    /// Zero-filled tensor of a graph type.
    public init(zeros type: TensorType) {
        self.init(storage: StorageType(type.dtype), shape: type.shape, bytes: [UInt8](repeating: 0, count: type.byteSize))
    }

    /// Every element as Double, whatever the storage type.
    public var doubles: [Double] {
        bytes.withUnsafeBytes { raw -> [Double] in
            switch storage {
            case .f64: return Array(raw.bindMemory(to: Double.self))
            case .f32: return raw.bindMemory(to: Float.self).map(Double.init)
            case .i64: return raw.bindMemory(to: Int64.self).map(Double.init)
            case .i32: return raw.bindMemory(to: Int32.self).map(Double.init)
            case .i16: return raw.bindMemory(to: Int16.self).map(Double.init)
            case .i8: return raw.bindMemory(to: Int8.self).map(Double.init)
            case .u64: return raw.bindMemory(to: UInt64.self).map(Double.init)
            case .u32: return raw.bindMemory(to: UInt32.self).map(Double.init)
            case .u16: return raw.bindMemory(to: UInt16.self).map(Double.init)
            case .u8, .bool: return raw.map(Double.init)
            }
        }
    }

    public var floats: [Float] {
        if storage == .f32 { return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
        return doubles.map(Float.init)
    }

    /// This tensor converted to a graph dtype (f32, f64 or i32), for feeding a compiled graph.
    public func converted(to dtype: DType) -> HostTensor {
        if storage.dtype == dtype { return self }
        let values = doubles
        switch dtype {
        case .f32: return HostTensor(shape: shape, floats: values.map(Float.init))
        case .f64: return HostTensor(shape: shape, doubles: values)
        case .i32: return HostTensor(shape: shape, int32s: values.map { Int32($0) })
        }
    }
}

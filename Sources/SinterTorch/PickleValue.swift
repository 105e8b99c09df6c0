import SinterIR

/// What the restricted unpickler can build: plain data, and the handful of PyTorch globals a
/// state dict needs, resolved to tags (never to code). Lists and dicts are reference types
/// because pickle mutates them in place (APPEND, SETITEM) while the memo also refers to them.
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer that does not fit Int (e.g. torch's magic number): little-endian two's complement.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(PickleGlobal)
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)

    /// A short name of the kind, for error messages.
    public var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case let .global(g): return g.qualifiedName
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    public var intValue: Int? { if case let .int(v) = self { return v } else { return nil } }
    public var stringValue: String? { if case let .string(v) = self { return v } else { return nil } }
}

public final class PickleList {
    public var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// Entries in insertion order (a later SETITEM of the same key wins when read as a state dict).
public final class PickleDict {
    public var entries: [(key: PickleValue, value: PickleValue)]
    init(_ entries: [(key: PickleValue, value: PickleValue)] = []) { self.entries = entries }
}

/// The only globals a file may name. Anything else is refused when its GLOBAL opcode is read.
public enum PickleGlobal: Equatable {
    case rebuildTensorV2, rebuildTensor, rebuildParameter, orderedDict
    case storageType(TorchDType)

    public init?(module: String, name: String) {
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch", _):
            guard let dtype = TorchDType(storageClass: name) else { return nil }
            self = .storageType(dtype)
        default: return nil
        }
    }

    public var qualifiedName: String {
        switch self {
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensor: return "torch._utils._rebuild_tensor"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .orderedDict: return "collections.OrderedDict"
        case let .storageType(dtype): return "torch.\(dtype.storageClass)"
        }
    }
}

/// Element types of PyTorch storages. Half and bfloat16 are widened to float32 when read.
public enum TorchDType: String, CaseIterable, Sendable {
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    public init?(storageClass: String) {
        guard let match = Self.allCases.first(where: { $0.storageClass == storageClass }) else { return nil }
        self = match
    }

    public var storageClass: String {
        switch self {
        case .float32: return "FloatStorage"
        case .float64: return "DoubleStorage"
        case .float16: return "HalfStorage"
        case .bfloat16: return "BFloat16Storage"
        case .int64: return "LongStorage"
        case .int32: return "IntStorage"
        case .int16: return "ShortStorage"
        case .int8: return "CharStorage"
        case .uint8: return "ByteStorage"
        case .bool: return "BoolStorage"
        }
    }

    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// How the tensor is stored once read (half types become f32).
    public var hostStorage: StorageType {
        switch self {
        case .float32, .float16, .bfloat16: return .f32
        case .float64: return .f64
        case .int64: return .i64
        case .int32: return .i32
        case .int16: return .i16
        case .int8: return .i8
        case .uint8: return .u8
        case .bool: return .bool
        }
    }
}

/// A storage named by a persistent id: its key in the file, element type and element count.
public struct TorchStorageRef: Equatable, Sendable {
    public var key: String
    public var dtype: TorchDType
    public var count: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage (in elements).
public struct TorchTensorRef: Equatable, Sendable {
    public var storage: TorchStorageRef
    public var offset: Int
    public var shape: [Int]
    public var stride: [Int]
}

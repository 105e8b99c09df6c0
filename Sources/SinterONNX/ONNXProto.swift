/// The parts of the ONNX protobuf schema (onnx/onnx.proto3) that Sinter reads, as plain values.
/// Fields Sinter never uses (doc strings, metadata, training info, functions) are skipped by the
/// decoder; subgraph attributes (If, Loop, Scan bodies) are recorded but not decoded, since no
/// supported operator takes one.

/// ONNX TensorProto.DataType values.
public enum ONNXElementType: Int, Sendable, CustomStringConvertible {
    case undefined = 0, float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
    case string = 8, bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13
    case complex64 = 14, complex128 = 15, bfloat16 = 16
    case float8e4m3fn = 17, float8e4m3fnuz = 18, float8e5m2 = 19, float8e5m2fnuz = 20
    case uint4 = 21, int4 = 22, float4e2m1 = 23, float8e8m0 = 24, uint2 = 25, int2 = 26

    public var description: String {
        Self.names[rawValue]
    }

    static let names = ["undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool",
                        "float16", "float64", "uint32", "uint64", "complex64", "complex128", "bfloat16",
                        "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1",
                        "float8e8m0", "uint2", "int2"]


    public var isFloat: Bool { self == .float || self == .double }

    public var isInteger: Bool {
        switch self {
        case .uint8, .int8, .uint16, .int16, .int32, .int64, .uint32, .uint64, .bool: return true
        default: return false
        }
    }

    /// The range of an integer type, for quantisation and range checks.
    var integerRange: ClosedRange<Double>? {
        switch self {
        case .uint8: return 0...255
        case .int8: return -128...127
        case .uint16: return 0...65535
        case .int16: return -32768...32767
        case .int32: return -2147483648...2147483647
        case .bool: return 0...1
        case .uint32: return 0...4294967295
        case .int64, .uint64: return -9.223372036854775807e18...1.8446744073709552e19
        default: return nil
        }
    }
}

public struct ONNXTensorProto: Sendable {
    public var name = ""
    public var dims: [Int64] = []
    public var dataType: Int32 = 0
    public var floatData: [Float] = []
    public var int32Data: [Int32] = []
    public var int64Data: [Int64] = []
    public var doubleData: [Double] = []
    public var uint64Data: [UInt64] = []
    public var stringCount = 0
    public var rawData: [UInt8]? = nil
    /// `external_data` keys (location, offset, ...) and `data_location == EXTERNAL`: refused.
    public var externalKeys: [String] = []
    public var isExternal = false
    public var hasSegment = false
}

public struct ONNXDimension: Sendable, Equatable {
    /// A fixed size, or nil for a symbolic (`dim_param`) or missing one.
    public var value: Int64?
    public var symbol: String?
}

public struct ONNXValueInfo: Sendable {
    public var name = ""
    /// nil when the value has no tensor type (sequence, map, optional) or no type at all.
    public var elementType: Int32? = nil
    /// nil when the shape is unknown (no `shape` field).
    public var shape: [ONNXDimension]? = nil
    public var isTensor = false
}

public enum ONNXAttributeValue: Sendable {
    case float(Float)
    case int(Int64)
    case string([UInt8])
    case tensor(ONNXTensorProto)
    case floats([Float])
    case ints([Int64])
    case strings([[UInt8]])
    case tensors([ONNXTensorProto])
    /// A graph, sparse tensor or type proto: decoded no further.
    case unsupported(String)
}

public struct ONNXAttribute: Sendable {
    public var name = ""
    public var type: Int32 = 0
    public var value: ONNXAttributeValue? = nil
    /// `ref_attr_name`: only meaningful inside functions, which Sinter does not read.
    public var refAttrName = ""
}

public struct ONNXNode: Sendable {
    public var name = ""
    public var opType = ""
    public var domain = ""
    public var inputs: [String] = []
    public var outputs: [String] = []
    public var attributes: [ONNXAttribute] = []
}

public struct ONNXGraph: Sendable {
    public var name = ""
    public var nodes: [ONNXNode] = []
    public var initializers: [ONNXTensorProto] = []
    public var inputs: [ONNXValueInfo] = []
    public var outputs: [ONNXValueInfo] = []
    public var valueInfo: [ONNXValueInfo] = []
    public var sparseInitializerCount = 0
}

public struct ONNXModel: Sendable {
    public var irVersion: Int64 = 0
    /// domain ("" is the default ai.onnx domain) -> opset version.
    public var opsets: [String: Int64] = [:]
    public var producer = ""
    public var graph = ONNXGraph()
    public var hasGraph = false

    /// The opset version of the default domain (`ai.onnx`).
    public var defaultOpset: Int64 { opsets[""] ?? opsets["ai.onnx"] ?? 1 }
}

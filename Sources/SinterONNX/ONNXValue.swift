import SinterIR

/// How a Sinter node holds an ONNX tensor. ONNX images are NCHW; Sinter's convolutions, pools and
/// normalisations work on NHWC, so the importer keeps a rank-4 value in whichever layout its
/// producer made and converts only where a consumer needs the other one. Chains of
/// conv/norm/activation/pad/resize therefore stay NHWC with no transposes between them.
public enum ONNXLayout: Sendable, Equatable {
    /// The Sinter node's shape and element order are the ONNX tensor's.
    case asONNX
    /// A rank-4 ONNX tensor [N,C,H,W] held as [N,H,W,C].
    case channelsLast

    /// ONNX axis -> Sinter axis.
    func axis(_ onnxAxis: Int) -> Int {
        guard self == .channelsLast else { return onnxAxis }
        return [0, 3, 1, 2][onnxAxis]
    }

    /// The ONNX shape of a Sinter shape held in this layout.
    func onnxShape(_ shape: [Int]) -> [Int] {
        guard self == .channelsLast, shape.count == 4 else { return shape }
        return [shape[0], shape[3], shape[1], shape[2]]
    }
}

/// Perm from NCHW to NHWC and back (Sinter's `transpose` perm: result axis i is operand axis perm[i]).
let toChannelsLast = [0, 2, 3, 1]
let toChannelsFirst = [0, 3, 1, 2]

/// An ONNX value during import: known at import time, or computed by a Sinter node.
public enum ImportedValue: Sendable {
    case constant(ONNXConstant)
    case runtime(node: Int, layout: ONNXLayout, type: ONNXElementType)

    var constant: ONNXConstant? {
        if case let .constant(c) = self { return c }
        return nil
    }

    var elementType: ONNXElementType {
        switch self {
        case let .constant(c): return c.type
        case let .runtime(_, _, type): return type
        }
    }
}

/// The Sinter element type that computes an ONNX type at run time, or nil if none does.
func sinterDType(_ type: ONNXElementType) -> DType? {
    switch type {
    case .float: return .f32
    case .double: return .f64
    case .int8, .uint8, .int16, .uint16, .int32, .int64, .uint32, .bool: return .i32
    default: return nil
    }
}

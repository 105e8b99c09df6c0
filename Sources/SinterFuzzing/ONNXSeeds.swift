import Sinter

/// Small valid ONNX models for the `onnx` fuzz target, written here with a minimal protobuf
/// encoder (no files needed): a conv network (raw_data and float_data initializers, Pad, Conv,
/// InstanceNormalization, Relu, Resize), static shape arithmetic (Shape, Gather, Concat,
/// Reshape), Gemm and Softmax, a quantise/dequantise pair, and windows (depthwise Conv,
/// ConvTranspose, linear Resize, a 1-D AveragePool).
public enum ONNXSeeds {
    /// Protobuf encoding of the fields the seeds use.
    public struct Message {
        public var bytes: [UInt8] = []
        public init() {}

        public mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            bytes.append(UInt8(v))
        }
        public mutating func int(_ field: Int, _ value: Int64) { varint(UInt64(field << 3)); varint(UInt64(bitPattern: value)) }
        public mutating func bytes(_ field: Int, _ data: [UInt8]) { varint(UInt64(field << 3 | 2)); varint(UInt64(data.count)); bytes += data }
        public mutating func string(_ field: Int, _ text: String) { bytes(field, Array(text.utf8)) }
        public mutating func message(_ field: Int, _ m: Message) { bytes(field, m.bytes) }
        public mutating func float(_ field: Int, _ value: Float) {
            varint(UInt64(field << 3 | 5))
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
        }
        public mutating func packedInts(_ field: Int, _ values: [Int64]) {
            var inner = Message()
            for v in values { inner.varint(UInt64(bitPattern: v)) }
            bytes(field, inner.bytes)
        }
        public mutating func packedFloats(_ field: Int, _ values: [Float]) {
            var inner: [UInt8] = []
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { inner += $0 } }
            bytes(field, inner)
        }
    }

    public static func tensor(_ name: String, _ dims: [Int64], floats: [Float], raw: Bool) -> Message {
        var t = Message()
        t.packedInts(1, dims)
        t.int(2, 1)
        t.string(8, name)
        if raw {
            var data: [UInt8] = []
            for v in floats { withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 } }
            t.bytes(9, data)
        } else {
            t.packedFloats(4, floats)
        }
        return t
    }

    public static func int64Tensor(_ name: String, _ values: [Int64]) -> Message {
        var t = Message()
        t.packedInts(1, [Int64(values.count)])
        t.int(2, 7)
        t.string(8, name)
        t.packedInts(7, values)
        return t
    }

    public static func valueInfo(_ name: String, _ dims: [Int64], type: Int64 = 1) -> Message {
        var shape = Message()
        for d in dims { var dim = Message(); dim.int(1, d); shape.message(1, dim) }
        var tensorType = Message()
        tensorType.int(1, type)
        tensorType.message(2, shape)
        var typeProto = Message()
        typeProto.message(1, tensorType)
        var info = Message()
        info.string(1, name)
        info.message(2, typeProto)
        return info
    }

    public enum AttributeValue { case int(Int64), ints([Int64]), float(Float), string(String) }

    public static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String, _ attributes: [(String, AttributeValue)] = []) -> Message {
        var n = Message()
        for i in inputs { n.string(1, i) }
        for o in outputs { n.string(2, o) }
        n.string(3, name)
        n.string(4, op)
        for (key, value) in attributes {
            var a = Message()
            a.string(1, key)
            switch value {
            case let .int(v): a.int(3, v); a.int(20, 2)
            case let .ints(v): a.packedInts(8, v); a.int(20, 7)
            case let .float(v): a.float(2, v); a.int(20, 1)
            case let .string(v): a.string(4, v); a.int(20, 3)
            }
            n.message(5, a)
        }
        return n
    }

    public static func model(_ nodes: [Message], initializers: [Message], inputs: [Message], outputs: [Message], opset: Int64) -> [UInt8] {
        var graph = Message()
        for n in nodes { graph.message(1, n) }
        graph.string(2, "seed")
        for i in initializers { graph.message(5, i) }
        for i in inputs { graph.message(11, i) }
        for o in outputs { graph.message(12, o) }
        var opsetID = Message()
        opsetID.string(1, "")
        opsetID.int(2, opset)
        var m = Message()
        m.int(1, 8)
        m.string(2, "sinter-fuzz")
        m.message(7, graph)
        m.message(8, opsetID)
        return m.bytes
    }

    public static var all: [[UInt8]] {
        let weights: [Float] = (0..<108).map { (k: Int) -> Float in Float(k % 7) / 10 - 0.3 }
        let conv = model([
            node("Pad", ["x", "pads"], ["p"], name: "pad", [("mode", .string("reflect"))]),
            node("Conv", ["p", "w", "b"], ["c"], name: "conv", [("kernel_shape", .ints([3, 3])), ("strides", .ints([1, 1]))]),
            node("InstanceNormalization", ["c", "scale", "bias"], ["n"], name: "norm", [("epsilon", .float(1e-5))]),
            node("Relu", ["n"], ["r"], name: "relu"),
            node("Resize", ["r", "", "scales"], ["y"], name: "up", [("mode", .string("nearest")), ("coordinate_transformation_mode", .string("asymmetric")), ("nearest_mode", .string("floor"))]),
        ], initializers: [tensor("w", [4, 3, 3, 3], floats: weights, raw: true), tensor("b", [4], floats: [0.1, -0.1, 0.2, 0], raw: false),
                          tensor("scale", [4], floats: [1, 2, 1, 0.5], raw: true), tensor("bias", [4], floats: [0, 0, 1, 0], raw: false),
                          int64Tensor("pads", [0, 0, 1, 1, 0, 0, 1, 1]), tensor("scales", [4], floats: [1, 1, 2, 2], raw: false)],
           inputs: [valueInfo("x", [1, 3, 6, 6])], outputs: [valueInfo("y", [1, 4, 12, 12])], opset: 17)
        let shapes = model([
            node("Shape", ["x"], ["s"], name: "shape"),
            node("Gather", ["s", "zero"], ["n"], name: "batch", [("axis", .int(0))]),
            node("Concat", ["n", "minus1"], ["target"], name: "cat", [("axis", .int(0))]),
            node("Reshape", ["x", "target"], ["flat"], name: "reshape"),
            node("Transpose", ["flat"], ["y"], name: "t", [("perm", .ints([1, 0]))]),
        ], initializers: [int64Tensor("zero", [0]), int64Tensor("minus1", [-1])],
           inputs: [valueInfo("x", [2, 3, 4])], outputs: [valueInfo("y", [12, 2])], opset: 13)
        let denseWeights: [Float] = (0..<15).map { (k: Int) -> Float in Float(k) / 20 }
        let dense = model([
            node("Gemm", ["x", "w", "b"], ["g"], name: "fc", [("transB", .int(1)), ("alpha", .float(0.5))]),
            node("Softmax", ["g"], ["y"], name: "softmax", [("axis", .int(-1))]),
        ], initializers: [tensor("w", [3, 5], floats: denseWeights, raw: false), tensor("b", [3], floats: [1, 0, -1], raw: true)],
           inputs: [valueInfo("x", [2, 5])], outputs: [valueInfo("y", [2, 3])], opset: 13)
        var zeroPoint = Message()
        zeroPoint.int(2, 2)
        zeroPoint.string(8, "zp")
        zeroPoint.bytes(9, [128])
        let quantised = model([
            node("QuantizeLinear", ["x", "s", "zp"], ["q"], name: "q"),
            node("DequantizeLinear", ["q", "s", "zp"], ["d"], name: "dq"),
            node("MaxPool", ["d"], ["y"], name: "pool", [("kernel_shape", .ints([2, 2])), ("strides", .ints([2, 2])), ("ceil_mode", .int(1))]),
        ], initializers: [tensor("s", [], floats: [0.05], raw: true), zeroPoint],
           inputs: [valueInfo("x", [1, 2, 5, 5])], outputs: [valueInfo("y", [1, 2, 3, 3])], opset: 13)
        let depthwiseWeights: [Float] = (0..<36).map { (k: Int) -> Float in Float(k % 5) / 4 - 0.5 }
        let upWeights: [Float] = (0..<32).map { (k: Int) -> Float in Float(k % 3) / 2 - 0.5 }
        let windows = model([
            node("Conv", ["x", "dw"], ["d"], name: "depthwise", [("group", .int(4)), ("strides", .ints([2, 2])), ("pads", .ints([1, 1, 1, 1])), ("dilations", .ints([1, 1]))]),
            node("ConvTranspose", ["d", "up"], ["t"], name: "deconv", [("strides", .ints([2, 2])), ("output_padding", .ints([1, 1]))]),
            node("Resize", ["t", "", "scales"], ["r"], name: "linear", [("mode", .string("linear"))]),
            node("Reshape", ["r", "flat"], ["f"], name: "to1d"),
            node("AveragePool", ["f"], ["y"], name: "pool1d", [("kernel_shape", .ints([3])), ("strides", .ints([2])), ("ceil_mode", .int(1))]),
        ], initializers: [tensor("dw", [4, 1, 3, 3], floats: depthwiseWeights, raw: true), tensor("up", [4, 2, 2, 2], floats: upWeights, raw: false),
                          tensor("scales", [4], floats: [1, 1, 1.5, 0.5], raw: true), int64Tensor("flat", [1, 2, -1])],
           inputs: [valueInfo("x", [1, 4, 8, 8])], outputs: [valueInfo("y", [1, 2, 26])], opset: 13)
        return [conv, shapes, dense, quantised, windows]
    }
}

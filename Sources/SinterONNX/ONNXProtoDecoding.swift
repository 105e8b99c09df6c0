import SinterIR
import SinterIO

/// Decoding ONNX protobuf bytes into the values of ONNXProto.swift. Field numbers are those of
/// onnx/onnx.proto3; unknown fields are skipped, as protobuf requires.
public enum ONNXProtoDecoder {
    /// Reads and decodes a `.onnx` model file.
    public static func readModel(path: String) throws -> ONNXModel {
        try decodeModel(InputFile.read(path, expected: "an ONNX model"), path: path)
    }

    public static func decodeModel(_ bytes: [UInt8], path: String) throws -> ONNXModel {
        var reader = ProtobufReader(bytes: bytes, path: path, message: "ModelProto")
        var model = ONNXModel()
        while let (number, wire) = try reader.nextField() {
            switch number {
            case 1: try reader.expect(wire, .varint, field: "ir_version"); model.irVersion = try reader.int64()
            case 2: try reader.expect(wire, .lengthDelimited, field: "producer_name"); model.producer = try reader.string()
            case 7:
                try reader.expect(wire, .lengthDelimited, field: "graph")
                var sub = try reader.submessage("GraphProto")
                model.graph = try graph(&sub)
                model.hasGraph = true
            case 8:
                try reader.expect(wire, .lengthDelimited, field: "opset_import")
                var sub = try reader.submessage("OperatorSetIdProto")
                var domain = "", version: Int64 = 0
                while let (n, w) = try sub.nextField() {
                    switch n {
                    case 1: try sub.expect(w, .lengthDelimited, field: "domain"); domain = try sub.string()
                    case 2: try sub.expect(w, .varint, field: "version"); version = try sub.int64()
                    default: try sub.skip(w)
                    }
                }
                model.opsets[domain] = version
            default: try reader.skip(wire)
            }
        }
        guard model.hasGraph else {
            throw SinterError.file(path: path, message: "is not an ONNX model: it has no graph (ModelProto field 7)")
        }
        return model
    }

    /// Decodes a lone TensorProto (the `input_0.pb` files of the ONNX test data).
    public static func decodeTensor(_ bytes: [UInt8], path: String) throws -> ONNXTensorProto {
        var reader = ProtobufReader(bytes: bytes, path: path, message: "TensorProto")
        return try tensor(&reader)
    }

    static func graph(_ reader: inout ProtobufReader) throws -> ONNXGraph {
        var graph = ONNXGraph()
        while let (number, wire) = try reader.nextField() {
            switch number {
            case 1:
                try reader.expect(wire, .lengthDelimited, field: "node")
                var sub = try reader.submessage("NodeProto")
                graph.nodes.append(try node(&sub))
            case 2: try reader.expect(wire, .lengthDelimited, field: "name"); graph.name = try reader.string()
            case 5:
                try reader.expect(wire, .lengthDelimited, field: "initializer")
                var sub = try reader.submessage("TensorProto")
                graph.initializers.append(try tensor(&sub))
            case 11, 12, 13:
                try reader.expect(wire, .lengthDelimited, field: "value info")
                var sub = try reader.submessage("ValueInfoProto")
                let info = try valueInfo(&sub)
                if number == 11 { graph.inputs.append(info) } else if number == 12 { graph.outputs.append(info) } else { graph.valueInfo.append(info) }
            case 15:
                try reader.skip(wire)
                graph.sparseInitializerCount += 1
            default: try reader.skip(wire)
            }
        }
        return graph
    }

    static func node(_ reader: inout ProtobufReader) throws -> ONNXNode {
        var node = ONNXNode()
        while let (number, wire) = try reader.nextField() {
            switch number {
            case 1: try reader.expect(wire, .lengthDelimited, field: "input"); node.inputs.append(try reader.string())
            case 2: try reader.expect(wire, .lengthDelimited, field: "output"); node.outputs.append(try reader.string())
            case 3: try reader.expect(wire, .lengthDelimited, field: "name"); node.name = try reader.string()
            case 4: try reader.expect(wire, .lengthDelimited, field: "op_type"); node.opType = try reader.string()
            case 7: try reader.expect(wire, .lengthDelimited, field: "domain"); node.domain = try reader.string()
            case 5:
                try reader.expect(wire, .lengthDelimited, field: "attribute")
                var sub = try reader.submessage("AttributeProto")
                node.attributes.append(try attribute(&sub))
            default: try reader.skip(wire)
            }
        }
        return node
    }

    static func attribute(_ reader: inout ProtobufReader) throws -> ONNXAttribute {
        var attribute = ONNXAttribute()
        var floats: [Float] = [], ints: [Int64] = [], strings: [[UInt8]] = [], tensors: [ONNXTensorProto] = []
        var scalar: ONNXAttributeValue?
        var other: String?
        while let (number, wire) = try reader.nextField() {
            switch number {
            case 1: try reader.expect(wire, .lengthDelimited, field: "name"); attribute.name = try reader.string()
            case 20: try reader.expect(wire, .varint, field: "type"); attribute.type = try reader.int32()
            case 21: try reader.expect(wire, .lengthDelimited, field: "ref_attr_name"); attribute.refAttrName = try reader.string()
            case 2: try reader.expect(wire, .fixed32, field: "f"); scalar = .float(try reader.float())
            case 3: try reader.expect(wire, .varint, field: "i"); scalar = .int(try reader.int64())
            case 4: try reader.expect(wire, .lengthDelimited, field: "s"); scalar = .string(try reader.bytesField())
            case 5:
                try reader.expect(wire, .lengthDelimited, field: "t")
                var sub = try reader.submessage("TensorProto")
                scalar = .tensor(try tensor(&sub))
            case 7: try reader.repeated(wire, scalar: .fixed32, into: &floats) { try $0.float() }
            case 8: try reader.repeated(wire, scalar: .varint, into: &ints) { try $0.int64() }
            case 9: try reader.expect(wire, .lengthDelimited, field: "strings"); strings.append(try reader.bytesField())
            case 10:
                try reader.expect(wire, .lengthDelimited, field: "tensors")
                var sub = try reader.submessage("TensorProto")
                tensors.append(try tensor(&sub))
            case 6, 11: try reader.skip(wire); other = "a graph"
            case 22, 23: try reader.skip(wire); other = "a sparse tensor"
            case 14, 15: try reader.skip(wire); other = "a type proto"
            default: try reader.skip(wire)
            }
        }
        // The type field says which value is meant; files from old exporters leave it out, and
        // then the one value present is taken.
        switch attribute.type {
        case 1, 2, 3, 4: attribute.value = scalar
        case 6: attribute.value = .floats(floats)
        case 7: attribute.value = .ints(ints)
        case 8: attribute.value = .strings(strings)
        case 9: attribute.value = .tensors(tensors)
        case 5, 10, 11, 12, 13, 14: attribute.value = .unsupported(other ?? "an unsupported value")
        default:
            if let scalar { attribute.value = scalar }
            else if !floats.isEmpty { attribute.value = .floats(floats) }
            else if !ints.isEmpty { attribute.value = .ints(ints) }
            else if !strings.isEmpty { attribute.value = .strings(strings) }
            else if !tensors.isEmpty { attribute.value = .tensors(tensors) }
            else if let other { attribute.value = .unsupported(other) }
        }
        return attribute
    }

    static func tensor(_ reader: inout ProtobufReader) throws -> ONNXTensorProto {
        var tensor = ONNXTensorProto()
        while let (number, wire) = try reader.nextField() {
            switch number {
            case 1: try reader.repeated(wire, scalar: .varint, into: &tensor.dims) { try $0.int64() }
            case 2: try reader.expect(wire, .varint, field: "data_type"); tensor.dataType = try reader.int32()
            case 3: try reader.skip(wire); tensor.hasSegment = true
            case 4: try reader.repeated(wire, scalar: .fixed32, into: &tensor.floatData) { try $0.float() }
            case 5: try reader.repeated(wire, scalar: .varint, into: &tensor.int32Data) { try $0.int32() }
            case 6: try reader.skip(wire); tensor.stringCount += 1
            case 7: try reader.repeated(wire, scalar: .varint, into: &tensor.int64Data) { try $0.int64() }
            case 8: try reader.expect(wire, .lengthDelimited, field: "name"); tensor.name = try reader.string()
            case 9: try reader.expect(wire, .lengthDelimited, field: "raw_data"); tensor.rawData = try reader.bytesField()
            case 10: try reader.repeated(wire, scalar: .fixed64, into: &tensor.doubleData) { try $0.double() }
            case 11: try reader.repeated(wire, scalar: .varint, into: &tensor.uint64Data) { try $0.varint() }
            case 13:
                try reader.expect(wire, .lengthDelimited, field: "external_data")
                var sub = try reader.submessage("StringStringEntryProto")
                while let (n, w) = try sub.nextField() {
                    if n == 1, w == .lengthDelimited { tensor.externalKeys.append(try sub.string()) } else { try sub.skip(w) }
                }
            case 14: try reader.expect(wire, .varint, field: "data_location"); tensor.isExternal = try reader.int32() == 1
            default: try reader.skip(wire)
            }
        }
        return tensor
    }

    static func valueInfo(_ reader: inout ProtobufReader) throws -> ONNXValueInfo {
        var info = ONNXValueInfo()
        while let (number, wire) = try reader.nextField() {
            switch number {
            case 1: try reader.expect(wire, .lengthDelimited, field: "name"); info.name = try reader.string()
            case 2:
                try reader.expect(wire, .lengthDelimited, field: "type")
                var type = try reader.submessage("TypeProto")
                while let (n, w) = try type.nextField() {
                    guard n == 1, w == .lengthDelimited else { try type.skip(w); continue }
                    info.isTensor = true
                    var tensorType = try type.submessage("TypeProto.Tensor")
                    while let (tn, tw) = try tensorType.nextField() {
                        switch tn {
                        case 1: try tensorType.expect(tw, .varint, field: "elem_type"); info.elementType = try tensorType.int32()
                        case 2:
                            try tensorType.expect(tw, .lengthDelimited, field: "shape")
                            var shape = try tensorType.submessage("TensorShapeProto")
                            var dims: [ONNXDimension] = []
                            while let (sn, sw) = try shape.nextField() {
                                guard sn == 1, sw == .lengthDelimited else { try shape.skip(sw); continue }
                                var dim = try shape.submessage("TensorShapeProto.Dimension")
                                var dimension = ONNXDimension()
                                while let (dn, dw) = try dim.nextField() {
                                    switch dn {
                                    case 1: try dim.expect(dw, .varint, field: "dim_value"); dimension.value = try dim.int64()
                                    case 2: try dim.expect(dw, .lengthDelimited, field: "dim_param"); dimension.symbol = try dim.string()
                                    default: try dim.skip(dw)
                                    }
                                }
                                dims.append(dimension)
                            }
                            info.shape = dims
                        default: try tensorType.skip(tw)
                        }
                    }
                }
            default: try reader.skip(wire)
            }
        }
        return info
    }
}

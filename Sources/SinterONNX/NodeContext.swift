import SinterIR

/// One ONNX node being imported: its inputs, its attributes, and errors that name it.
struct NodeContext {
    let importer: ONNXImporter
    let node: ONNXNode
    let name: String
    let index: Int
    let opset: Int

    var opType: String { node.opType }

    /// The error for this node: `node 3 'conv1' (Conv, opset 17): why`.
    func failure(_ why: String) -> SinterError {
        .file(path: importer.path, message: "node \(index) '\(name)' (\(node.opType), opset \(opset)): \(why)")
    }

    // MARK: Inputs

    var inputCount: Int { node.inputs.count }

    /// Input `i`, or nil when it is absent or given as the empty name (an omitted optional input).
    func input(_ i: Int) throws -> ImportedValue? {
        guard i < node.inputs.count, !node.inputs[i].isEmpty else { return nil }
        guard let value = importer.values[node.inputs[i]] else {
            throw ONNXNodeFailure("input \(i) '\(node.inputs[i])' is not defined before this node")
        }
        return value
    }

    func required(_ i: Int) throws -> ImportedValue {
        guard let value = try input(i) else { throw ONNXNodeFailure("input \(i) is missing") }
        return value
    }

    /// Input `i` when it must be known at import time (shapes, axes, pads, scales).
    func constant(_ i: Int, _ what: String) throws -> ONNXConstant? {
        guard let value = try input(i) else { return nil }
        guard let c = value.constant else {
            throw ONNXNodeFailure("input \(i) '\(node.inputs[i])' (\(what)) is computed at run time; Sinter needs it as a constant (static shapes)")
        }
        return c
    }

    /// The ONNX shape of a value.
    func shape(_ value: ImportedValue) -> [Int] {
        switch value {
        case let .constant(c): return c.shape
        case let .runtime(id, layout, _): return layout.onnxShape(importer.type(id).shape)
        }
    }

    /// A value's node in the given layout; a constant becomes a node named `hint`.
    func node(_ value: ImportedValue, _ layout: ONNXLayout = .asONNX, hint: String? = nil) throws -> Int {
        try importer.runtime(value, layout: layout, nameHint: hint)
    }

    /// Input `i`'s node in the given layout (a constant input's param is named like it).
    func inputNode(_ i: Int, _ layout: ONNXLayout = .asONNX) throws -> Int {
        try node(required(i), layout, hint: node.inputs[i])
    }

    func runtime(_ id: Int, _ layout: ONNXLayout, _ type: ONNXElementType) -> ImportedValue {
        .runtime(node: id, layout: layout, type: type)
    }

    // MARK: Attributes

    func attribute(_ key: String) -> ONNXAttributeValue? {
        node.attributes.last { $0.name == key }?.value
    }

    func has(_ key: String) -> Bool { attribute(key) != nil }

    func int(_ key: String, _ fallback: Int) throws -> Int {
        switch attribute(key) {
        case nil: return fallback
        case let .int(v)?: return Int(clamping: v)
        default: throw ONNXNodeFailure("attribute '\(key)' must be an int")
        }
    }

    func float(_ key: String, _ fallback: Double) throws -> Double {
        switch attribute(key) {
        case nil: return fallback
        case let .float(v)?: return Double(v)
        case let .int(v)?: return Double(v)
        default: throw ONNXNodeFailure("attribute '\(key)' must be a float")
        }
    }

    func ints(_ key: String) throws -> [Int]? {
        switch attribute(key) {
        case nil: return nil
        case let .ints(v)?: return v.map { Int(clamping: $0) }
        case let .int(v)?: return [Int(clamping: v)]
        default: throw ONNXNodeFailure("attribute '\(key)' must be an int list")
        }
    }

    func floats(_ key: String) throws -> [Double]? {
        switch attribute(key) {
        case nil: return nil
        case let .floats(v)?: return v.map(Double.init)
        case let .float(v)?: return [Double(v)]
        default: throw ONNXNodeFailure("attribute '\(key)' must be a float list")
        }
    }

    func string(_ key: String, _ fallback: String) throws -> String {
        switch attribute(key) {
        case nil: return fallback
        case let .string(bytes)?: return String(decoding: bytes, as: UTF8.self)
        default: throw ONNXNodeFailure("attribute '\(key)' must be a string")
        }
    }

    /// Refuses an attribute value the importer does not implement, naming it.
    func unsupported(_ key: String, _ value: CustomStringConvertible) -> ONNXNodeFailure {
        ONNXNodeFailure("attribute \(key)=\(String(describing: value).prefix(60)) is not supported")
    }

    /// A normalised axis in `0..<rank`, or a failure naming it.
    func axis(_ axis: Int, rank: Int, _ what: String = "axis") throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else { throw ONNXNodeFailure(rank == 0 ? "\(what) \(axis) given for a scalar (rank 0) value, which has no axes" : "\(what) \(axis) is out of range for rank \(rank)") }
        return a
    }
}

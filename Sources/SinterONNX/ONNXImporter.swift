import SinterIR

/// What import produces: the Sinter graph (inputs and outputs named as in the ONNX graph, in the
/// ONNX layout), the values of its params (the initializers, in the layouts the graph reads them
/// in), and the ONNX types of the outputs.
public struct ONNXImport {
    public var graph: Graph
    public var weights: [String: HostTensor]
    public var outputTypes: [String: ONNXElementType]
    public var opset: Int64
    /// The inputs folded in as constants (`ONNXImportOptions.frozenInputs`): the graph does not
    /// take them, so a caller feeding them must leave them out.
    public var frozenInputs: Set<String> = []
}

/// Options for one import.
public struct ONNXImportOptions {
    /// Graph inputs whose values are fixed at import time (folded like initializers): shape
    /// tensors, Slice starts, Resize scales fed as inputs.
    public var frozenInputs: [String: ONNXConstant]
    /// Sizes for inputs whose ONNX shape has symbolic (`dim_param`) dimensions, or to replace the
    /// declared ones.
    public var inputShapes: [String: [Int]]

    public init(frozenInputs: [String: ONNXConstant] = [:], inputShapes: [String: [Int]] = [:]) {
        self.frozenInputs = frozenInputs
        self.inputShapes = inputShapes
    }
}

/// Maps an ONNX graph onto Sinter IR, node by node, with static shapes. Each ONNX node becomes a
/// few Sinter nodes whose location is the ONNX node's name (and its index as the line), so dumps
/// and errors point back at the model. Values known at import time (initializers, Constant, shape
/// arithmetic) are folded here; the rest become nodes.
public final class ONNXImporter {
    public let model: ONNXModel
    public let path: String
    let options: ONNXImportOptions
    public let graph: Graph
    var values: [String: ImportedValue] = [:]
    var weights: [String: HostTensor] = [:]
    /// Constants already made nodes, by name hint and layout, with the value each holds: a hit
    /// is reused only for an equal value (derived constants such as `.bn_scale` share hints).
    var materialized: [String: [(value: ONNXConstant, node: Int)]] = [:]
    var location = SourceLocation.unknown
    /// Values held by the constants nodes have folded to so far, and the most an import may hold
    /// (by default as many as one constant may have: 2^28, 2 GiB as doubles).
    var foldedElements = 0
    public var foldedElementBudget = ONNXConstant.maxElements
    var unnamedConstants = 0

    public init(model: ONNXModel, path: String, options: ONNXImportOptions = ONNXImportOptions()) {
        self.model = model
        self.path = path
        self.options = options
        graph = Graph(name: sanitizedGraphName(model.graph.name.isEmpty ? "onnx" : model.graph.name))
    }

    /// Reads and imports a `.onnx` file.
    public static func importModel(path: String, options: ONNXImportOptions = ONNXImportOptions()) throws -> ONNXImport {
        try ONNXImporter(model: ONNXProtoDecoder.readModel(path: path), path: path, options: options).run()
    }

    public func run() throws -> ONNXImport {
        do {
            return try importGraph()
        } catch let failure as ONNXNodeFailure {
            throw SinterError.file(path: path, message: "\(location.file): \(failure.message)")
        }
    }

    func importGraph() throws -> ONNXImport {
        let onnx = model.graph
        if onnx.sparseInitializerCount > 0 {
            throw SinterError.file(path: path, message: "has \(onnx.sparseInitializerCount) sparse initializers, which Sinter does not read")
        }
        for initializer in onnx.initializers {
            values[initializer.name] = .constant(try ONNXConstant(initializer, what: "initializer '\(initializer.name)'", path: path))
        }
        for (index, input) in onnx.inputs.enumerated() where values[input.name] == nil {
            location = SourceLocation(file: "input." + sanitizedLocation(input.name), line: index)
            if let frozen = options.frozenInputs[input.name] {
                values[input.name] = .constant(frozen)
                continue
            }
            values[input.name] = try graphInput(input)
        }
        for (index, node) in onnx.nodes.enumerated() {
            try importNode(node, index: index)
        }
        var outputTypes: [String: ONNXElementType] = [:]
        for (index, output) in onnx.outputs.enumerated() {
            location = SourceLocation(file: "output." + sanitizedLocation(output.name), line: index)
            guard let value = values[output.name] else {
                throw SinterError.file(path: path, message: "graph output '\(output.name)' is produced by no node, initializer or input")
            }
            let id = try runtime(value, layout: .asONNX, nameHint: output.name)
            try graph.addOutput(output.name, id)
            outputTypes[output.name] = value.elementType
        }
        return ONNXImport(graph: graph, weights: weights, outputTypes: outputTypes, opset: model.defaultOpset,
                          frozenInputs: Set(options.frozenInputs.keys))
    }

    func graphInput(_ input: ONNXValueInfo) throws -> ImportedValue {
        func fail(_ message: String) -> SinterError { .file(path: path, message: "graph input '\(input.name)': \(message)") }
        guard input.isTensor, let code = input.elementType else { throw fail("is not a tensor (sequences, maps and optionals are not supported)") }
        guard let type = ONNXElementType(rawValue: Int(code)), let dtype = sinterDType(type) else {
            throw fail("has the element type \(ONNXElementType(rawValue: Int(code))?.description ?? "\(code)"), which Sinter cannot compute in")
        }
        var shape: [Int] = []
        if let given = options.inputShapes[input.name] {
            if let declared = input.shape {
                guard declared.count == given.count else {
                    throw fail("is declared with rank \(declared.count), but the given shape \(shapeText(given)) has rank \(given.count)")
                }
                for (axis, dim) in declared.enumerated() {
                    if let value = dim.value, dim.symbol == nil, value >= 0, value != given[axis] {
                        throw fail("is declared with size \(value) at axis \(axis), but the given shape is \(shapeText(given))")
                    }
                }
            }
            shape = given
        } else {
            guard let dims = input.shape else { throw fail("has no shape; give one with --input-shape \(input.name)=D0,D1,...") }
            for (axis, dim) in dims.enumerated() {
                guard let value = dim.value, value >= 0 else {
                    let what = dim.symbol.map { "the symbolic dimension '\($0)'" } ?? "an unknown dimension"
                    throw fail("has \(what) at axis \(axis) (dynamic shape); give its sizes with --input-shape \(input.name)=D0,D1,...")
                }
                guard value <= Int64(Int32.max) else { throw fail("has the dimension \(value) at axis \(axis), too large") }
                shape.append(Int(value))
            }
        }
        if let problem = ShapeBounds.problem(shape) { throw fail(problem) }
        let id = try graph.add(.input, [], Attributes(["name": .string(input.name)]), type: TensorType(dtype, shape), at: location)
        return .runtime(node: id, layout: .asONNX, type: type)
    }

    func importNode(_ node: ONNXNode, index: Int) throws {
        let name = node.name.isEmpty ? "\(node.opType)_\(index)" : node.name
        location = SourceLocation(file: sanitizedLocation(name), line: index)
        let opset = model.opsets[node.domain] ?? (node.domain.isEmpty || node.domain == "ai.onnx" ? model.defaultOpset : 0)
        let context = NodeContext(importer: self, node: node, name: name, index: index, opset: Int(clamping: opset))
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw context.failure("operator domain '\(node.domain)' is not supported (only the default ai.onnx domain)")
        }
        guard let handler = ONNXOperators.table[node.opType] else {
            throw context.failure("unsupported operator")
        }
        let results: [ImportedValue]
        do {
            results = try handler(context)
        } catch let error as ONNXNodeFailure {
            throw context.failure(error.message)
        } catch let SinterError.shape(op, message, _) {
            throw context.failure("\(op): \(message)")
        } catch let SinterError.verify(message) {
            throw context.failure(message)
        }
        for (i, output) in node.outputs.enumerated() where !output.isEmpty {
            guard i < results.count else { throw context.failure("output \(i) ('\(output)') is not supported") }
            if let problem = ShapeBounds.problem(context.shape(results[i])) { throw context.failure("output \(i): \(problem)") }
            if let constant = results[i].constant {
                // Every folded value stays in `values`: a budget for all of them together, so a
                // small file of many large ConstantOfShape nodes cannot exhaust memory.
                foldedElements += constant.count
                guard foldedElements <= foldedElementBudget else {
                    throw context.failure("output \(i): the constants folded so far hold \(foldedElements) values, more than the \(foldedElementBudget) an import may fold")
                }
            }
            values[output] = results[i]
        }
    }

    // MARK: - Emitting nodes

    func add(_ op: Op, _ operands: [Int], _ attrs: Attributes = Attributes(), type: TensorType? = nil) throws -> Int {
        try graph.add(op, operands, attrs, type: type, at: location)
    }

    func type(_ id: Int) -> TensorType { graph[id].type }

    /// The node holding `value` in `layout`. A constant becomes a `constant` node when all its
    /// elements are equal, else a param whose value goes to `weights`.
    func runtime(_ value: ImportedValue, layout: ONNXLayout, nameHint: String? = nil) throws -> Int {
        switch value {
        case let .runtime(node, have, _):
            return try convert(node, from: have, to: layout)
        case let .constant(constant):
            var c = constant
            if layout == .channelsLast {
                guard c.rank == 4 else { throw ONNXNodeFailure("a rank-\(c.rank) constant cannot be held channels-last") }
                c = c.transposed(toChannelsLast)
            }
            // A weight read by several nodes is stored once (hints name one value in one form).
            guard let key = nameHint.map({ "\($0)|\(layout)" }) else { return try materialize(c, nameHint: nil) }
            if let existing = materialized[key, default: []].first(where: { $0.value == c }) { return existing.node }
            let id = try materialize(c, nameHint: nameHint)
            materialized[key, default: []].append((c, id))
            return id
        }
    }

    func materialize(_ c: ONNXConstant, nameHint: String?) throws -> Int {
        guard let dtype = sinterDType(c.type) ?? (c.type == .float16 || c.type == .bfloat16 ? .f32 : nil) else {
            throw ONNXNodeFailure("a \(c.type) constant cannot be computed in Sinter")
        }
        let type = TensorType(dtype, c.shape)
        if let value = c.splat {
            return try add(.constant, [], Attributes(["value": .float(value)]), type: type)
        }
        var base = nameHint ?? ""
        if base.isEmpty { unnamedConstants += 1; base = "const.\(unnamedConstants)" }
        var name = base, suffix = 1
        while graph.source(named: name) != nil { suffix += 1; name = "\(base).\(suffix)" }
        let id = try add(.param, [], Attributes(["init": .string("zeros"), "name": .string(name)]), type: type)
        weights[name] = try ONNXConstant(type: c.type == .float16 || c.type == .bfloat16 ? .float : c.type, shape: c.shape, values: c.values).hostTensor()
        return id
    }

    /// Converts a node between layouts (rank-4 only; other ranks are always as ONNX).
    func convert(_ id: Int, from: ONNXLayout, to: ONNXLayout) throws -> Int {
        if from == to { return id }
        guard type(id).rank == 4 else { throw ONNXNodeFailure("a rank-\(type(id).rank) value cannot be held channels-last") }
        return try permute(id, from == .asONNX ? toChannelsLast : toChannelsFirst)
    }

    /// `transpose(id, perm)`, or a `reshape` when only size-1 axes move (the same bytes).
    func permute(_ id: Int, _ perm: [Int]) throws -> Int {
        let shape = type(id).shape
        if perm == Array(perm.indices) { return id }
        let moved = perm.filter { shape[$0] != 1 }
        let outShape = perm.map { shape[$0] }
        if moved == moved.sorted() {
            return try add(.reshape, [id], type: TensorType(type(id).dtype, outShape))
        }
        return try add(.transpose, [id], Attributes(["perm": .ints(perm)]))
    }

    func reshape(_ id: Int, _ shape: [Int]) throws -> Int {
        if type(id).shape == shape { return id }
        return try add(.reshape, [id], type: TensorType(type(id).dtype, shape))
    }
}

/// A reason a node cannot be imported; the importer adds the node's name, op type and opset.
struct ONNXNodeFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A node name as a location file: printable ASCII except space, `%` and `@` pass; everything
/// else is `%XX` (UTF-8 bytes), so the IR text stays one line per node and parses back.
func sanitizedLocation(_ name: String) -> String {
    var out = ""
    for byte in name.utf8.prefix(200) {
        if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") && byte != UInt8(ascii: "@") {
            out.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
        }
    }
    return out.isEmpty ? "?" : out
}

/// An ONNX graph name as an IR graph name: letters, digits, `_ - .`; others become `_`.
func sanitizedGraphName(_ name: String) -> String {
    let kept = name.unicodeScalars.prefix(100).map { scalar -> Character in
        let ok = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_-.".unicodeScalars.contains(scalar))
        return ok ? Character(scalar) : "_"
    }
    return kept.isEmpty ? "onnx" : String(kept)
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

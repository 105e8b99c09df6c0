import SinterIR

/// 1-D convolutions and pools ([N, C, L] inputs) as the 2-D ones on [N, C, 1, L]: the inputs
/// gain a height of 1, the window attributes a leading 1 (pads a leading 0 at each end), and the
/// result loses the height again.
enum OneDimensional {
    /// Whether `c`'s first input is rank 3, so the node should be lifted.
    static func applies(_ c: NodeContext) throws -> Bool {
        guard let x = try c.input(0) else { return false }
        return c.shape(x).count == 3
    }

    /// Runs `handler` on a copy of the node whose inputs `lift` are reshaped to rank 4 and whose
    /// window attributes are 2-D, then drops the height of every result.
    static func lifted(_ c: NodeContext, lift: [Int], _ handler: (NodeContext) throws -> [ImportedValue]) throws -> [ImportedValue] {
        var node = c.node
        // The lifted inputs go into the importer's value table under names no value has (the
        // file's names are arbitrary, so a fixed suffix could shadow one), removed afterwards.
        var temporary: [String] = []
        defer { for name in temporary { c.importer.values[name] = nil } }
        for i in lift {
            guard let value = try c.input(i) else { continue }
            let shape = c.shape(value)
            guard shape.count == 3 else { throw ONNXNodeFailure("input \(i) has shape \(shapeText(shape)); a 1-D window needs rank 3") }
            let raised = [shape[0], shape[1], 1, shape[2]]
            let lifted: ImportedValue
            if let constant = value.constant {
                lifted = .constant(constant.reshaped(raised))
            } else {
                lifted = c.runtime(try c.importer.reshape(c.node(value), raised), .asONNX, value.elementType)
            }
            var name = node.inputs[i] + ".2d", suffix = 1
            while c.importer.values[name] != nil { suffix += 1; name = node.inputs[i] + ".2d.\(suffix)" }
            c.importer.values[name] = lifted
            temporary.append(name)
            node.inputs[i] = name
        }
        for k in node.attributes.indices {
            guard case let .ints(v)? = node.attributes[k].value else { continue }
            switch node.attributes[k].name {
            case "kernel_shape", "strides", "dilations", "output_padding": node.attributes[k].value = .ints([v.count == 1 ? 1 : 0] + v)
            case "output_shape": node.attributes[k].value = .ints([1] + v.suffix(1))
            case "pads" where v.count == 2: node.attributes[k].value = .ints([0, v[0], 0, v[1]])
            default: break
            }
        }
        let context = NodeContext(importer: c.importer, node: node, name: c.name, index: c.index, opset: c.opset)
        return try handler(context).map { result in
            let shape = c.shape(result)
            guard shape.count == 4, shape[2] == 1 else { return result }
            return c.runtime(try c.importer.reshape(c.node(result), [shape[0], shape[1], shape[3]]), .asONNX, result.elementType)
        }
    }
}

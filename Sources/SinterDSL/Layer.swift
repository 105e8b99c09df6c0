import SinterIR

/// Marker for model types: any struct or class whose stored properties hold layers (or other
/// modules). Parameters are found by reflection and named by property path (`enc1.kernel`).
public protocol Module {}

/// A layer: a class (so it can create its parameters on first call, when input channels are
/// known) that owns named parameters. `path` is set by `nameLayers(in:)`.
open class Layer: Module {
    /// The property path of this layer in its model (`enc1`, `decoder.dense`); parameters are
    /// `path.kernel`, `path.bias`, ...
    public internal(set) var path: String
    /// A name given explicitly wins over the property path.
    public let explicitName: String?

    public init(name: String? = nil) {
        explicitName = name
        path = name ?? ""
    }

    /// A parameter of this layer in the graph `builder` is recording (created on first use).
    public func parameter(_ builder: GraphBuilder, _ local: String, _ shape: [Int], initializer: String,
                          trainable: Bool = true, at location: SourceLocation) -> Tensor {
        if path.isEmpty {
            let given = builder.modelTypes.isEmpty ? "none" : builder.modelTypes.joined(separator: ", ")
            builder.record(.shape(op: String(describing: type(of: self)),
                                  message: "layer has no name: pass the model holding it in `models:` of traceStep or traceForward, "
                                      + "which name layers by property path (this trace was given: \(given)), or give the layer name:",
                                  location: location))
            return Tensor.poison(builder, TensorType(builder.dtype, shape))
        }
        return builder.persistent("\(path).\(local)", shape, initializer: initializer, trainable: trainable, at: location)
    }
}

/// Names every layer reachable from `root` by its property path. Nested modules add their
/// property name as a prefix (`encoder.conv1`); arrays add the index (`blocks.0`).
public func nameLayers(in root: Any, prefix: String = "") {
    for child in Mirror(reflecting: root).children {
        guard let label = child.label, !label.hasPrefix("$__lazy_storage") else { continue }
        nameValue(child.value, path: prefix.isEmpty ? label : "\(prefix).\(label)")
    }
}

private func nameValue(_ value: Any, path: String) {
    if let sequential = value as? Sequential {
        if sequential.explicitName == nil { sequential.path = path }
        for (index, layer) in sequential.layers.enumerated() { nameValue(layer, path: "\(sequential.path).\(index)") }
    } else if let layer = value as? Layer {
        if layer.explicitName == nil { layer.path = path }
        nameLayers(in: layer, prefix: layer.path)
    } else if let array = value as? [Any] {
        for (index, element) in array.enumerated() { nameValue(element, path: "\(path).\(index)") }
    } else if value is Module {
        nameLayers(in: value, prefix: path)
    }
}

/// Activations a layer can apply after its affine part, as Keras names them.
public enum Activation: Sendable, Equatable {
    case linear, relu, relu6, sigmoid, tanh, selu, softplus
    case leakyRelu(Double)

    public func apply(_ x: Tensor, file: String, line: Int) -> Tensor {
        switch self {
        case .linear: return x
        case .relu: return x.relu(file: file, line: line)
        case .relu6: return x.relu6(file: file, line: line)
        case .sigmoid: return x.sigmoid(file: file, line: line)
        case .tanh: return x.tanh(file: file, line: line)
        case .selu: return x.selu(file: file, line: line)
        case .softplus: return x.softplus(file: file, line: line)
        case let .leakyRelu(alpha): return x.leakyRelu(alpha, file: file, line: line)
        }
    }
}

/// Anything callable on one tensor; what `Sequential` chains.
public protocol TensorLayer {
    func callAsFunction(_ x: Tensor, file: String, line: Int) -> Tensor
}

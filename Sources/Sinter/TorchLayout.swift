import SinterIR

/// Converts weights between Sinter's Keras layout and PyTorch's, by looking at how each
/// parameter is used in the model's graph:
///
/// | Sinter (Keras)                         | PyTorch                              |
/// |----------------------------------------|--------------------------------------|
/// | Conv2D `L.kernel` (kh,kw,in,out)        | Conv2d `L.weight` (out,in,kh,kw)      |
/// | Conv2DTranspose `L.kernel` (kh,kw,out,in)| ConvTranspose2d `L.weight` (in,out,kh,kw) |
/// | Dense `L.kernel` (in,out)               | Linear `L.weight` (out,in)            |
/// | `L.bias`                                | `L.bias`                              |
/// | BatchNorm `gamma`/`beta`                | `weight`/`bias`                       |
/// | `moving_mean`/`moving_variance`         | `running_mean`/`running_var`          |
public enum TorchLayout {
    enum Role { case conv, convTranspose, dense, other }

    /// The role of every param/state name in `graph`, from the op that reads it.
    static func roles(_ graph: Graph) -> [String: Role] {
        var roles: [String: Role] = [:]
        for node in graph.nodes {
            guard node.operands.count > 1, let name = graph[node.operands[1]].sourceName,
                  graph[node.operands[1]].op.isPersistent else { continue }
            switch node.op {
            case .conv2d: roles[name] = .conv
            case .conv2dInputGrad: roles[name] = .convTranspose
            case .matmul: roles[name] = .dense
            default: break
            }
        }
        return roles
    }

    static let suffixes = [("kernel", "weight"), ("gamma", "weight"), ("beta", "bias"),
                           ("moving_mean", "running_mean"), ("moving_variance", "running_var")]

    /// Permutation from Sinter's axes to PyTorch's for a role (nil: unchanged).
    static func permutation(_ role: Role) -> [Int]? {
        switch role {
        case .conv: return [3, 2, 0, 1]           // (kh,kw,in,out) -> (out,in,kh,kw)
        case .convTranspose: return [3, 2, 0, 1]  // (kh,kw,out,in) -> (in,out,kh,kw)
        case .dense: return [1, 0]
        case .other: return nil
        }
    }

    static func torchName(_ name: String) -> String {
        for (keras, torch) in suffixes where name.hasSuffix(".\(keras)") { return String(name.dropLast(keras.count)) + torch }
        return name
    }

    /// Sinter tensors (named as in `graph`) in PyTorch names and layouts.
    public static func export(_ tensors: [String: HostTensor], graph: Graph) -> [String: HostTensor] {
        let roles = roles(graph)
        var result: [String: HostTensor] = [:]
        for (name, tensor) in tensors {
            let perm = permutation(roles[name] ?? .other)
            result[torchName(name)] = perm.map { transpose(tensor, $0) } ?? tensor
        }
        return result
    }

    /// PyTorch tensors mapped onto the params and state of `graph` (error names any missing or
    /// mis-shaped tensor).
    public static func `import`(_ tensors: [String: HostTensor], graph: Graph, path: String) throws -> [String: HostTensor] {
        let roles = roles(graph)
        var result: [String: HostTensor] = [:]
        for id in graph.persistent {
            let node = graph[id]
            guard let name = node.sourceName, !name.hasPrefix("opt"), name != "rng.counter" else { continue }
            let torch = torchName(name)
            guard let tensor = tensors[torch] else {
                throw SinterError.file(path: path, message: "has no tensor '\(torch)' for '\(name)' \(node.type)")
            }
            var converted = tensor
            if let perm = permutation(roles[name] ?? .other) {
                // Inverse permutation: PyTorch axes back to Sinter's.
                var inverse = [Int](repeating: 0, count: perm.count)
                for (i, p) in perm.enumerated() { inverse[p] = i }
                guard tensor.shape.count == perm.count else {
                    throw SinterError.file(path: path, message: "'\(torch)' has shape \(shapeText(tensor.shape)); expected rank \(perm.count) for '\(name)' \(node.type)")
                }
                converted = transpose(tensor, inverse)
            }
            guard converted.shape == node.type.shape else {
                throw SinterError.file(path: path, message: "'\(torch)' has shape \(shapeText(tensor.shape)), which does not map onto '\(name)' \(node.type)")
            }
            result[name] = converted
        }
        return result
    }

    /// y = x with axes permuted: y.shape[i] = x.shape[perm[i]].
    static func transpose(_ x: HostTensor, _ perm: [Int]) -> HostTensor {
        let shape = perm.map { x.shape[$0] }
        let inStrides = rowMajorStrides(x.shape), outStrides = rowMajorStrides(shape)
        let size = x.storage.byteSize
        var bytes = [UInt8](repeating: 0, count: x.bytes.count)
        for outIndex in 0..<x.count {
            var rest = outIndex, inIndex = 0
            for axis in 0..<shape.count {
                let coordinate = rest / outStrides[axis]
                rest %= outStrides[axis]
                inIndex += coordinate * inStrides[perm[axis]]
            }
            for b in 0..<size { bytes[outIndex * size + b] = x.bytes[inIndex * size + b] }
        }
        return HostTensor(storage: x.storage, shape: shape, bytes: bytes)
    }
}

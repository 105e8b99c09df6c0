import SinterIR

/// DepthToSpace and SpaceToDepth (a reshape, a rank-6 transpose, a reshape) and Range (folded).
enum RearrangeOps {
    typealias Handler = (NodeContext) throws -> [ImportedValue]

    static let table: [String: Handler] = [
        "DepthToSpace": { c in [try blocks(c, toSpace: true)] },
        "SpaceToDepth": { c in [try blocks(c, toSpace: false)] },
        "Range": { c in [try range(c)] },
    ]

    static func blocks(_ c: NodeContext, toSpace: Bool) throws -> ImportedValue {
        let x = try c.required(0)
        let shape = c.shape(x)
        let b = try c.int("blocksize", 0)
        guard shape.count == 4, b > 0, b <= 1 << 12 else { throw ONNXNodeFailure("needs an NCHW input and a positive blocksize") }
        let (n, ch, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let split: [Int], perm: [Int], out: [Int]
        if toSpace {
            guard ch % (b * b) == 0 else { throw ONNXNodeFailure("\(ch) channels do not divide by blocksize^2 = \(b * b)") }
            let mode = try c.string("mode", "DCR")
            switch mode {
            case "DCR": (split, perm) = ([n, b, b, ch / (b * b), h, w], [0, 3, 4, 1, 5, 2])
            case "CRD": (split, perm) = ([n, ch / (b * b), b, b, h, w], [0, 1, 4, 2, 5, 3])
            default: throw c.unsupported("mode", mode)
            }
            out = [n, ch / (b * b), h * b, w * b]
        } else {
            guard h % b == 0, w % b == 0 else { throw ONNXNodeFailure("\(h)x\(w) does not divide by blocksize \(b)") }
            (split, perm, out) = ([n, ch, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4], [n, ch * b * b, h / b, w / b])
        }
        if let constant = x.constant {
            return .constant(constant.reshaped(split).transposed(perm).reshaped(out))
        }
        let i = c.importer
        let y = try i.reshape(i.permute(i.reshape(c.node(x), split), perm), out)
        return c.runtime(y, .asONNX, x.elementType)
    }

    static func range(_ c: NodeContext) throws -> ImportedValue {
        let parts = try (0..<3).map { k -> ONNXConstant in
            guard let v = try c.constant(k, ["start", "limit", "delta"][k]), v.count == 1 else {
                throw ONNXNodeFailure("start, limit and delta must be scalar constants")
            }
            return v
        }
        let (start, limit, delta) = (parts[0].values[0], parts[1].values[0], parts[2].values[0])
        guard delta != 0, delta.isFinite, start.isFinite, limit.isFinite else { throw ONNXNodeFailure("delta must be finite and non-zero") }
        let count = Swift.max(0, ((limit - start) / delta).rounded(.up))
        guard count <= Double(ONNXConstant.maxElements) else { throw ONNXNodeFailure("a range of \(count) elements is too large") }
        let values = (0..<Int(count)).map { start + Double($0) * delta }
        let result = ONNXConstant(type: parts[0].type, shape: [values.count], values: values)
        return .constant(ONNXConstant(type: result.type, shape: result.shape, values: result.convertedValues(to: result.type)))
    }
}

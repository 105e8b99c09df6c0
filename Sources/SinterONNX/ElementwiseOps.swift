import Foundation
import SinterIR

/// Elementwise operators: unary activations, arithmetic with numpy broadcasting, comparisons,
/// Where, Clip, Cast. All-constant inputs are folded in Swift; runtime values keep the layout of
/// their operands (a channels-last operand makes the result channels-last, and constants are
/// permuted to match at import time).
enum ElementwiseOps {
    typealias Handler = (NodeContext) throws -> [ImportedValue]

    static let table: [String: Handler] = {
        var t: [String: Handler] = [:]
        let direct: [(String, Op, (Double) -> Double)] = [
            ("Relu", .relu, { $0 > 0 ? $0 : 0 }), ("Sigmoid", .sigmoid, { 1 / (1 + Foundation.exp(-$0)) }),
            ("Tanh", .tanh, Foundation.tanh), ("Exp", .exp, Foundation.exp), ("Log", .log, Foundation.log),
            ("Neg", .neg, { -$0 }), ("Abs", .abs, Swift.abs), ("Sqrt", .sqrt, { $0.squareRoot() }),
            ("Softplus", .softplus, { Foundation.log1p(Foundation.exp($0)) }), ("Sign", .sign, { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }),
        ]
        for (name, op, fold) in direct {
            t[name] = { c in [try unary(c, fold: fold) { x in try c.importer.add(op, [x]) }] }
        }
        t["Reciprocal"] = { c in [try unary(c, fold: { 1 / $0 }) { x in try c.importer.add(.div, [scalar(c, 1, like: x), x]) }] }
        t["LeakyRelu"] = { c in
            let alpha = try c.float("alpha", 0.01)
            return [try unary(c, fold: { $0 > 0 ? $0 : alpha * $0 }) { x in
                try c.importer.add(.leakyRelu, [x], Attributes(["alpha": .float(alpha)])) }]
        }
        t["Elu"] = { c in
            let alpha = try c.float("alpha", 1)
            return [try unary(c, fold: { $0 > 0 ? $0 : alpha * (Foundation.exp($0) - 1) }) { x in try elu(c, x, alpha: alpha, gamma: 1) }]
        }
        t["Selu"] = { c in
            let alpha = try c.float("alpha", 1.67326319217681884765625), gamma = try c.float("gamma", 1.05070102214813232421875)
            return [try unary(c, fold: { gamma * ($0 > 0 ? $0 : alpha * (Foundation.exp($0) - 1)) }) { x in
                try elu(c, x, alpha: alpha, gamma: gamma) }]
        }
        t["HardSigmoid"] = { c in
            let alpha = try c.float("alpha", 0.2), beta = try c.float("beta", 0.5)
            return [try unary(c, fold: { Swift.min(Swift.max(alpha * $0 + beta, 0), 1) }) { x in try hardSigmoid(c, x, alpha, beta) }]
        }
        t["HardSwish"] = { c in
            [try unary(c, fold: { $0 * Swift.min(Swift.max($0 / 6 + 0.5, 0), 1) }) { x in
                try c.importer.add(.mul, [x, hardSigmoid(c, x, 1.0 / 6, 0.5)]) }]
        }
        t["Softsign"] = { c in
            [try unary(c, fold: { $0 / (1 + Swift.abs($0)) }) { x in
                let i = c.importer
                return try i.add(.div, [x, i.add(.add, [i.add(.abs, [x]), scalar(c, 1, like: x)])]) }]
        }
        t["ThresholdedRelu"] = { c in
            let alpha = try c.float("alpha", 1)
            return [try unary(c, fold: { $0 > alpha ? $0 : 0 }) { x in
                let i = c.importer
                return try i.add(.select, [i.add(.greater, [x, scalar(c, alpha, like: x)]), x, scalar(c, 0, like: x)]) }]
        }
        t["Celu"] = { c in
            // max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
            let alpha = try c.float("alpha", 1)
            return [try unary(c, fold: { Swift.max(0, $0) + Swift.min(0, alpha * (Foundation.exp($0 / alpha) - 1)) }) { x in
                let i = c.importer
                let zero = try scalar(c, 0, like: x)
                let e = try i.add(.sub, [i.add(.exp, [i.add(.div, [x, scalar(c, alpha, like: x)])]), scalar(c, 1, like: x)])
                return try i.add(.add, [i.add(.maximum, [x, zero]), i.add(.minimum, [i.add(.mul, [e, scalar(c, alpha, like: x)]), zero])]) }]
        }
        t["Mish"] = { c in
            [try unary(c, fold: { $0 * Foundation.tanh(Foundation.log1p(Foundation.exp($0))) }) { x in
                try c.importer.add(.mul, [x, c.importer.add(.tanh, [c.importer.add(.softplus, [x])])]) }]
        }
        let binary: [(String, Op, (Double, Double) -> Double)] = [
            ("Add", .add, +), ("Sub", .sub, -), ("Mul", .mul, *), ("Div", .div, /),
        ]
        for (name, op, fold) in binary {
            t[name] = { c in [try broadcasting(c, [c.required(0), c.required(1)], fold: { fold($0[0], $0[1]) }) { try c.importer.add(op, $0) }] }
        }
        t["Pow"] = { c in
            // x^2 (instance norms written out as Pow(x - mean, 2)) is a multiply, not a call to pow.
            let base = try c.required(0), exponent = try c.required(1)
            if base.constant == nil, base.elementType.isFloat, exponent.constant?.splat == 2,
               broadcastShapes(c.shape(base), c.shape(exponent)) == c.shape(base) {
                return [try unary(c, fold: { $0 * $0 }) { try c.importer.add(.square, [$0]) }]
            }
            return [try broadcasting(c, [base, exponent], fold: { Foundation.pow($0[0], $0[1]) }) { try c.importer.add(.pow, $0) }]
        }
        let comparisons: [(String, Op, (Double, Double) -> Bool)] = [
            ("Equal", .equal, ==), ("Less", .less, <), ("Greater", .greater, >),
            ("LessOrEqual", .lessEqual, <=), ("GreaterOrEqual", .greaterEqual, >=),
        ]
        for (name, op, compare) in comparisons {
            t[name] = { c in [try broadcasting(c, [c.required(0), c.required(1)], resultType: .bool,
                                                fold: { compare($0[0], $0[1]) ? 1 : 0 }) { try c.importer.add(op, $0) }] }
        }
        let variadic: [(String, Op, (Double, Double) -> Double)] = [
            ("Sum", .add, +), ("Max", .maximum, { Swift.max($0, $1) }), ("Min", .minimum, { Swift.min($0, $1) }), ("Mean", .add, +),
        ]
        for (name, op, fold) in variadic {
            t[name] = { c in
                let inputs = try (0..<c.inputCount).map { try c.required($0) }
                guard !inputs.isEmpty else { throw ONNXNodeFailure("needs at least one input") }
                var result = try broadcasting(c, inputs, fold: { $0.dropFirst().reduce($0[0], fold) }) { ids in
                    try ids.dropFirst().reduce(ids[0]) { try c.importer.add(op, [$0, $1]) }
                }
                if name == "Mean" {
                    let n = Double(inputs.count)
                    result = try broadcasting(c, [result, .constant(ONNXConstant(type: result.elementType, shape: [], values: [n]))],
                                              fold: { $0[0] / $0[1] }) { try c.importer.add(.div, $0) }
                }
                return [result]
            }
        }
        t["PRelu"] = { c in
            [try broadcasting(c, [c.required(0), c.required(1)], fold: { $0[0] < 0 ? $0[1] * $0[0] : $0[0] }) { ids in
                let zero = try scalar(c, 0, like: ids[0])
                let negative = try c.importer.add(.mul, [c.importer.add(.minimum, [ids[0], zero]), ids[1]])
                return try c.importer.add(.add, [c.importer.add(.maximum, [ids[0], zero]), negative])
            }]
        }
        t["Where"] = { c in
            let values = [try c.required(1), try c.required(2)]
            let type = values[0].elementType
            return [try broadcasting(c, [c.required(0)] + values, resultType: type, operandType: type,
                                     fold: { $0[0] != 0 ? $0[1] : $0[2] }) { try c.importer.add(.select, $0) }]
        }
        t["Clip"] = { c in [try clip(c)] }
        t["Cast"] = { c in [try cast(c)] }
        t["Identity"] = { c in [try c.required(0)] }
        t["Dropout"] = { c in
            if let training = try c.constant(2, "training_mode"), training.values.contains(where: { $0 != 0 }) {
                throw c.unsupported("training_mode", 1)
            }
            guard c.node.outputs.count < 2 || c.node.outputs[1].isEmpty else {
                throw ONNXNodeFailure("the mask output is not supported (inference only)")
            }
            return [try c.required(0)]
        }
        return t
    }()

    /// A unary op: folded when the input is a constant, else built on the input's node.
    static func unary(_ c: NodeContext, fold: @escaping (Double) -> Double, build: (Int) throws -> Int) throws -> ImportedValue {
        let x = try c.required(0)
        if let constant = x.constant {
            return .constant(ONNXConstant(type: constant.type, shape: constant.shape, values: constant.values.map(fold)))
        }
        guard case let .runtime(id, layout, type) = x else { fatalError("unreachable") }
        guard type.isFloat else { throw ONNXNodeFailure("needs a float input, got \(type)") }
        return c.runtime(try build(id), layout, type)
    }

    /// A scalar constant node of `like`'s dtype (broadcasts against anything).
    static func scalar(_ c: NodeContext, _ value: Double, like id: Int) throws -> Int {
        try c.importer.add(.constant, [], Attributes(["value": .float(value)]), type: TensorType(c.importer.type(id).dtype, []))
    }

    /// gamma * (x > 0 ? x : alpha * (exp(x) - 1)); Sinter's own selu when the constants are its.
    static func elu(_ c: NodeContext, _ x: Int, alpha: Double, gamma: Double) throws -> Int {
        let i = c.importer
        if Float(alpha) == 1.6732632, Float(gamma) == 1.050701 { return try i.add(.selu, [x]) }
        let negative = try i.add(.mul, [i.add(.sub, [i.add(.exp, [x]), scalar(c, 1, like: x)]), scalar(c, alpha, like: x)])
        let positive = try i.add(.greater, [x, scalar(c, 0, like: x)])
        let y = try i.add(.select, [positive, x, negative])
        return gamma == 1 ? y : try i.add(.mul, [y, scalar(c, gamma, like: x)])
    }

    static func hardSigmoid(_ c: NodeContext, _ x: Int, _ alpha: Double, _ beta: Double) throws -> Int {
        let i = c.importer
        let affine = try i.add(.add, [i.add(.mul, [x, scalar(c, alpha, like: x)]), scalar(c, beta, like: x)])
        return try i.add(.minimum, [i.add(.maximum, [affine, scalar(c, 0, like: x)]), scalar(c, 1, like: x)])
    }

    /// Clip: bounds from attributes (opset < 11) or constant inputs; a missing bound is no bound.
    /// maximum then minimum, as numpy.clip, so min > max gives max.
    static func clip(_ c: NodeContext) throws -> ImportedValue {
        var low: Double? = nil, high: Double? = nil
        if c.opset < 11 {
            if c.has("min") { low = try c.float("min", 0) }
            if c.has("max") { high = try c.float("max", 0) }
        } else {
            if let l = try c.constant(1, "min") { guard l.count == 1 else { throw ONNXNodeFailure("min must be a scalar") }; low = l.values[0] }
            if let h = try c.constant(2, "max") { guard h.count == 1 else { throw ONNXNodeFailure("max must be a scalar") }; high = h.values[0] }
        }
        let x = try c.required(0)
        if let constant = x.constant {
            return .constant(ONNXConstant(type: constant.type, shape: constant.shape, values: constant.values.map { v in
                var y = v
                if let low { y = Swift.max(y, low) }
                if let high { y = Swift.min(y, high) }
                return y
            }))
        }
        guard case let .runtime(id, layout, type) = x else { fatalError("unreachable") }
        var y = id
        if let low { y = try c.importer.add(.maximum, [y, scalar(c, low, like: y)]) }
        if let high { y = try c.importer.add(.minimum, [y, scalar(c, high, like: y)]) }
        return c.runtime(y, layout, type)
    }

    static func cast(_ c: NodeContext) throws -> ImportedValue {
        let code = try c.int("to", 0)
        guard let to = ONNXElementType(rawValue: code), to != .undefined else { throw c.unsupported("to", code) }
        let x = try c.required(0)
        if let constant = x.constant {
            guard to.isFloat || to.isInteger else { throw c.unsupported("to", to) }
            return .constant(ONNXConstant(type: to, shape: constant.shape, values: constant.convertedValues(to: to)))
        }
        guard case let .runtime(id, layout, _) = x, let dtype = sinterDType(to) else { throw c.unsupported("to", to) }
        let y = c.importer.type(id).dtype == dtype ? id : try c.importer.add(.cast, [id], Attributes(["to": .dtype(dtype)]))
        return c.runtime(y, layout, to)
    }

    /// An n-ary op with numpy broadcasting. All constants: folded value by value. Otherwise every
    /// operand is brought to the result's layout (channels-last when any rank-4 operand is) and
    /// to the runtime operands' dtype (constants adopt it; a runtime mismatch is cast).
    static func broadcasting(_ c: NodeContext, _ inputs: [ImportedValue], resultType: ONNXElementType? = nil,
                             operandType: ONNXElementType? = nil,
                             fold: @escaping ([Double]) -> Double, build: ([Int]) throws -> Int) throws -> ImportedValue {
        let shapes = inputs.map(c.shape)
        var joined: [Int]? = shapes[0]
        for shape in shapes.dropFirst() { joined = joined.flatMap { broadcastShapes($0, shape) } }
        guard let outShape = joined else {
            throw ONNXNodeFailure("shapes \(shapes.map(shapeText).joined(separator: ", ")) do not broadcast")
        }
        let runtimeInputs = inputs.filter { $0.constant == nil }
        let computeType = runtimeInputs.last(where: { $0.elementType.isFloat })?.elementType
            ?? runtimeInputs.first?.elementType ?? inputs[0].elementType
        let outType = resultType ?? computeType
        if runtimeInputs.isEmpty {
            try ShapeOps.foldable(outShape)
            let total = outShape.reduce(1, *)
            let expanded = inputs.map { $0.constant!.broadcast(to: outShape).values }
            let values = (0..<total).map { i in fold(expanded.map { $0[i] }) }
            let folded = ONNXConstant(type: outType, shape: outShape, values: values)
            return .constant(ONNXConstant(type: outType, shape: outShape, values: folded.convertedValues(to: outType)))
        }
        let channelsLast = outShape.count == 4 && runtimeInputs.contains {
            if case .runtime(_, .channelsLast, _) = $0 { return true }
            return false
        }
        let layout: ONNXLayout = channelsLast ? .channelsLast : .asONNX
        let wantType = operandType ?? computeType
        guard let dtype = sinterDType(wantType) else { throw ONNXNodeFailure("cannot compute in \(wantType)") }
        var ids: [Int] = []
        for (i, input) in inputs.enumerated() {
            var value = input
            if let constant = input.constant {
                value = .constant(ONNXConstant(type: wantType, shape: constant.shape, values: constant.convertedValues(to: wantType)))
            }
            if channelsLast, c.shape(value).count < 4 {
                // Lower-rank operands broadcast from the right: pad to rank 4 in ONNX order first.
                let padded = [Int](repeating: 1, count: 4 - c.shape(value).count) + c.shape(value)
                if let constant = value.constant { value = .constant(constant.reshaped(padded)) } else {
                    value = c.runtime(try c.importer.reshape(c.node(value), padded), .asONNX, value.elementType)
                }
            }
            let hint = i < c.node.inputs.count && input.constant != nil ? c.node.inputs[i] + (channelsLast ? ".nhwc" : "") : nil
            var id = try c.node(value, layout, hint: hint)
            if c.importer.type(id).dtype != dtype { id = try c.importer.add(.cast, [id], Attributes(["to": .dtype(dtype)])) }
            ids.append(id)
        }
        return c.runtime(try build(ids), layout, outType)
    }
}

import SinterIR

/// TensorProto contents as an ONNXConstant. The element count from `dims` is checked for overflow
/// and against the data actually present before any array of that size is made, so a tensor
/// cannot claim more elements than its bytes hold.
extension ONNXConstant {
    /// The most elements a constant may have (2^28: 2 GiB as Doubles); the real models Sinter
    /// imports have at most a few million per tensor.
    public static let maxElements = 1 << 28

    /// Decodes `proto`; `what` names it in errors ("initializer 'conv1.weight'").
    public init(_ proto: ONNXTensorProto, what: String, path: String) throws {
        func fail(_ message: String) -> SinterError { .file(path: path, message: "\(what): \(message)") }
        if proto.isExternal || !proto.externalKeys.isEmpty {
            throw fail("stores its data in an external file (external_data \(proto.externalKeys.joined(separator: ", "))), which Sinter does not read; save the model with its weights inside")
        }
        if proto.hasSegment { throw fail("is a segmented tensor, which Sinter does not read") }
        guard let type = ONNXElementType(rawValue: Int(proto.dataType)), type != .undefined else {
            throw fail("has an unknown data type \(proto.dataType)")
        }
        var shape: [Int] = []
        for dim in proto.dims {
            guard dim >= 0 else { throw fail("has the negative dimension \(dim)") }
            shape.append(Int(dim))
        }
        if let problem = ShapeBounds.problem(shape) { throw fail(problem) }
        guard let count = SizeLimits.elementCount(shape), count <= Self.maxElements else {
            throw fail("has \(shapeText(shape)) elements, more than the \(Self.maxElements) a constant may have")
        }
        let values: [Double]
        if let raw = proto.rawData {
            values = try Self.decodeRaw(raw, type: type, count: count, fail: fail)
        } else {
            func take<T>(_ data: [T], _ field: String, _ convert: (T) -> Double) throws -> [Double] {
                guard data.count == count else {
                    throw fail("has \(data.count) values in \(field) for the shape \(shapeText(shape)) (\(count) elements)")
                }
                return data.map(convert)
            }
            switch type {
            case .float: values = try take(proto.floatData, "float_data") { Double($0) }
            case .double: values = try take(proto.doubleData, "double_data") { $0 }
            case .int64: values = try take(proto.int64Data, "int64_data") { Double($0) }
            case .uint32, .uint64: values = try take(proto.uint64Data, "uint64_data") { Double($0) }
            case .int32, .int16, .int8, .bool: values = try take(proto.int32Data, "int32_data") { Double($0) }
            case .uint16, .uint8: values = try take(proto.int32Data, "int32_data") { Double(UInt32(bitPattern: $0)) }
            case .float16: values = try take(proto.int32Data, "int32_data") { Double(halfToFloat(UInt16(truncatingIfNeeded: $0))) }
            case .bfloat16: values = try take(proto.int32Data, "int32_data") { Double(Float(bitPattern: UInt32(UInt16(truncatingIfNeeded: $0)) << 16)) }
            default: throw fail("has the element type \(type), which Sinter does not support")
            }
        }
        self.init(type: type, shape: shape, values: values)
    }

    static func decodeRaw(_ raw: [UInt8], type: ONNXElementType, count: Int,
                          fail: (String) -> SinterError) throws -> [Double] {
        let size: Int
        switch type {
        case .float, .int32, .uint32: size = 4
        case .double, .int64, .uint64: size = 8
        case .int16, .uint16, .float16, .bfloat16: size = 2
        case .int8, .uint8, .bool: size = 1
        default: throw fail("has the element type \(type), which Sinter does not support")
        }
        guard raw.count == count * size else {
            throw fail("has \(raw.count) bytes of raw_data, but \(count) \(type) elements need \(count * size)")
        }
        func word(_ i: Int, _ n: Int) -> UInt64 {
            var v: UInt64 = 0
            for b in 0..<n { v |= UInt64(raw[i * n + b]) << (8 * UInt64(b)) }
            return v
        }
        return (0..<count).map { i -> Double in
            switch type {
            case .float: return Double(Float(bitPattern: UInt32(word(i, 4))))
            case .double: return Double(bitPattern: word(i, 8))
            case .int64: return Double(Int64(bitPattern: word(i, 8)))
            case .uint64: return Double(word(i, 8))
            case .int32: return Double(Int32(truncatingIfNeeded: word(i, 4)))
            case .uint32: return Double(UInt32(word(i, 4)))
            case .int16: return Double(Int16(truncatingIfNeeded: word(i, 2)))
            case .uint16: return Double(UInt16(word(i, 2)))
            case .float16: return Double(halfToFloat(UInt16(word(i, 2))))
            case .bfloat16: return Double(Float(bitPattern: UInt32(word(i, 2)) << 16))
            case .int8: return Double(Int8(bitPattern: raw[i]))
            default: return Double(raw[i])
            }
        }
    }

    /// As a HostTensor for feeding or comparing: float32 and float64 keep their type, every
    /// integer type becomes i32 (Sinter's integer type; values must fit), bool becomes i32 0/1.
    public func hostTensor() throws -> HostTensor {
        switch type {
        case .float, .float16, .bfloat16: return HostTensor(shape: shape, floats: values.map { Float($0) })
        case .double: return HostTensor(shape: shape, doubles: values)
        default:
            guard values.allSatisfy({ $0 >= -2147483648 && $0 <= 2147483647 }) else {
                throw SinterError.runtime(message: "a \(type) tensor \(shapeText(shape)) has values outside the int32 range Sinter computes in")
            }
            return HostTensor(shape: shape, int32s: values.map { Int32($0) })
        }
    }
}

/// IEEE half-precision bits to Float (subnormals, infinities and NaN included).
func halfToFloat(_ bits: UInt16) -> Float {
    let sign: UInt32 = UInt32(bits >> 15) << 31
    let exponent = Int((bits >> 10) & 0x1F)
    let mantissa = UInt32(bits & 0x3FF)
    if exponent == 0 {
        let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}

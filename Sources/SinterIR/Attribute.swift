/// An attribute value on a node. The set is small on purpose so IR text stays easy to read and parse:
/// `{strides=[2,2], pads=[0,1,0,1], alpha=0.2, name="enc1.kernel", to=f64}`.
public enum Attribute: Hashable, Sendable, CustomStringConvertible {
    case int(Int)
    case ints([Int])
    case float(Double)
    case string(String)
    case bool(Bool)
    case dtype(DType)

    /// IR text form. Floats print with Swift's shortest round-trip form, so print-parse-print is exact.
    public var description: String {
        switch self {
        case let .int(v): return String(v)
        case let .ints(v): return "[\(v.map(String.init).joined(separator: ","))]"
        case let .float(v): return Attribute.floatText(v)
        case let .string(v): return "\"\(v)\""
        case let .bool(v): return v ? "true" : "false"
        case let .dtype(v): return v.rawValue
        }
    }

    /// Floats always carry a `.` or exponent so the parser can tell them from ints.
    static func floatText(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        let text = "\(v)"
        return text.contains(".") || text.contains("e") ? text : text + ".0"
    }
}

/// Attributes in a fixed (sorted by key) order so printing is deterministic.
public struct Attributes: Hashable, Sendable {
    public private(set) var storage: [(key: String, value: Attribute)] = []

    public init() {}

    public init(_ pairs: [String: Attribute]) {
        for (key, value) in pairs { self[key] = value }
    }

    public subscript(key: String) -> Attribute? {
        get { storage.first { $0.key == key }?.value }
        set {
            storage.removeAll { $0.key == key }
            if let newValue {
                storage.append((key, newValue))
                storage.sort { $0.key < $1.key }
            }
        }
    }

    public var isEmpty: Bool { storage.isEmpty }

    public static func == (lhs: Attributes, rhs: Attributes) -> Bool {
        lhs.storage.elementsEqual(rhs.storage) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for (key, value) in storage {
            hasher.combine(key)
            hasher.combine(value)
        }
    }

    // Typed accessors. A missing or mistyped attribute is a verifier error naming the key.
    public func int(_ key: String) throws -> Int {
        guard case let .int(v)? = self[key] else { throw missing(key, "an int") }
        return v
    }

    public func ints(_ key: String) throws -> [Int] {
        guard case let .ints(v)? = self[key] else { throw missing(key, "an int list") }
        return v
    }

    public func float(_ key: String) throws -> Double {
        switch self[key] {
        case let .float(v)?: return v
        case let .int(v)?: return Double(v)
        default: throw missing(key, "a float")
        }
    }

    public func string(_ key: String) throws -> String {
        guard case let .string(v)? = self[key] else { throw missing(key, "a string") }
        return v
    }

    public func bool(_ key: String) throws -> Bool {
        guard case let .bool(v)? = self[key] else { throw missing(key, "a bool") }
        return v
    }

    public func dtype(_ key: String) throws -> DType {
        guard case let .dtype(v)? = self[key] else { throw missing(key, "a dtype") }
        return v
    }

    public func bool(_ key: String, default fallback: Bool) -> Bool {
        (try? bool(key)) ?? fallback
    }

    public func float(_ key: String, default fallback: Double) -> Double {
        (try? float(key)) ?? fallback
    }

    private func missing(_ key: String, _ kind: String) -> SinterError {
        .verify(message: "attribute '\(key)' must be \(kind), found \(self[key].map { "\($0)" } ?? "nothing")")
    }
}

import Foundation
import SinterIO
import SinterIR
import XCTest

/// One tensor of a golden case, as described in cases.json (see Tests/SinterTests/Golden/README.md).
struct TensorInfo {
    enum Role: String {
        case input, param, cotangent
        case expectedOutput = "expected_output"
        case expectedGrad = "expected_grad"
        case expectedStep = "expected_step"
    }

    var name: String
    var role: Role
    var shape: [Int]
    /// For `expected_grad`: the input or param the gradient is with respect to.
    var wrt: String?
    /// For `cotangent`: the output it belongs to; for `expected_step`: the param it updates.
    var of: String?
    /// max |float32 reference - float64 recomputation|: the float32 noise of the reference.
    var ref64MaxAbsDiff: Double?
    /// max |float64 value|.
    var ref64MaxAbs: Double?
    /// Params: whether it gets a gradient. Outputs: `false` marks side outputs without cotangent.
    var trainable: Bool?
    var differentiable: Bool?

    var isExpected: Bool { role == .expectedOutput || role == .expectedGrad || role == .expectedStep }
}

/// One entry of cases.json.
struct GoldenCase {
    var name: String
    var file: String
    /// "op" or "model".
    var kind: String
    var op: String?
    var model: String?
    var desc: String
    /// Raw JSON attributes (String, NSNumber, [Any], [String: Any]); see the typed accessors.
    var attrs: [String: Any]
    var checks: [String: Any]
    var tensors: [TensorInfo]

    func tensor(_ name: String) -> TensorInfo? { tensors.first { $0.name == name } }
    func tensors(role: TensorInfo.Role) -> [TensorInfo] { tensors.filter { $0.role == role } }

    func attrInt(_ key: String) -> Int? { (attrs[key] as? NSNumber)?.intValue }
    func attrDouble(_ key: String) -> Double? { (attrs[key] as? NSNumber)?.doubleValue }
    func attrString(_ key: String) -> String? { attrs[key] as? String }
    func attrBool(_ key: String) -> Bool? { (attrs[key] as? NSNumber)?.boolValue }
    func attrInts(_ key: String) -> [Int]? { (attrs[key] as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } }

    /// The case's file in Tests/SinterTests/Golden. Every case of cases.json ships there.
    var fileURL: URL { GoldenData.directory.appendingPathComponent(file) }

    /// Every tensor of the case, by name. Throws (naming the file) when it is missing.
    func load() throws -> [String: HostTensor] {
        guard FileManager.default.fileExists(atPath: fileURL.path) else {
            throw SinterError.file(path: fileURL.path, message: "golden case '\(name)' is listed in cases.json but its file is missing from the repository")
        }
        return try Safetensors.read(path: fileURL.path)
    }
}

enum GoldenData {
    /// Tests/SinterTests/Golden: the whole TensorFlow reference set (see its README.md), found
    /// from the package root (`Fixtures`).
    static let directory: URL = Fixtures.packageRoot.appendingPathComponent("Tests/SinterTests/Golden")

    /// Every case of cases.json, in its order. Parsed once and cached: many tests look cases up.
    /// The one reader of cases.json for all tests.
    static func cases() throws -> [GoldenCase] { try cached.get() }

    private static let cached = Result { try parseCases() }

    private static func parseCases() throws -> [GoldenCase] {
        let path = directory.appendingPathComponent("cases.json").path
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = root["cases"] as? [[String: Any]]
        else { throw SinterError.file(path: path, message: "expected an object with a \"cases\" list") }
        guard !list.isEmpty else { throw SinterError.file(path: path, message: "the \"cases\" list is empty") }
        return try list.map { try parseCase($0, path: path) }
    }

    /// The cases of one kind (`op`, `model`), or of one op (`conv2d`, ...). Throws when none
    /// matches: a fixture-driven test that finds nothing must fail, not pass vacuously.
    static func cases(kind: String? = nil, op: String? = nil) throws -> [GoldenCase] {
        let found = try cases().filter { c in (kind.map { c.kind == $0 } ?? true) && (op.map { c.op == $0 } ?? true) }
        guard !found.isEmpty else {
            throw SinterError.file(path: directory.appendingPathComponent("cases.json").path,
                                   message: "no golden case of kind \(kind ?? "any") and op \(op ?? "any")")
        }
        return found
    }

    /// The case with this name.
    static func `case`(named name: String) throws -> GoldenCase {
        guard let found = try cases().first(where: { $0.name == name }) else {
            throw SinterError.file(path: "cases.json", message: "no golden case named '\(name)'")
        }
        return found
    }

    private static func parseCase(_ dict: [String: Any], path: String) throws -> GoldenCase {
        guard let name = dict["name"] as? String, let file = dict["file"] as? String,
              let kind = dict["kind"] as? String, let tensorList = dict["tensors"] as? [[String: Any]]
        else { throw SinterError.file(path: path, message: "case without name/file/kind/tensors: \(dict["name"] ?? "?")") }
        let tensors = try tensorList.map { t -> TensorInfo in
            guard let tname = t["name"] as? String, let roleText = t["role"] as? String,
                  let role = TensorInfo.Role(rawValue: roleText), let shape = t["shape"] as? [NSNumber]
            else { throw SinterError.file(path: path, message: "case '\(name)': bad tensor entry \(t)") }
            return TensorInfo(
                name: tname, role: role, shape: shape.map(\.intValue),
                wrt: t["wrt"] as? String, of: t["of"] as? String,
                ref64MaxAbsDiff: (t["ref64_max_abs_diff"] as? NSNumber)?.doubleValue,
                ref64MaxAbs: (t["ref64_max_abs"] as? NSNumber)?.doubleValue,
                trainable: (t["trainable"] as? NSNumber)?.boolValue,
                differentiable: (t["differentiable"] as? NSNumber)?.boolValue)
        }
        return GoldenCase(
            name: name, file: file, kind: kind, op: dict["op"] as? String, model: dict["model"] as? String,
            desc: dict["desc"] as? String ?? "", attrs: dict["attrs"] as? [String: Any] ?? [:],
            checks: dict["checks"] as? [String: Any] ?? [:], tensors: tensors)
    }
}

// MARK: - Comparison

/// The README's tolerance for an expected tensor:
/// `10*ref64_max_abs_diff + 1e-5*ref64_max_abs + 1e-7`, or with `rtol`, `rtol*ref64_max_abs + 1e-7`
/// (the README suggests rtol 1e-4 for op cases).
func goldenTolerance(_ info: TensorInfo, rtol: Double? = nil) -> Double {
    let maxAbs = info.ref64MaxAbs ?? 0
    if let rtol { return rtol * maxAbs + 1e-7 }
    return 10 * (info.ref64MaxAbsDiff ?? 0) + 1e-5 * maxAbs + 1e-7
}

/// Asserts `got` matches a golden tensor within `goldenTolerance(info, rtol:)`.
@discardableResult
func assertClose(_ got: HostTensor, _ expected: HostTensor, info: TensorInfo, rtol: Double? = nil,
                 context: String = "", file: StaticString = #filePath, line: UInt = #line) -> Bool {
    assertClose(got, expected, tolerance: goldenTolerance(info, rtol: rtol),
                name: context.isEmpty ? info.name : "\(context): \(info.name)", file: file, line: line)
}

/// Asserts equal shapes and `max|got - expected| <= tolerance` (see `closeMismatch`).
@discardableResult
func assertClose(_ got: HostTensor, _ expected: HostTensor, tolerance: Double, name: String = "tensor",
                 file: StaticString = #filePath, line: UInt = #line) -> Bool {
    guard let message = closeMismatch(got, expected, tolerance: tolerance, name: name) else { return true }
    XCTFail(message, file: file, line: line)
    return false
}

/// Nil if shapes match and `max|got - expected| <= tolerance`; otherwise a message naming the
/// worst element (multi-index, got, expected), how many elements are out of tolerance, and the
/// tolerance. NaN in only one of the two counts as an infinite difference.
func closeMismatch(_ got: HostTensor, _ expected: HostTensor, tolerance: Double, name: String = "tensor") -> String? {
    guard got.shape == expected.shape else {
        return "\(name): shape \(shapeText(got.shape)) != expected \(shapeText(expected.shape))"
    }
    let g = got.doubles, e = expected.doubles
    var worst = -1, worstDiff = -1.0, bad = 0
    for i in 0..<g.count {
        let diff: Double
        if g[i].isNaN || e[i].isNaN { diff = (g[i].isNaN && e[i].isNaN) ? 0 : .infinity }
        else if g[i] == e[i] { diff = 0 } // also covers equal infinities
        else { diff = abs(g[i] - e[i]) }
        if diff > tolerance { bad += 1 }
        if diff > worstDiff { worstDiff = diff; worst = i }
    }
    guard bad > 0 else { return nil }
    var index: [Int] = [], rest = worst
    for stride in rowMajorStrides(got.shape) { index.append(rest / stride); rest %= stride }
    return "\(name): max |got - expected| = \(worstDiff) > tolerance \(tolerance) at index \(shapeText(index)) "
        + "(got \(g[worst]), expected \(e[worst])); \(bad) of \(g.count) elements out of tolerance"
}

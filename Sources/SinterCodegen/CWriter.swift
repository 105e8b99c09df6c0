import Foundation
import SinterIR

/// A line-based C source builder that keeps indentation, so generated code stays readable.
struct CWriter {
    private(set) var lines: [String] = []
    private var depth = 0
    /// The plan's threading decision for the kernel being written (Threading.swift): false, and
    /// the writer drops every `SINTER_PARALLEL_FOR*` pragma an emitter writes, so the kernel runs
    /// on the calling thread without opening a parallel region. Every emitter's pragmas pass
    /// through here, whether they come from `loop(parallel:)` or are written as lines.
    var splits = true

    init(depth: Int = 0, splits: Bool = true) {
        self.depth = depth
        self.splits = splits
    }

    mutating func line(_ text: String) {
        if !splits && text.hasPrefix("SINTER_PARALLEL_FOR") { return }
        lines.append(text.isEmpty ? "" : String(repeating: "    ", count: depth) + text)
    }

    /// Lines that are already formatted (another writer's output), indented to this depth.
    mutating func lines(_ others: [String]) {
        for other in others { line(other) }
    }

    /// `header {`, then the body one level deeper, then `}` (or `trailer`).
    mutating func block(_ header: String, trailer: String = "}", _ body: (inout CWriter) throws -> Void) rethrows {
        line(header.isEmpty ? "{" : header + " {")
        depth += 1
        try body(&self)
        depth -= 1
        line(trailer)
    }

    /// A `for (long v = 0; v < n; v++)` loop.
    mutating func loop(_ variable: String, _ count: Int, _ body: (inout CWriter) throws -> Void) rethrows {
        try block("for (long \(variable) = 0; \(variable) < \(count); \(variable)++)", body)
    }

    /// A parallel loop when `parallel` is true (see SINTER_PARALLEL_FOR in sinter_prelude.h).
    mutating func loop(_ variable: String, _ count: Int, parallel: Bool, _ body: (inout CWriter) throws -> Void) rethrows {
        if parallel && count > 1 { line("SINTER_PARALLEL_FOR") }
        try loop(variable, count, body)
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}

/// The least work the convolution and matmul emitters give a parallel loop (their own check, below
/// the plan's `CodegenOptions.splitWork`, which decides: Threading.swift). Other emitters leave
/// the size question to the plan.
let parallelWorkThreshold = 1 << 15

/// The product of loop trip counts, for comparing with `parallelWorkThreshold`: saturating,
/// since a window op's work (outputs x window) can exceed Int even when every tensor is small
/// enough to exist.
func workCount(_ factors: Int...) -> Int { factors.reduce(1, SizeLimits.saturatingProduct) }

extension DType {
    /// The C element type.
    var cType: String {
        switch self {
        case .f32: return "float"
        case .f64: return "double"
        case .i32: return "int32_t"
        }
    }

    /// Suffix of the prelude/gemm helpers for this type (`sinter_sum_f32`).
    var helperSuffix: String { rawValue }

    /// libm name of a function for this type: `exp` -> `expf` for f32.
    func math(_ name: String) -> String { self == .f32 ? name + "f" : name }
}

/// A C literal of `value` in `dtype`. Floats round-trip exactly (Swift's shortest representation);
/// negative numbers are parenthesised so they can be pasted anywhere.
func cLiteral(_ value: Double, _ dtype: DType) -> String {
    switch dtype {
    case .i32:
        let v = Int32(clamping: Int(value.isFinite ? value.rounded(.towardZero) : 0))
        return v < 0 ? "(\(v))" : "\(v)"
    case .f32:
        let f = Float(value)
        if f.isNaN { return "NAN" }
        if f.isInfinite { return f > 0 ? "INFINITY" : "(-INFINITY)" }
        var text = "\(f)"
        if !text.contains(".") && !text.contains("e") { text += ".0" }
        return f < 0 || (f == 0 && f.sign == .minus) ? "(\(text)f)" : text + "f"
    case .f64:
        if value.isNaN { return "NAN" }
        if value.isInfinite { return value > 0 ? "((double)INFINITY)" : "(-(double)INFINITY)" }
        var text = "\(value)"
        if !text.contains(".") && !text.contains("e") { text += ".0" }
        return value < 0 || (value == 0 && value.sign == .minus) ? "(\(text))" : text
    }
}

/// A double literal for scalar arithmetic done in double.
func cDouble(_ value: Double) -> String { cLiteral(value, .f64) }

/// `/* %12 conv2d @ Graphs/X.swift:14 : f32[2,3] */`-style description of a node. Op names, ids,
/// numbers and types are the compiler's own; attribute keys, string values and the location come
/// from the user and go through `CText.comment`.
func describe(_ id: Int, _ node: Node) -> String {
    var text = "%\(id) \(node.op.rawValue)"
    if !node.operands.isEmpty { text += "(" + node.operands.map { "%\($0)" }.joined(separator: ", ") + ")" }
    let attrs = node.attrs.storage.filter { $0.key != "value" || node.op == .constant }
    if !attrs.isEmpty {
        text += " {" + attrs.map { "\(CText.comment($0.key))=\(commentValue($0.value))" }.joined(separator: ", ") + "}"
    }
    text += " : \(node.type) @ \(CText.comment(node.location.file)):\(node.location.line)"
    return text
}

private func commentValue(_ value: Attribute) -> String {
    if case let .string(text) = value { return "\"" + CText.comment(text) + "\"" }
    return value.description
}

/// Integer division rounding toward negative infinity (for static index arithmetic).
func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Integer division rounding toward positive infinity.
func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }

import SinterIR

// Elementwise math. Binary ops broadcast like numpy (shapes aligned on the right, 1 stretches).
// The named functions (`add(a, b)`, `exp(x)`, ...) record their caller's line through `#fileID` /
// `#line` defaults; the operators (`a + b`, Operators.swift) find theirs from the call stack.

extension Tensor {
    public func unary(_ op: Op, _ attrs: Attributes = Attributes(), file: String, line: Int) -> Tensor {
        builder.node(op, [self], attrs, at: SourceLocation(file: file, line: line))
    }

    public func binary(_ op: Op, _ other: Tensor, at location: SourceLocation) -> Tensor {
        builder.node(op, [self, other], at: location)
    }

    /// A scalar constant of this tensor's dtype.
    public func scalar(_ value: Double, at location: SourceLocation) -> Tensor {
        builder.node(.constant, [], Attributes(["value": .float(value)]), type: TensorType(dtype, []), at: location)
    }

    // Method forms record their own source line.
    public func exp(file: String = #fileID, line: Int = #line) -> Tensor { unary(.exp, file: file, line: line) }
    public func log(file: String = #fileID, line: Int = #line) -> Tensor { unary(.log, file: file, line: line) }
    public func sqrt(file: String = #fileID, line: Int = #line) -> Tensor { unary(.sqrt, file: file, line: line) }
    public func rsqrt(file: String = #fileID, line: Int = #line) -> Tensor { unary(.rsqrt, file: file, line: line) }
    public func square(file: String = #fileID, line: Int = #line) -> Tensor { unary(.square, file: file, line: line) }
    public func abs(file: String = #fileID, line: Int = #line) -> Tensor { unary(.abs, file: file, line: line) }
    public func sign(file: String = #fileID, line: Int = #line) -> Tensor { unary(.sign, file: file, line: line) }
    public func relu(file: String = #fileID, line: Int = #line) -> Tensor { unary(.relu, file: file, line: line) }
    public func relu6(file: String = #fileID, line: Int = #line) -> Tensor { unary(.relu6, file: file, line: line) }
    public func sigmoid(file: String = #fileID, line: Int = #line) -> Tensor { unary(.sigmoid, file: file, line: line) }
    public func tanh(file: String = #fileID, line: Int = #line) -> Tensor { unary(.tanh, file: file, line: line) }
    public func softplus(file: String = #fileID, line: Int = #line) -> Tensor { unary(.softplus, file: file, line: line) }
    public func selu(file: String = #fileID, line: Int = #line) -> Tensor { unary(.selu, file: file, line: line) }
    public func leakyRelu(_ alpha: Double = 0.2, file: String = #fileID, line: Int = #line) -> Tensor {
        unary(.leakyRelu, Attributes(["alpha": .float(alpha)]), file: file, line: line)
    }
    /// TF clip_by_value: no gradient flows to elements outside [low, high].
    public func clipped(_ low: Double, _ high: Double, file: String = #fileID, line: Int = #line) -> Tensor {
        unary(.clip, Attributes(["low": .float(low), "high": .float(high)]), file: file, line: line)
    }
    public func cast(_ dtype: DType, file: String = #fileID, line: Int = #line) -> Tensor {
        unary(.cast, Attributes(["to": .dtype(dtype)]), file: file, line: line)
    }
}

// Free-function forms, for code that reads like the notebooks.
public func exp(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.exp(file: file, line: line) }
public func log(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.log(file: file, line: line) }
public func sqrt(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.sqrt(file: file, line: line) }
public func abs(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.abs(file: file, line: line) }
public func square(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.square(file: file, line: line) }
public func relu(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.relu(file: file, line: line) }
public func sigmoid(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.sigmoid(file: file, line: line) }
public func tanh(_ x: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { x.tanh(file: file, line: line) }

public func add(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    a.binary(.add, b, at: SourceLocation(file: file, line: line))
}
public func subtract(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    a.binary(.sub, b, at: SourceLocation(file: file, line: line))
}
public func multiply(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    a.binary(.mul, b, at: SourceLocation(file: file, line: line))
}
public func divide(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    a.binary(.div, b, at: SourceLocation(file: file, line: line))
}
public func maximum(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    a.binary(.maximum, b, at: SourceLocation(file: file, line: line))
}
public func minimum(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    a.binary(.minimum, b, at: SourceLocation(file: file, line: line))
}
/// 1 where a > b, else 0 (in a's dtype).
public func greater(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    a.binary(.greater, b, at: SourceLocation(file: file, line: line))
}
/// The other comparisons, like `greater`: 1 or 0 in a's dtype (NaN compares false, so equals nothing).
public func greaterEqual(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { compare(.greaterEqual, a, b, file, line) }
public func less(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { compare(.less, a, b, file, line) }
public func lessEqual(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { compare(.lessEqual, a, b, file, line) }
public func equal(_ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor { compare(.equal, a, b, file, line) }
private func compare(_ op: Op, _ a: Tensor, _ b: Tensor, _ file: String, _ line: Int) -> Tensor {
    a.binary(op, b, at: SourceLocation(file: file, line: line))
}
/// cond != 0 ? a : b, broadcasting all three.
public func select(_ cond: Tensor, _ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) -> Tensor {
    cond.builder.node(.select, [cond, a, b], at: SourceLocation(file: file, line: line))
}

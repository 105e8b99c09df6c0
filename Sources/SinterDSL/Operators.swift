#if canImport(Runtime)
import Runtime
#endif
import Synchronization
import SinterIR

// The arithmetic operators on tensors, and how each one finds the line it was written on.
//
// Swift gives an operator exactly its operands (`static func + (a:b:file:line:)` is refused:
// "operators must have one or two arguments"), so an operator cannot take `#fileID`/`#line`
// defaults as the named functions do, and without macros there is no other way to pass the
// caller's line in. So an operator reads it from the call stack: the return address into its
// caller (a frame-pointer walk), symbolicated from the DWARF line table. SwiftPM builds keep frame
// pointers and line tables in debug and in release; an optimised build adds thunks around a
// specialised operator, which are skipped like the operator's own frames. That costs about 20 ms
// per operator site, once per process (cached by address); a binary without line tables or frame
// pointers falls back to the location of the latest named DSL call.
//
// The DSL's own composites (losses, layers) use operators inside `GraphBuilder.located`, which
// gives them the composite's caller's line at no cost.

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { a.binary(.add, b, at: a.builder.operatorLocation()) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.binary(.sub, b, at: a.builder.operatorLocation()) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.binary(.mul, b, at: a.builder.operatorLocation()) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.binary(.div, b, at: a.builder.operatorLocation()) }
    public static prefix func - (a: Tensor) -> Tensor {
        a.builder.node(.neg, [a], at: a.builder.operatorLocation())
    }

    public static func + (a: Tensor, b: Double) -> Tensor { a.withScalar(b, .add, scalarFirst: false) }
    public static func - (a: Tensor, b: Double) -> Tensor { a.withScalar(b, .sub, scalarFirst: false) }
    public static func * (a: Tensor, b: Double) -> Tensor { a.withScalar(b, .mul, scalarFirst: false) }
    public static func / (a: Tensor, b: Double) -> Tensor { a.withScalar(b, .div, scalarFirst: false) }
    public static func + (a: Double, b: Tensor) -> Tensor { b.withScalar(a, .add, scalarFirst: true) }
    public static func - (a: Double, b: Tensor) -> Tensor { b.withScalar(a, .sub, scalarFirst: true) }
    public static func * (a: Double, b: Tensor) -> Tensor { b.withScalar(a, .mul, scalarFirst: true) }
    public static func / (a: Double, b: Tensor) -> Tensor { b.withScalar(a, .div, scalarFirst: true) }

    /// `self op value` (or `value op self`), the constant and the op both at the operator's line.
    /// Called from the operators above only (its frame is skipped like theirs).
    @inline(never)
    private func withScalar(_ value: Double, _ op: Op, scalarFirst: Bool) -> Tensor {
        let location = builder.operatorLocation()
        let constant = scalar(value, at: location)
        return scalarFirst ? constant.binary(op, self, at: location) : binary(op, constant, at: location)
    }
}

extension GraphBuilder {
    /// Runs `body` with every operator in it recorded at `file:line`: how a DSL composite (a loss,
    /// a layer) gives the operators it uses its caller's line. The outermost scope wins.
    public func located<T>(_ file: String, _ line: Int, _ body: () -> T) -> T {
        if operatorScope != nil { return body() }
        operatorScope = SourceLocation(file: file, line: line)
        defer { operatorScope = nil }
        return body()
    }

    /// The source line of the operator being evaluated: the enclosing `located` scope's, else its
    /// caller's from the call stack, else the latest named call's. Call it from this file only.
    @inline(never)
    func operatorLocation() -> SourceLocation {
        operatorScope ?? OperatorCallSite.caller() ?? currentLocation
    }
}

/// Finds an operator's caller on the call stack.
enum OperatorCallSite {
    /// What the code at one return address is.
    private enum Frame {
        /// The operators' own code (this file), or a compiler-generated thunk around it (an
        /// optimised build calls a specialised operator through one): keep walking up.
        case operatorCode
        case caller(SourceLocation)
        /// No symbol or no line information: the caller cannot be told.
        case unknown
    }

    /// This file (`SinterDSL/Operators.swift`): its frames are the operators' own. Compared as
    /// `#fileID`s, which do not depend on the path the compiler was given.
    private static let operatorFile = #fileID
    private static let cache = Mutex<[UInt64: Frame]>([:])
    /// Stack offsets (from `frame`) to walk: `frame`, `caller` and `operatorLocation` come first,
    /// then the operator, `withScalar` and thunks, then the caller.
    private static let callerOffsets = 3..<10

    #if canImport(Runtime)
    /// The loaded images, captured once (capturing them costs about 0.3 ms, a backtrace with
    /// them given about 2 µs). Swift code is loaded before any graph is traced.
    private static let images = ImageMap.capture()
    #endif

    /// The location of the first frame outside this file and its thunks, nil when that frame has
    /// no line information.
    @inline(never)
    static func caller() -> SourceLocation? {
        #if canImport(Runtime)
        for offset in callerOffsets {
            switch frame(at: offset) {
            case .operatorCode: continue
            case let .caller(location): return location
            case .unknown: return nil
            }
        }
        return nil
        #else
        return nil
        #endif
    }

    #if canImport(Runtime)
    /// The frame `offset` levels up from this one, from the cache or symbolicated alone
    /// (symbolicating costs per frame, about 20 ms).
    @inline(never)
    private static func frame(at offset: Int) -> Frame {
        // limit 2: the frame, then the truncation marker.
        guard let backtrace = try? Backtrace.capture(algorithm: .fast, limit: 2, offset: offset, top: 0, images: images),
              let captured = backtrace.frames.first(where: { if case .returnAddress = $0 { return true } else { return false } }),
              let address = UInt64(captured.originalProgramCounter) else {
            return .unknown
        }
        if let known = cache.withLock({ $0[address] }) { return known }
        let found = classify(backtrace.symbolicated(with: images, options: [.showInlineFrames, .showSourceLocations])?.frames ?? [])
        cache.withLock { $0[address] = found }
        return found
    }

    /// One return address, as its inline chain (innermost first): the first frame with a real
    /// source line decides.
    private static func classify(_ frames: [SymbolicatedBacktrace.Frame]) -> Frame {
        var sawThunk = false
        for frame in frames {
            guard let symbol = frame.symbol else { continue }
            guard let source = symbol.sourceLocation, source.line > 0, !source.path.contains("<compiler-generated>") else {
                sawThunk = sawThunk || symbol.isSwiftThunk || symbol.sourceLocation != nil
                continue
            }
            let file = fileID(path: source.path, mangledName: symbol.rawName)
            return file == operatorFile ? .operatorCode : .caller(SourceLocation(file: file, line: source.line))
        }
        return sawThunk ? .operatorCode : .unknown
    }
    #endif

    /// `#fileID` of a source file: `Module/File.swift`, the module read from the mangled name of
    /// the function the frame is in (`$s<length><module>...`); just `File.swift` when it has none
    /// (top-level code is `main`).
    static func fileID(path: String, mangledName: String) -> String {
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        guard mangledName.hasPrefix("$s") else { return fileName }
        let rest = mangledName.dropFirst(2)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard let length = Int(digits), length > 0 else { return fileName }
        let module = rest.dropFirst(digits.count).prefix(length)
        guard module.count == length, module.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            return fileName
        }
        return "\(module)/\(fileName)"
    }
}

/// IR text parsing: the inverse of `printIR` (IRPrinter.swift); grammar in Docs/ir.md.
///
/// The parser works line by line because the format puts exactly one node, output, header or footer
/// on each line; that keeps error positions exact and the code free of a separate lexer. Every node
/// is built through `Graph.add` with its written type as the declared type, so a parsed graph is
/// always type-checked. The remaining invariants (effect targets, double writes) are `verify`'s job,
/// so tests can parse a broken graph on purpose and check the verifier catches it.

/// Parses one graph. `file` names the text in errors. Throws `SinterError.parse` with the 1-based
/// line in `text` and a message quoting the offending token.
public func parseIR(_ text: String, file: String = "<text>") throws -> Graph {
    var parser = IRParser(file: file)
    // Split on scalars: "\r\n" is a single Character, so splitting Characters on "\n" would miss it.
    let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
    for (offset, raw) in lines.enumerated() {
        var scalars = Array(raw)
        if scalars.last == "\r" { scalars.removeLast() }
        try parser.line(scalars, number: offset + 1)
    }
    return try parser.finish()
}

private struct IRParser {
    let file: String
    var graph: Graph?
    var closed = false
    /// Text id (`%N` as written) -> node index and the line that defined it.
    var ids: [Int: (index: Int, line: Int)] = [:]
    var lastContentLine = 0

    init(file: String) { self.file = file }

    mutating func line(_ scalars: [Unicode.Scalar], number: Int) throws {
        var c = Cursor(chars: scalars, line: number, file: file)
        c.skipSpaces()
        if c.atEnd || c.peek() == "#" { return }
        lastContentLine = number
        guard let graph else { return try header(&c) }
        if closed { throw c.error("unexpected text after the graph's closing '}': '\(c.peekToken())'") }
        if c.accept("}") {
            try c.expectEnd()
            closed = true
        } else if c.peek() == "%" {
            try node(&c, graph)
        } else if c.peekToken() == "output" {
            try output(&c, graph)
        } else if c.peekToken() == "graph" {
            throw c.error("missing '}' before 'graph': a text holds one graph")
        } else {
            throw c.error("expected '%N = ...', 'output' or '}', found '\(c.peekToken())'")
        }
    }

    func finish() throws -> Graph {
        guard let graph else { throw SinterError.parse(file: file, line: max(lastContentLine, 1), message: "expected 'graph NAME {', found end of text") }
        guard closed else {
            throw SinterError.parse(file: file, line: max(lastContentLine, 1), message: "missing '}' at end of graph '\(graph.name)'")
        }
        return graph
    }

    /// `graph NAME {`
    mutating func header(_ c: inout Cursor) throws {
        guard c.word() == "graph" else { throw c.error("expected 'graph NAME {', found '\(c.restText())'") }
        c.skipSpaces()
        let name = c.word()
        guard !name.isEmpty else { throw c.error("expected a graph name (letters, digits, _ - .), found '\(c.peekToken())'") }
        try c.expect("{", after: "graph name '\(name)'")
        try c.expectEnd()
        graph = Graph(name: name)
    }

    /// `%N = op(%a, %b) {key=value, ...} : type @ file:line`
    mutating func node(_ c: inout Cursor, _ graph: Graph) throws {
        let id = try c.nodeID()
        if let previous = ids[id] { throw c.error("'%\(id)' is already defined on line \(previous.line)") }
        try c.expect("=", after: "'%\(id)'")
        c.skipSpaces()
        let opName = c.word()
        guard let op = Op(rawValue: opName) else {
            let hint = NameSuggestions.hint(for: opName, among: Op.allCases.map(\.rawValue))
            throw c.error(opName.isEmpty ? "expected an op name, found '\(c.peekToken())'" : "unknown op '\(opName)'\(hint)")
        }
        var operands: [Int] = []
        if c.accept("(") && !c.accept(")") {
            repeat {
                let ref = try c.nodeID()
                guard let target = ids[ref] else { throw c.error("undefined operand '%\(ref)'") }
                if graph[target.index].op.isEffect {
                    throw c.error("operand '%\(ref)' is an effect (\(graph[target.index].op.rawValue)) and has no value")
                }
                operands.append(target.index)
            } while c.accept(",")
            try c.expect(")", after: "operand list")
        }
        var attrs = Attributes()
        if c.accept("{") && !c.accept("}") {
            repeat {
                c.skipSpaces()
                let key = c.word()
                guard !key.isEmpty else { throw c.error("bad attribute: expected a name, found '\(c.peekToken())'") }
                guard attrs[key] == nil else { throw c.error("bad attribute: '\(key)' is given twice") }
                try c.expect("=", after: "attribute '\(key)'")
                attrs[key] = try c.attributeValue(key: key)
            } while c.accept(",")
            try c.expect("}", after: "attributes")
        }
        try c.expect(":", after: opName)
        let type = try c.tensorType()
        let location: SourceLocation
        if c.accept("@") {
            c.skipSpaces()
            let text = c.restText().trimmingSpaces()
            guard let parsed = SourceLocation(parsing: Substring(text)) else { throw c.error("malformed location '\(text)' (expected file:line)") }
            location = parsed
            c.pos = c.chars.count
        } else {
            // Handwritten IR may leave locations out; the IR text line itself is the best source then.
            location = SourceLocation(file: file, line: c.line)
        }
        try c.expectEnd()
        do {
            let index = try graph.add(op, operands, attrs, type: type, at: location)
            ids[id] = (index, c.line)
        } catch let SinterError.shape(op, message, _) {
            throw c.error("%\(id) \(op): \(message)")
        } catch let SinterError.verify(message) {
            // Attribute accessors in ShapeInference report missing or mistyped attributes this way.
            throw c.error("%\(id) \(opName): \(message)")
        }
    }

    /// `output "name" = %N`
    mutating func output(_ c: inout Cursor, _ graph: Graph) throws {
        _ = c.word()
        c.skipSpaces()
        guard c.peek() == "\"" else { throw c.error("expected a quoted output name, found '\(c.peekToken())'") }
        let name = try c.string()
        try c.expect("=", after: "output \(irQuoted(name))")
        let ref = try c.nodeID()
        guard let target = ids[ref] else { throw c.error("undefined operand '%\(ref)' in output \(irQuoted(name))") }
        if graph[target.index].op.isEffect {
            throw c.error("output \(irQuoted(name)) names '%\(ref)', an effect (\(graph[target.index].op.rawValue)) with no value")
        }
        try c.expectEnd()
        do {
            try graph.addOutput(name, target.index)
        } catch let SinterError.verify(message) {
            throw c.error(message)
        }
    }
}

/// A position in one line. Methods that read a token skip leading spaces first, so the grammar can
/// be written without caring where blanks go.
private struct Cursor {
    let chars: [Unicode.Scalar]
    var pos = 0
    let line: Int
    let file: String

    init(chars: [Unicode.Scalar], line: Int, file: String) {
        self.chars = chars
        self.line = line
        self.file = file
    }

    func error(_ message: String) -> SinterError { .parse(file: file, line: line, message: message) }

    var atEnd: Bool { pos >= chars.count }
    func peek() -> Unicode.Scalar? { atEnd ? nil : chars[pos] }

    mutating func skipSpaces() {
        while let ch = peek(), ch == " " || ch == "\t" { pos += 1 }
    }

    mutating func accept(_ ch: Unicode.Scalar) -> Bool {
        skipSpaces()
        guard peek() == ch else { return false }
        pos += 1
        return true
    }

    mutating func expect(_ ch: Unicode.Scalar, after what: String) throws {
        guard accept(ch) else { throw error("expected '\(ch)' after \(what), found '\(peekToken())'") }
    }

    mutating func expectEnd() throws {
        skipSpaces()
        guard atEnd else { throw error("unexpected '\(peekToken())' at end of line") }
    }

    static func isWordChar(_ ch: Unicode.Scalar) -> Bool {
        ch.properties.isAlphabetic || ("0"..."9").contains(ch) || ch == "_" || ch == "-" || ch == "."
    }

    /// Letters, digits, `_ - .`: graph names, op names, attribute keys, node numbers.
    mutating func word() -> String {
        let start = pos
        while let ch = peek(), Cursor.isWordChar(ch) { pos += 1 }
        return String(String.UnicodeScalarView(chars[start..<pos]))
    }

    /// Up to the next blank or delimiter: numbers and bare words like `f32`, `true`, `-inf`.
    mutating func bareToken() -> String {
        skipSpaces()
        let start = pos
        while let ch = peek(), !" \t,[]{}()=:@\"".unicodeScalars.contains(ch) { pos += 1 }
        return String(String.UnicodeScalarView(chars[start..<pos]))
    }

    /// The token at the cursor, for error messages; does not move.
    func peekToken() -> String {
        var copy = self
        copy.skipSpaces()
        if copy.atEnd { return "end of line" }
        let token = copy.bareToken()
        return token.isEmpty ? String(copy.chars[copy.pos]) : token
    }

    func restText() -> String { String(String.UnicodeScalarView(chars[min(pos, chars.count)...])) }

    /// `%N`
    mutating func nodeID() throws -> Int {
        skipSpaces()
        guard accept("%") else { throw error("expected a node '%N', found '\(peekToken())'") }
        let digits = word()
        guard let id = Int(digits), id >= 0 else { throw error("bad node number '%\(digits)'") }
        return id
    }

    /// `"..."` with `\"`, `\\`, `\n`, `\r`, `\t` escapes (see `irQuoted`).
    mutating func string() throws -> String {
        skipSpaces()
        let start = pos
        guard accept("\"") else { throw error("expected '\"', found '\(peekToken())'") }
        var out = String.UnicodeScalarView()
        while let ch = peek() {
            pos += 1
            if ch == "\"" { return String(out) }
            guard ch == "\\" else { out.append(ch); continue }
            guard let escaped = peek() else { break }
            pos += 1
            switch escaped {
            case "\\", "\"": out.append(escaped)
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            default: throw error("bad escape '\\\(escaped)' in string")
            }
        }
        throw error("unterminated string \(String(String.UnicodeScalarView(chars[start...])))")
    }

    /// `[1,2,3]` or `[]`; `what` names the list in errors.
    mutating func intList(_ what: String) throws -> [Int] {
        guard accept("[") else { throw error("expected '[' for \(what), found '\(peekToken())'") }
        var values: [Int] = []
        if accept("]") { return values }
        repeat {
            let token = bareToken()
            guard let value = Int(token) else {
                throw error("\(what) holds '\(token.isEmpty ? peekToken() : token)'; lists hold only ints")
            }
            values.append(value)
        } while accept(",")
        guard accept("]") else { throw error("expected ']' to close \(what), found '\(peekToken())'") }
        return values
    }

    mutating func attributeValue(key: String) throws -> Attribute {
        skipSpaces()
        if peek() == "\"" { return .string(try string()) }
        if peek() == "[" { return .ints(try intList("bad attribute: int list '\(key)'")) }
        let token = bareToken()
        if let value = Int(token) { return .int(value) }
        switch token {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "nan": return .float(.nan)
        case "inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        default: break
        }
        if let dtype = DType(rawValue: token) { return .dtype(dtype) }
        // Floats always carry `.` or an exponent (Attribute.floatText); an int too big for Int lands here too.
        if token.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let value = Double(token), value.isFinite {
            return .float(value)
        }
        throw error("bad attribute value '\(token.isEmpty ? peekToken() : token)' for '\(key)'")
    }

    /// `f32[2,3]`, `f32[]`. Any failure quotes the whole type text, which is easier to spot than a piece.
    mutating func tensorType() throws -> TensorType {
        skipSpaces()
        let start = pos
        let typeEnd = chars[start...].firstIndex(of: "@") ?? chars.count
        let typeText = String(String.UnicodeScalarView(chars[start..<typeEnd])).trimmingSpaces()
        let malformed = error("malformed type '\(typeText)' (expected e.g. f32[2,3] or f32[])")
        guard let dtype = DType(rawValue: word()), let shape = try? intList("shape") else { throw malformed }
        if let negative = shape.first(where: { $0 < 0 }) {
            throw error("malformed type '\(typeText)': the dimension \(negative) is negative")
        }
        // The next thing must be `@` or the end, else e.g. `f32[2]x` would silently drop the `x`.
        skipSpaces()
        guard atEnd || peek() == "@" else { throw malformed }
        return TensorType(dtype, shape)
    }
}

private extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let ch = s.first, ch == " " || ch == "\t" { s.removeFirst() }
        while let ch = s.last, ch == " " || ch == "\t" { s.removeLast() }
        return String(s)
    }
}

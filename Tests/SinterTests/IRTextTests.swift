import XCTest
import SinterIR

/// IR text printing and parsing (IRPrinter.swift, IRParser.swift) and the verifier (Verifier.swift).
final class IRTextTests: XCTestCase {
    private func at(_ line: Int) -> SourceLocation { SourceLocation(file: "Graphs/Kitchen.swift", line: line) }

    private func attrs(_ pairs: [String: Attribute]) -> Attributes { Attributes(pairs) }

    private func f32(_ shape: Int...) -> TensorType { TensorType(.f32, shape) }

    /// A training-step-shaped graph touching every attribute kind and most op families.
    private func kitchenSink() throws -> Graph {
        let g = Graph(name: "kitchen_sink-v1.0")
        let x = try g.add(.input, [], attrs(["name": .string("x")]), type: f32(2, 8, 8, 3), at: at(1))
        let k = try g.add(.param, [], attrs(["name": .string("conv.kernel"), "init": .string("glorot_uniform")]), type: f32(3, 3, 3, 4), at: at(2))
        let conv = try g.add(.conv2d, [x, k], attrs(["strides": .ints([1, 1]), "pads": .ints([1, 1, 1, 1])]), at: at(3))
        let act = try g.add(.leakyRelu, [conv], attrs(["alpha": .float(-0.2)]), at: at(4))
        let clipped = try g.add(.clip, [act], attrs(["low": .float(-1.5), "high": .float(1e-07)]), at: at(5))
        let pooled = try g.add(.maxPool, [clipped], attrs(["window": .ints([2, 2]), "strides": .ints([2, 2]), "pads": .ints([0, 0, 0, 0])]), at: at(6))
        let avg = try g.add(.avgPool, [pooled], attrs(["window": .ints([3, 3]), "strides": .ints([1, 1]), "pads": .ints([1, 1, 1, 1])]), at: at(7))
        let mean = try g.add(.reduceMean, [avg], attrs(["axes": .ints([1, 2]), "keepdims": .bool(false)]), at: at(8))
        let w = try g.add(.param, [], attrs(["name": .string("dense.kernel"), "init": .string("zeros")]), type: f32(5, 4), at: at(9))
        let logits = try g.add(.matmul, [mean, w], attrs(["transpose_b": .bool(true)]), at: at(10))
        let padded = try g.add(.pad, [logits], attrs(["pads": .ints([0, 0, 1, 2]), "mode": .string("reflect")]), at: at(11))
        let sliced = try g.add(.slice, [padded], attrs(["begin": .ints([0, 1]), "end": .ints([2, 6])]), at: at(12))
        let half = try g.add(.constant, [], attrs(["value": .float(0.5)]), type: f32(), at: .unknown)
        let scaled = try g.add(.mul, [sliced, half], at: at(13))
        let t = try g.add(.transpose, [scaled], attrs(["perm": .ints([1, 0])]), at: at(14))
        let cat = try g.add(.concat, [t, t], attrs(["axis": .int(-1)]), at: at(15))
        let flat = try g.add(.reshape, [cat], type: f32(20), at: at(16))
        let wide = try g.add(.broadcastTo, [flat], type: f32(3, 20), at: at(17))
        let rev = try g.add(.reverse, [wide], attrs(["axes": .ints([0])]), at: at(18))
        let as64 = try g.add(.cast, [rev], attrs(["to": .dtype(.f64)]), at: at(19))
        let loss = try g.add(.reduceSum, [as64], attrs(["axes": .ints([]), "keepdims": .bool(true)]), at: at(20))
        let counter = try g.add(.state, [], attrs(["name": .string("iterations"), "init": .string("zeros")]), type: TensorType(.i32, []), at: at(21))
        let noise = try g.add(.randomUniform, [counter], attrs(["seed": .int(Int.max), "low": .float(-1), "high": .float(1)]), type: f32(2, 5), at: at(22))
        let cond = try g.add(.greater, [noise, half], at: at(23))
        let picked = try g.add(.select, [cond, noise, logits], at: at(24))
        let m = try g.add(.state, [], attrs(["name": .string("dense.kernel/m"), "init": .string("zeros")]), type: f32(5, 4), at: at(25))
        let v = try g.add(.state, [], attrs(["name": .string("dense.kernel/v"), "init": .string("zeros")]), type: f32(5, 4), at: at(26))
        let grad = try g.add(.constant, [], attrs(["value": .float(-3e+20)]), type: f32(5, 4), at: at(27))
        try g.add(.adamUpdate, [w, m, v, counter, grad], attrs([
            "lr": .float(0.001), "beta1": .float(0.9), "beta2": .float(0.999), "epsilon": .float(1e-07),
            "decay_rate": .float(1), "decay_steps": .int(1_000_000_000_000),
        ]), at: at(28))
        let one = try g.add(.constant, [], attrs(["value": .int(1)]), type: TensorType(.i32, []), at: at(29))
        let next = try g.add(.add, [counter, one], at: at(30))
        try g.add(.assign, [counter, next], at: at(31))
        // Strings with quotes and backslashes must survive escaping.
        try g.add(.input, [], attrs(["name": .string("odd \"quoted\" \\ name @ x:1")]), type: f32(1), at: at(32))
        try g.addOutput("loss", loss)
        try g.addOutput("picked \"p\"", picked)
        return g
    }

    func testRoundTripIsExact() throws {
        let g = try kitchenSink()
        try verify(g)
        let text = printIR(g)
        XCTAssertEqual(g.text, text)
        let parsed = try parseIR(text)
        XCTAssertEqual(printIR(parsed), text)
        XCTAssertEqual(parsed.name, g.name)
        XCTAssertEqual(parsed.nodes, g.nodes)
        XCTAssertEqual(parsed.outputs.map(\.name), g.outputs.map(\.name))
        XCTAssertEqual(parsed.outputs.map(\.node), g.outputs.map(\.node))
        try verify(parsed)

        // Spot-check the printed forms the grammar promises.
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "graph kitchen_sink-v1.0 {")
        XCTAssertEqual(lines.last, "}")
        XCTAssertEqual(lines[1], "  %0 = input {name=\"x\"} : f32[2,8,8,3] @ Graphs/Kitchen.swift:1")
        XCTAssertEqual(lines[3], "  %2 = conv2d(%0, %1) {pads=[1,1,1,1], strides=[1,1]} : f32[2,8,8,4] @ Graphs/Kitchen.swift:3")
        XCTAssertTrue(text.contains("  %12 = constant {value=0.5} : f32[] @ ?:0\n"))
        for fragment in ["alpha=-0.2", "high=1e-07", "axes=[]", "to=f64", "seed=\(Int.max)", "low=-1.0",
                         "decay_steps=1000000000000", "value=-3e+20", "value=1}", "transpose_b=true",
                         "mode=\"reflect\"", "name=\"odd \\\"quoted\\\" \\\\ name @ x:1\"",
                         "output \"picked \\\"p\\\"\" = %"] {
            XCTAssertTrue(text.contains(fragment), "missing \(fragment) in\n\(text)")
        }
        XCTAssertEqual(parsed[parsed.nodes.count - 1].sourceName, "odd \"quoted\" \\ name @ x:1")
    }

    func testSpecialFloatsAndControlCharactersRoundTrip() throws {
        let g = Graph(name: "floats")
        for (i, value) in [Double.nan, .infinity, -.infinity, -0.0, 1e-300, 123456789.125].enumerated() {
            try g.add(.constant, [], attrs(["value": .float(value)]), type: f32(), at: at(i))
        }
        try g.add(.input, [], attrs(["name": .string("tab\there\nnew\r\nline")]), type: f32(), at: at(9))
        let text = g.text
        XCTAssertTrue(text.contains("{value=nan}") && text.contains("{value=inf}") && text.contains("{value=-inf}"), text)
        XCTAssertTrue(text.contains("name=\"tab\\there\\nnew\\r\\nline\""), text)
        let parsed = try parseIR(text)
        XCTAssertEqual(parsed.text, text)
        XCTAssertEqual(parsed[6].sourceName, "tab\there\nnew\r\nline")
        guard case let .float(nan)? = parsed[0].attrs["value"] else { return XCTFail("nan is not a float") }
        XCTAssertTrue(nan.isNaN)
    }

    func testHandwrittenTextWithGapsCommentsAndNoLocations() throws {
        let text = """
        # a hand-edited dump: ids renumbered, comments, blank lines, CRLF line ends
        graph edited {\r
          %10 = input {name="a"} : f32[2,3] @ A.swift:1

          %4 = param {init="ones", name="b"} : f32[3]
          # %4 is defined after %10: ids need only be distinct
          %99 = add(%10, %4) : f32[2,3] @ A.swift:3
          %100 = reduce_sum(%99) {axes=[0, 1]} : f32[] @ A.swift:4
          output "sum" = %100
          output "raw" = %99
        }

        """
        let g = try parseIR(text, file: "edited.sir")
        XCTAssertEqual(g.text, """
        graph edited {
          %0 = input {name="a"} : f32[2,3] @ A.swift:1
          %1 = param {init="ones", name="b"} : f32[3] @ edited.sir:5
          %2 = add(%0, %1) : f32[2,3] @ A.swift:3
          %3 = reduce_sum(%2) {axes=[0,1]} : f32[] @ A.swift:4
          output "sum" = %3
          output "raw" = %2
        }

        """)
    }

    /// Parses `text`, expecting a parse error on `line` whose message contains each of `fragments`.
    private func assertParseError(_ text: String, line: Int, _ fragments: String..., file: StaticString = #filePath, testLine: UInt = #line) {
        do {
            let g = try parseIR(text, file: "bad.sir")
            XCTFail("parsed without error:\n\(g.text)", file: file, line: testLine)
        } catch let SinterError.parse(errorFile, errorLine, message) {
            XCTAssertEqual(errorFile, "bad.sir", file: file, line: testLine)
            XCTAssertEqual(errorLine, line, message, file: file, line: testLine)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: testLine)
            }
        } catch {
            XCTFail("wrong error: \(error)", file: file, line: testLine)
        }
    }

    private let head = "graph g {\n  %0 = input {name=\"x\"} : f32[2,3] @ G.swift:1\n"

    func testParseErrors() {
        assertParseError(head + "  %1 = conv3d(%0) : f32[2,3] @ G.swift:2\n}\n", line: 3, "unknown op 'conv3d'", "conv2d")
        assertParseError(head + "  %1 = relu(%7) : f32[2,3] @ G.swift:2\n}\n", line: 3, "undefined operand '%7'")
        assertParseError(head + "\n  %1 = relu(%0) : f32[2,x] @ G.swift:2\n}\n", line: 4, "malformed type 'f32[2,x]'")
        assertParseError(head + "  %1 = relu(%0) : f33[2,3] @ G.swift:2\n}\n", line: 3, "malformed type 'f33[2,3]'")
        // Shape errors from Graph.add keep their message and gain the text's line.
        assertParseError(head + "  %1 = param {name=\"b\"} : f32[4] @ G.swift:2\n  %2 = add(%0, %1) : f32[2,3] @ G.swift:3\n}\n",
                         line: 4, "add:", "[2,3] and [4] do not broadcast")
        assertParseError(head + "  %1 = relu(%0) : f32[3,2] @ G.swift:2\n}\n", line: 3, "declared type f32[3,2] but operands give f32[2,3]")
        assertParseError(head + "  %1 = reduce_sum(%0) : f32[] @ G.swift:2\n}\n", line: 3, "reduce_sum:", "'axes'")
        assertParseError(head + "  %1 = relu(%0) : f32[2,3] @ G.swift:2\n", line: 3, "missing '}'")
        assertParseError(head + "  output \"y\" = %0\n\n# trailing comment\n", line: 3, "missing '}'")
        assertParseError("graph g\n}\n", line: 1, "expected '{'")
        assertParseError("%0 = input {name=\"x\"} : f32[] @ G.swift:1\n", line: 1, "expected 'graph NAME {'")
        assertParseError(head + "  %1 = reduce_sum(%0) {axes=[0,1.5]} : f32[] @ G.swift:2\n}\n", line: 3, "'1.5'", "only ints")
        assertParseError(head + "  %1 = leaky_relu(%0) {alpha=fast} : f32[2,3] @ G.swift:2\n}\n", line: 3, "bad attribute value 'fast'")
        assertParseError(head + "  %1 = leaky_relu(%0) {alpha=1.0, alpha=2.0} : f32[2,3] @ G.swift:2\n}\n", line: 3, "'alpha' is given twice")
        assertParseError(head + "  %1 = input {name=\"y} : f32[2,3] @ G.swift:2\n}\n", line: 3, "unterminated string")
        assertParseError(head + "  %0 = relu(%0) : f32[2,3] @ G.swift:2\n}\n", line: 3, "'%0' is already defined on line 2")
        assertParseError(head + "  %1 = relu(%0) : f32[2,3] @ nowhere\n}\n", line: 3, "malformed location 'nowhere'")
        assertParseError(head + "  %1 = relu(%0) : f32[2,3] @ G.swift:2\n}\n}\n", line: 5, "after the graph's closing '}'")
        assertParseError(head + "  output \"y\" = %0\n  output \"y\" = %0\n}\n", line: 4, "'y' is defined twice")
        assertParseError(head + "  %1 = state {name=\"s\"} : f32[2,3] @ G.swift:2\n  %2 = assign(%1, %0) : f32[2,3] @ G.swift:3\n  %3 = relu(%2) : f32[2,3] @ G.swift:4\n}\n",
                         line: 5, "operand '%2' is an effect")
    }

    // MARK: Verifier

    /// input x, state s, s2 := relu(x) via assign, output y.
    private func smallEffectGraph() throws -> Graph {
        try parseIR("""
        graph small {
          %0 = input {name="x"} : f32[4] @ S.swift:1
          %1 = state {init="zeros", name="s"} : f32[4] @ S.swift:2
          %2 = relu(%0) : f32[4] @ S.swift:3
          %3 = assign(%1, %2) : f32[4] @ S.swift:4
          output "y" = %2
        }
        """)
    }

    private func assertVerifyError(_ g: Graph, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try verify(g), file: file, line: line) { error in
            guard case let SinterError.verify(message) = error else { return XCTFail("wrong error \(error)", file: file, line: line) }
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: line)
            }
        }
    }

    func testVerifierAcceptsGoodGraphs() throws {
        let g = try smallEffectGraph()
        XCTAssertNoThrow(try verify(g))
        XCTAssertNoThrow(try g.verify())
        XCTAssertNoThrow(try g.verifyInDebug())
    }

    func testVerifierCatchesBrokenGraphs() throws {
        let good = try smallEffectGraph()
        let nodes = good.nodes
        func broken(_ edit: (inout [Node], inout [(name: String, node: Int)]) -> Void) -> Graph {
            var newNodes = nodes, newOutputs = good.outputs
            edit(&newNodes, &newOutputs)
            let g = good.copy()
            g.replaceNodes(newNodes, outputs: newOutputs)
            return g
        }
        // A user before its operand.
        assertVerifyError(broken { n, _ in n[2].operands = [3] }, "%2 relu (S.swift:3)", "%3 assign does not precede")
        // A stored type that disagrees with inference.
        assertVerifyError(broken { n, _ in n[2].type = TensorType(.f32, [5]) }, "%2 relu (S.swift:3)", "declared type f32[5]")
        // An effect writing something that is not persistent.
        assertVerifyError(broken { n, _ in n[3].operands = [0, 2] }, "%3 assign (S.swift:4)", "%0 input", "not a param or state")
        // Reading an effect.
        assertVerifyError(broken { n, _ in n.append(Node(op: .neg, operands: [3], attrs: Attributes(), type: n[2].type, location: SourceLocation(file: "S.swift", line: 9))) },
                          "%4 neg (S.swift:9)", "reads %3 assign")
        // Two effects writing one state.
        assertVerifyError(broken { n, _ in n.append(n[3]) }, "%4 assign", "writes %1 state 's', which %3 assign also writes")
        // Duplicate source names.
        assertVerifyError(broken { n, _ in n[1].attrs["name"] = .string("x") }, "%1 state", "'x' is already used by %0 input")
        // Outputs: duplicate name, effect, missing node.
        assertVerifyError(broken { _, o in o.append(("y", 0)) }, "output 'y' is defined twice")
        assertVerifyError(broken { _, o in o = [("z", 3)] }, "output 'z' names %3 assign")
        assertVerifyError(broken { _, o in o = [("z", 42)] }, "%42", "does not exist")
    }

    func testVerifierChecksOptimizerSlots() throws {
        let text = """
        graph opt {
          %0 = param {init="zeros", name="w"} : f32[3]
          %1 = state {init="zeros", name="m"} : f32[3]
          %2 = input {name="v_not_state"} : f32[3]
          %3 = state {init="zeros", name="t"} : i32[]
          %4 = input {name="g"} : f32[3]
          %5 = adam_update(%0, %1, %2, %3, %4) {beta1=0.9, lr=0.001} : f32[3] @ O.swift:6
        }
        """
        // Parsing only type-checks, so the broken slot is the verifier's to find.
        let g = try parseIR(text)
        assertVerifyError(g, "%5 adam_update (O.swift:6)", "writes %2 input")
        // The counter and gradient are read, not written, so they need not be state.
        let fixed = try parseIR(text.replacingOccurrences(of: "input {name=\"v_not_state\"}", with: "state {name=\"v\"}"))
        XCTAssertNoThrow(try verify(fixed))
        // The same slot twice is a double write within one effect.
        let twice = try parseIR(text.replacingOccurrences(of: "(%0, %1, %2,", with: "(%0, %1, %1,"))
        assertVerifyError(twice, "writes %1 state 'm' twice")
    }

    /// The example in Docs/ir.md is pasted from a real print; keep it parseable and exact.
    func testDocsExampleRoundTrips() throws {
        let markdown = try String(contentsOf: try Fixtures.file("Docs/ir.md"), encoding: .utf8)
        guard let start = markdown.range(of: "```sir\n"), let end = markdown.range(of: "```", range: start.upperBound..<markdown.endIndex) else {
            return XCTFail("no ```sir block in Docs/ir.md")
        }
        let example = String(markdown[start.upperBound..<end.lowerBound])
        let g = try parseIR(example, file: "Docs/ir.md")
        XCTAssertEqual(g.text, example)
        XCTAssertNoThrow(try verify(g))
    }
}

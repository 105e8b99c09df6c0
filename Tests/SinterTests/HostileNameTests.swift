import Foundation
import SinterCodegen
import SinterDSL
import SinterIO
import SinterIR
import SinterRuntime
import XCTest

/// Issue 7, item 2: no text from an IR file, a safetensors file or user code may become C code.
/// Hostile names go through every path that carries a name (IR text tensor names, output names,
/// attribute strings, source locations; DSL graph, input and layer names; safetensors tensor
/// names) and the generated C must differ from the benign version only inside comments, compile,
/// run to the same bits, and leave no trace of the payload's side effect.
final class HostileNameTests: XCTestCase {
    var tempDir: URL!
    var marker: String { tempDir.appendingPathComponent("PWNED").path }

    override func setUpWithError() throws {
        tempDir = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tempDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tempDir)
    }

    /// Names an attacker would try. The first ends a comment and defines a constructor that runs
    /// when the library is loaded (the bug of issue 7); the others try the other ways out of a
    /// comment or string (newlines, splices, trigraphs, NUL, format directives, non-ASCII, size).
    var hostileNames: [String] {
        [
            "*/ __attribute__((constructor)) static void pwn(void) { system(\"touch \(marker)\"); } /*",
            "*/ int x = system(\"touch PWNED\"); /*",
            "a\nb */ int injected; /* c",
            "trailing backslash \\",
            "quote \" and \\\" and '",
            "*??/\n/ trigraph splice ??= ??( ??) ??< ??>",
            "nul\u{0}inside */",
            "%s%n%x%%",
            "größe→😀 \u{202E}rtl \u{1B}[2J",
            "// line comment */ /* nested /*",
            "\r\n\t\u{7F}\u{85}\u{2028}",
            String(repeating: "*/", count: 5000),
        ]
    }

    // MARK: - The escaping functions

    func testCommentTextCannotCloseOrSpliceAComment() {
        for name in hostileNames + ["/", "*", "/*", "*/", "**//", "a/", "*a"] {
            let text = CText.comment(name)
            let wrapped = "/* " + text + " */"
            XCTAssertFalse(text.contains("*/"), "\(name.debugDescription) -> \(text)")
            XCTAssertFalse(text.contains("/*"), "\(name.debugDescription) -> \(text)")
            XCTAssertFalse(text.contains("??"), "\(name.debugDescription) -> \(text)")
            XCTAssertFalse(text.contains("\\"), "\(name.debugDescription) -> \(text)")
            XCTAssertTrue(text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "\(name.debugDescription) -> \(text)")
            XCTAssertLessThanOrEqual(text.utf8.count, CText.commentLimit + 3)
            XCTAssertEqual(wrapped.components(separatedBy: "*/").count, 2, wrapped)
        }
        // Ordinary names and locations stay readable.
        XCTAssertEqual(CText.comment("Graphs/Autoencoder.swift"), "Graphs/Autoencoder.swift")
        XCTAssertEqual(CText.comment("enc1.kernel"), "enc1.kernel")
    }

    /// Every hostile name as a C string literal reads back as exactly its UTF-8 bytes.
    func testStringLiteralRoundTripsThroughTheCCompiler() throws {
        var source = "#include <stdio.h>\nint main(void) {\n"
        for (i, name) in hostileNames.enumerated() {
            source += "    { static const char s\(i)[] = \(CText.stringLiteral(name));\n"
            source += "      for (size_t j = 0; j + 1 < sizeof s\(i); j++) printf(\"%02x\", (unsigned char)s\(i)[j]);\n"
            source += "      printf(\"\\n\"); }\n"
        }
        source += "    return 0;\n}\n"
        try CText.checkSource(source, graph: "literal test")
        let file = tempDir.appendingPathComponent("literal.c").path
        let binary = tempDir.appendingPathComponent("literal").path
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        let compile = try Command.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-trigraphs", "-o", binary, file])
        XCTAssertEqual(compile.status, 0, compile.output)
        let output = try Command.run([binary])
        let lines = output.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, name) in hostileNames.enumerated() {
            XCTAssertEqual(lines[i], name.utf8.map { String(format: "%02x", $0) }.joined(), name.debugDescription)
        }
    }

    func testSourceCheckRefusesWhatALeakWouldBring() {
        for bad in ["/* a\u{0}b */\n", "/* größe */\n", "/* ??/\n", "x \\\n", "/* \r */\n"] {
            XCTAssertThrowsError(try CText.checkSource(bad, graph: "g"), bad.debugDescription) { error in
                guard case let SinterError.verify(message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("bypassed CText"), message)
            }
        }
        XCTAssertNoThrow(try CText.checkSource("/* ok */\nint x;\n", graph: "g"))
    }

    // MARK: - IR text

    /// x * w + 1 -> y, with a pad and a reduction so unfused and fused kernels both describe
    /// nodes carrying the names. `tag` is substituted into every name-carrying slot.
    func irText(_ tag: String) -> String {
        let location = tag.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return """
            graph g {
              %0 = input {name=\(quoted(tag + ".x"))} : f32[2,3] @ \(location):1
              %1 = param {init="ones", name=\(quoted(tag + ".w")), note=\(quoted(tag))} : f32[3] @ \(location):2
              %2 = constant {value=1.0} : f32[] @ \(location):3
              %3 = mul(%0, %1) {note=\(quoted(tag))} : f32[2,3] @ \(location):4
              %4 = add(%3, %2) : f32[2,3] @ \(location):5
              %5 = pad(%4) {mode="constant", note=\(quoted(tag)), pads=[0,1,1,0]} : f32[3,4] @ \(location):6
              %6 = reduce_sum(%5) {axes=[1], keepdims=false} : f32[3] @ \(location):7
              output \(quoted(tag + ".y")) = %5
              output \(quoted(tag + ".s")) = %6
            }
            """
    }

    func testHostileNamesInIRTextDoNotReachTheCode() throws {
        let benign = try parseIR(irText("plain"))
        for fuse in [true, false] {
            let options = CodegenOptions(fuse: fuse)
            let reference = try emitC(benign, options: options)
            let expected = try compileAndRun(reference, tag: "plain")
            for name in hostileNames {
                let graph = try parseIR(irText(name))
                let program = try emitC(graph, options: options)
                assertSameCode(program.source, reference.source, name: name)
                let got = try compileAndRun(program, tag: name)
                XCTAssertEqual(got.y, expected.y, name.debugDescription)
                XCTAssertEqual(got.s, expected.s, name.debugDescription)
                XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "payload ran for \(name.debugDescription)")
            }
        }
    }

    // MARK: - DSL

    func testHostileNamesInTheDSLDoNotReachTheCode() throws {
        func build(_ tag: String) throws -> Graph {
            let builder = GraphBuilder(name: tag)
            let x = builder.input(tag + ".x", [2, 3], file: tag, line: 1)
            let dense = Dense(4, activation: .relu, name: tag)
            let y = dense(x, file: tag, line: 2)
            let graph = try builder.finish()
            try graph.addOutput(tag + ".y", y.id)
            return graph
        }
        let reference = try emitC(try build("plain"))
        let expected = try compileAndRun(reference, tag: "plain", outputs: ["y"])
        for name in hostileNames {
            let program = try emitC(try build(name))
            assertSameCode(program.source, reference.source, name: name)
            let got = try compileAndRun(program, tag: name, outputs: ["y"])
            XCTAssertEqual(got.y, expected.y, name.debugDescription)
            XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "payload ran for \(name.debugDescription)")
        }
    }

    // MARK: - Safetensors names

    /// Tensor names from a safetensors file are matched in Swift and never reach C: a hostile
    /// name feeds its input, and unrelated hostile names are refused in a one-line message.
    func testHostileSafetensorsNamesFeedInputsByName() throws {
        let name = hostileNames[0]
        let graph = try parseIR(irText(name))
        let executable = try Runtime.compile(try emitC(graph), cache: try cache())
        var feeds = inputs(tag: name)
        for (i, other) in hostileNames.enumerated() { feeds[other + ".extra\(i)"] = HostTensor(shape: [1], floats: [Float(i)]) }
        let file = tempDir.appendingPathComponent("feeds.safetensors").path
        try Safetensors.write(feeds, to: file)
        let read = try Safetensors.read(path: file)
        XCTAssertEqual(Set(read.keys), Set(feeds.keys))
        try executable.loadPersistent(read, requireAll: true)
        XCTAssertThrowsError(try executable.run(read)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("unknown inputs"), text)
            XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 }, "a control byte reached the message: \(text)")
        }
        let inputs = Set(executable.inputNames)
        let results = try executable.run(read.filter { inputs.contains($0.key) })
        XCTAssertEqual(results[name + ".y"]?.floats.count, 12)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    // MARK: - Helpers

    func cache() throws -> KernelCache {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SINTER_") }
        env["XDG_CACHE_HOME"] = tempDir.appendingPathComponent("cache").path
        env["SINTER_CFLAGS"] = "-O0"  // many small compiles; the code, not its speed, is under test
        return try KernelCache(environment: env)
    }

    func inputs(tag: String) -> [String: HostTensor] {
        [tag + ".x": HostTensor(shape: [2, 3], floats: [1, -2, 3, 4.5, 5, -6]),
         tag + ".w": HostTensor(shape: [3], floats: [0.5, 2, -1])]
    }

    func compileAndRun(_ program: CProgram, tag: String, outputs: [String] = ["y", "s"]) throws -> (y: [Float], s: [Float]) {
        let executable = try Runtime.compile(program, cache: try cache())
        try executable.initializeParameters(seed: 7)
        var feeds = inputs(tag: tag)
        // The DSL graph's params are initialised by seed and name, which differ; feed fixed ones.
        for name in executable.persistentNames {
            let type = program.persistent.first { $0.name == name }!.type
            feeds[name] = HostTensor(shape: type.shape, floats: (0..<type.count).map { Float($0 % 5) - 1.5 })
        }
        try executable.loadPersistent(feeds, requireAll: true)
        let inputs = Set(executable.inputNames)
        let results = try executable.run(feeds.filter { inputs.contains($0.key) })
        return (results[tag + "." + outputs[0]]?.floats ?? [], outputs.count > 1 ? results[tag + "." + outputs[1]]?.floats ?? [] : [])
    }

    /// The two C units are the same code: equal once comments are removed. Also the raw name is
    /// nowhere in the text, and the unit passes the source check.
    func assertSameCode(_ source: String, _ reference: String, name: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(stripComments(source), stripComments(reference), "code differs for \(name.debugDescription)", file: file, line: line)
        if name.contains(where: { "*/\\?\n\0".contains($0) }) || name.unicodeScalars.contains(where: { $0.value >= 0x7F }) {
            XCTAssertFalse(source.contains(name), "raw name in the C for \(name.debugDescription)", file: file, line: line)
        }
        XCTAssertFalse(source.contains("*/ __attribute__"), file: file, line: line)
        XCTAssertNoThrow(try CText.checkSource(source, graph: "g"), file: file, line: line)
    }

    /// C with `/* */` and `//` comments removed (string literals kept), as a C lexer sees it
    /// after the source check has ruled out trigraphs and splices.
    func stripComments(_ source: String) -> String {
        let chars = Array(source.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < chars.count {
            let c = chars[i], next = i + 1 < chars.count ? chars[i + 1] : nil
            if c == "/" && next == "*" {
                i += 2
                while i + 1 < chars.count && !(chars[i] == "*" && chars[i + 1] == "/") { i += 1 }
                i += 2
                out.append(" ")
            } else if c == "/" && next == "/" {
                while i < chars.count && chars[i] != "\n" { i += 1 }
            } else if c == "\"" {
                out.append(c)
                i += 1
                while i < chars.count && chars[i] != "\"" {
                    if chars[i] == "\\" { out.append(chars[i]); i += 1 }
                    if i < chars.count { out.append(chars[i]); i += 1 }
                }
                if i < chars.count { out.append(chars[i]); i += 1 }
            } else {
                out.append(c)
                i += 1
            }
        }
        return String(out)
    }

    func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

}

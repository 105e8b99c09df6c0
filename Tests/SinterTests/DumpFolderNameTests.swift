import Foundation
import Sinter
import SinterIR
import XCTest

/// `SINTER_DUMP=DIR` writes a folder named after the graph. The name comes from the IR file, so it
/// must stay one harmless path component inside DIR.
final class DumpFolderNameTests: XCTestCase {
    func testHostileGraphNamesBecomeOnePathComponent() {
        XCTAssertEqual(CompilationDumper.folderName("autoencoder_train"), "autoencoder_train")
        XCTAssertEqual(CompilationDumper.folderName("../../etc/x"), "______etc_x")
        XCTAssertEqual(CompilationDumper.folderName(""), "graph")
        XCTAssertEqual(CompilationDumper.folderName("a\nb\u{1b}[31m"), "a_b__31m")
        XCTAssertEqual(CompilationDumper.folderName(String(repeating: "x", count: 10_000)).count, 64)
    }

    func testDumpOfAGraphNamedWithDotsStaysInsideTheDumpFolder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dump-name-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inside = "\(root)/dumps"
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
        var graph = try parseIR("""
            graph g {
              %0 = input {name="x"} : f32[2] @ t:1
              %1 = add(%0, %0) : f32[2] @ t:2
              output "y" = %1
            }
            """)
        graph.name = "../escaped"  // the DSL takes any name (traceStep(name:))
        var options = CompileOptions()
        options.dumpDirectory = inside
        _ = try compileGraph(graph, options: options)
        let written = try FileManager.default.contentsOfDirectory(atPath: inside)
        XCTAssertEqual(written.count, 1, "\(written)")
        XCTAssertTrue(written.first?.hasPrefix("___escaped-") ?? false, "\(written)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), ["dumps"])
    }
}

import Foundation
import Sinter
import SinterIR
import XCTest

/// Run-time errors name the tensors involved, and those names can come from a file (the keys of a
/// safetensors file given to `sinter run`): the message stays one readable line.
final class RuntimeMessageTests: XCTestCase {
    func testNamesFromAFileAreCutAndEscapedInRunErrors() throws {
        let graph = try parseIR("""
            graph g {
              %0 = input {name="x"} : f32[2] @ t:1
              %1 = add(%0, %0) : f32[2] @ t:2
              output "y" = %1
            }
            """)
        let executable = try compileGraph(graph, options: CompileOptions())
        let hostile = "\u{1b}[2J" + String(repeating: "n", count: 100_000) + "\n"
        var feeds: [String: HostTensor] = [hostile: HostTensor(shape: [2], floats: [1, 2])]
        for index in 0..<50 { feeds["extra\(index)"] = HostTensor(shape: [1], floats: [0]) }
        XCTAssertThrowsError(try executable.run(feeds)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("unknown inputs '"), text)
            XCTAssertTrue(text.contains("and 46 more; the program takes: 'x' (f32[2])"), text)
            XCTAssertLessThan(text.count, 2_000, "a 100 KB name reached the message")
            XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 }, "a control byte reached the message")
        }
    }
}

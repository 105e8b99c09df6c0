import Foundation
import Sinter
import XCTest

/// `SINTER_MAX_BYTES` reaches the memory guard through `CompileOptions.fromEnvironment` (the
/// only place it is read); a value that is not a byte count is refused, not ignored.
final class MemoryLimitOptionTests: XCTestCase {
    func graph() throws -> Graph {
        try parseIR("""
            graph limit {
              %0 = input {name="x"} : f32[1024] @ G.swift:1
              %1 = relu(%0) : f32[1024] @ G.swift:2
              output "y" = %1
            }
            """)
    }

    func testLimitFromTheEnvironment() throws {
        XCTAssertEqual(CompileOptions.fromEnvironment(["SINTER_MAX_BYTES": "64M"]).memoryLimit, 64 << 20)
        XCTAssertNil(CompileOptions.fromEnvironment([:]).memoryLimit)
        XCTAssertThrowsError(try compileGraph(try graph(), options: .fromEnvironment(["SINTER_MAX_BYTES": "1K"]))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("the graph needs") && message.contains("I/O 8192") && message.contains("is 1024 bytes"), message)
        }
        XCTAssertThrowsError(try compileGraph(try graph(), options: .fromEnvironment(["SINTER_MAX_BYTES": "lots"]))) { error in
            XCTAssertTrue("\(error)".contains("SINTER_MAX_BYTES='lots' is not a byte count"), "\(error)")
        }
    }
}

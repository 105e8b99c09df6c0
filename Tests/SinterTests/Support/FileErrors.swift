import SinterIR
import XCTest

extension XCTestCase {
    /// Asserts that `body` throws a `SinterError.file` naming `path` whose message holds every
    /// fragment.
    func assertFileError(_ body: @autoclosure () throws -> Any, path: String, _ fragments: String..., line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard case let SinterError.file(errorPath, message)? = error as? SinterError else {
                return XCTFail("unexpected error \(error)", line: line)
            }
            XCTAssertEqual(errorPath, path, line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", line: line)
            }
        }
    }
}

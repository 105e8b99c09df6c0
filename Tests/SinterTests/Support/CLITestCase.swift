import Foundation
import XCTest

/// Base of the tests that run the `sinter` binary: a private folder and kernel cache per test,
/// and the one check of a refused command line (non-zero exit, every fragment in the first
/// line of stderr, no hang, no crash, no Foundation error dump).
class CLITestCase: XCTestCase {
    var directory: URL!
    /// Names the temporary folder (for a reader of /tmp).
    class var folderPrefix: String { "cli" }
    /// How long one refused command may take.
    class var refusalTimeout: TimeInterval { 60 }

    override func setUpWithError() throws {
        directory = try SinterProcess.temporaryDirectory(Self.folderPrefix)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func sinter(_ arguments: [String], timeout: TimeInterval = 120) throws -> SinterProcess.Result {
        try SinterProcess.run(arguments, environment: ["XDG_CACHE_HOME": path("cache")], in: directory, timeout: timeout)
    }

    /// Runs a command that must be refused; returns its result for further checks.
    @discardableResult
    func assertRefusedInOneLine(_ arguments: [String], _ fragments: [String],
                                file: StaticString = #filePath, line: UInt = #line) throws -> SinterProcess.Result {
        let result = try sinter(arguments, timeout: Self.refusalTimeout)
        let command = arguments.joined(separator: " ")
        XCTAssertFalse(result.timedOut, "\(command) hung", file: file, line: line)
        XCTAssertNotEqual(result.status, 0, "\(command) succeeded", file: file, line: line)
        let first = result.err.split(separator: "\n").first.map(String.init) ?? ""
        for fragment in fragments {
            XCTAssert(first.contains(fragment), "\(command): '\(fragment)' not in the first line of:\n\(result.err)", file: file, line: line)
        }
        for dump in ["Error Domain", "NSCocoaErrorDomain", "UserInfo", "Fatal error", "crashed"] {
            XCTAssertFalse(result.err.contains(dump), "\(command): \(result.err)", file: file, line: line)
        }
        return result
    }
}

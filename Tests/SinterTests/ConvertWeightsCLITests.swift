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

    func testBadPathsAreNamedInOneLine() throws {
        let directory = try SinterProcess.temporaryDirectory("convert-paths")
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = directory.appendingPathComponent("folder").path, fifo = directory.appendingPathComponent("fifo").path
        let missing = directory.appendingPathComponent("missing.whl").path, good = directory.appendingPathComponent("w.safetensors").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        try Safetensors.write(["x": HostTensor(shape: [1], floats: [1])], to: good)
        func assertFails(_ arguments: [String], _ fragments: [String], line: UInt = #line) throws {
            let run = try SinterProcess.run(["convert-weights"] + arguments, in: directory, timeout: 60)
            XCTAssertFalse(run.timedOut, "hung", line: line)
            XCTAssertNotEqual(run.status, 0, line: line)
            let first = run.err.split(separator: "\n").first.map(String.init) ?? ""
            for fragment in fragments { XCTAssertTrue(first.contains(fragment), "'\(fragment)' not in: \(run.err)", line: line) }
            XCTAssertFalse(run.out.contains("wrote"), run.out, line: line)
        }
        for (bad, kind) in [(folder, "is a directory"), (fifo, "FIFO"), ("/dev/null", "character device"), (missing, "no such file")] {
            try assertFails([bad, "--model", "vgg19", "--out", directory.appendingPathComponent("o.safetensors").path], [bad, "SOURCE", kind])
        }
        for (bad, kind) in [(folder, "is a directory"), (fifo, "FIFO"), ("/dev/null", "character device")] {
            try assertFails([good, "--model", "vgg19", "--out", bad], [bad, "--out", kind])
        }
        // A readable file in no known layout: named, with what it holds.
        try assertFails([good, "--model", "vgg19", "--out", directory.appendingPathComponent("o.safetensors").path],
                        [good, "has none of the vgg19 parameters in a known layout", "it has 1 tensors: x"])
    }
}

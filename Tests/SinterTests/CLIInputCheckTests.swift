import Foundation
import Sinter
import SinterModels
import XCTest

/// `sinter` refuses bad command lines in one clear line: every numeric option is checked at
/// parse time (before any model is traced or compiled), and every file or folder option is
/// checked before it is opened (a FIFO would hang, a directory or a device gives a Foundation
/// dump, a path under a regular file cannot be created).
final class CLIInputCheckTests: CLITestCase {
    override class var folderPrefix: String { "cli-input" }

    /// Refused in one line, and nothing claimed as written.
    func assertOneLineError(_ arguments: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try assertRefusedInOneLine(arguments, fragments, file: file, line: line)
        XCTAssertFalse(result.out.contains("wrote"), "\(arguments.joined(separator: " ")) claims to have written something: \(result.out)", file: file, line: line)
    }

    func testEveryNumericOptionIsCheckedAtParseTime() throws {
        let train = ["train", "dense-autoencoder", "--out", path("out")]
        let cases: [([String], [String])] = [
            (train + ["--batch", "0"], ["--batch", "got 0"]),
            (train + ["--batch", "-3"], ["--batch", "got -3"]),
            (train + ["--batch", "1000000000"], ["--batch", "between 1 and 65536", "got 1000000000"]),
            (train + ["--steps", "0"], ["--steps", "got 0"]),
            (train + ["--steps", "-1"], ["--steps", "got -1"]),
            (train + ["--epochs", "0"], ["--epochs", "got 0"]),
            (train + ["--epochs", "-2"], ["--epochs", "got -2"]),
            (train + ["--train-limit", "-1"], ["--train-limit", "got -1"]),
            (train + ["--train-limit", "0"], ["--train-limit", "got 0"]),
            (train + ["--test-limit", "-1"], ["--test-limit", "got -1"]),
            (train + ["--lr", "nan"], ["--lr", "finite", "got nan"]),
            (train + ["--lr", "inf"], ["--lr", "got inf"]),
            (train + ["--lr", "-0.1"], ["--lr", "greater than 0", "got -0.1"]),
            (train + ["--lr", "0"], ["--lr", "got 0.0"]),
            (train + ["--seed", "-1"], ["'-1'", "--seed"]),
            (["bench", "dense-autoencoder", "--batch", "0"], ["--batch", "got 0"]),
            (["bench", "dense-autoencoder", "--steps", "0"], ["--steps", "got 0"]),
            (["bench", "dense-autoencoder", "--warmup", "-1"], ["--warmup", "got -1"]),
            (["bench", "dense-autoencoder", "--top", "-1"], ["--top", "got -1"]),
            (["bench", "dense-autoencoder", "--format", "xml"], ["--format", "text or json", "'xml'"]),
            (["dump", "dense-autoencoder", "--batch", "0"], ["--batch", "got 0"]),
            (["dump", "dense-autoencoder", "--batch", "1000000000"], ["--batch", "got 1000000000"]),
            (["dump", "dense-autoencoder", "--format", "svg"], ["--format", "'svg'"]),
            (["sample", "vae", "--checkpoint", "c", "--count", "0"], ["--count", "got 0"]),
            (["sample", "vae", "--checkpoint", "c", "--count", "-1"], ["--count", "got -1"]),
            (["sample", "vae", "--checkpoint", "c", "--count", "1000000000"], ["--count", "between 1 and 4096"]),
            (["export", "vae", "--checkpoint", "c", "--out", "o", "--layout", "onnx"], ["--layout", "'onnx'"]),
            (["import", "vae", "--weights", "w", "--out", "o", "--layout", "onnx"], ["--layout", "'onnx'"]),
        ]
        for (arguments, fragments) in cases { try assertOneLineError(arguments, fragments) }
        // --steps 0 claims nothing and writes nothing.
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out/checkpoint.sinter")))
    }

    /// The width divisor is checked against the model's own layer widths.
    func testWidthDivisorThatEmptiesALayerNamesIt() throws {
        let eval = ["eval", "autoencoder", "--weights", "w", "--inputs", "i", "--out", "o", "--width-divisor"]
        try assertOneLineError(eval + ["0"], ["--width-divisor", "got 0"])
        try assertOneLineError(eval + ["-4"], ["--width-divisor", "got -4"])
        try assertOneLineError(eval + ["100"], ["--width-divisor 100", "layer 'enc1'", "0 channels", "64 / 100", "largest divisor autoencoder takes is 64"])
        try assertOneLineError(["eval", "autoencoder", "--weights", "w", "--inputs", "i", "--out", "o", "--bn", "maybe"], ["--bn", "'maybe'"])
        // 64 divides down to 1 channel: accepted (the command then fails on the missing files, not the divisor).
        try assertOneLineError(eval + ["64"], ["--weights", "no such file"])
    }

    /// `sinter sample` checks the checkpoint's tensors against the sampler before loading them
    /// (an f32 NaN read into an i32 counter would trap in the conversion).
    func testSampleRefusesACheckpointWithBadWeights() throws {
        let graph = try Samplers.make("gan", count: 1).graph
        var tensors: [String: HostTensor] = [:]
        for id in graph.persistent { if let name = graph[id].sourceName { tensors[name] = HostTensor(zeros: graph[id].type) } }
        let name = try XCTUnwrap(tensors.keys.sorted().first { tensors[$0]!.storage == .f32 && tensors[$0]!.count > 1 })
        var values = tensors[name]!.floats
        values[1] = .nan
        tensors[name] = HostTensor(shape: tensors[name]!.shape, floats: values)
        let checkpoint = path("nan.sinter")
        try Checkpoint(model: "gan", step: 0, tensors: tensors).write(to: checkpoint)
        try assertOneLineError(["sample", "gan", "--checkpoint", checkpoint, "--count", "1", "--out", path("s.png")],
                               [checkpoint, name, "element 1 is nan"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("s.png")))
    }

    func testBadPathsGetOneLineErrorsNamingThem() throws {
        let folder = path("folder"), fifo = path("fifo"), notes = path("notes.txt"), missing = path("missing")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        try "notes\n".write(toFile: notes, atomically: true, encoding: .utf8)
        let binary = path("binary.ir")
        try Data([0x67, 0x72, 0xFF, 0xFE, 0x00, 0x80]).write(to: URL(fileURLWithPath: binary))
        let ir = path("g.ir")
        try "graph g {\n  %0 = input {name=\"x\"} : f32[2]\n  %1 = exp(%0) : f32[2]\n  output \"y\" = %1\n}\n"
            .write(toFile: ir, atomically: true, encoding: .utf8)
        let inputs = path("in.safetensors")
        try Safetensors.write(["x": HostTensor(shape: [2], floats: [0, 1])], to: inputs)
        let underFile = notes + "/sub", out = path("o.safetensors")

        // Files read.
        for bad in [folder, fifo, "/dev/null", missing, underFile] {
            let kind = bad == folder ? "is a directory" : bad == fifo ? "FIFO" : bad == "/dev/null" ? "character device"
                : bad == missing ? "no such file" : "notes.txt, which is a file, not a folder"
            try assertOneLineError(["sample", "vae", "--checkpoint", bad], [bad, "--checkpoint", kind])
            try assertOneLineError(["export", "vae", "--checkpoint", bad, "--out", out], [bad, "--checkpoint", kind])
            try assertOneLineError(["import", "vae", "--weights", bad, "--out", out], [bad, "--weights", kind])
            try assertOneLineError(["eval", "dense-autoencoder", "--weights", bad, "--inputs", inputs, "--out", out], [bad, "--weights", kind])
            try assertOneLineError(["eval", "dense-autoencoder", "--weights", inputs, "--inputs", bad, "--out", out], [bad, "--inputs", kind])
            try assertOneLineError(["run", bad, "--inputs", inputs, "--out", out], [bad, "FILE", kind])
            try assertOneLineError(["run", ir, "--inputs", bad, "--out", out], [bad, "--inputs", kind])
            try assertOneLineError(["run", ir, "--inputs", inputs, "--cotangents", bad, "--out", out], [bad, "--cotangents", kind])
            try assertOneLineError(["train", "dense-autoencoder", "--resume", bad, "--out", path("train")], [bad, "--resume", kind])
        }
        try assertOneLineError(["run", binary, "--inputs", inputs, "--out", out], [binary, "not UTF-8", "offset 2"])
        // A checkpoint that is not one (any bytes, even non-UTF-8) is named, not dumped.
        try assertOneLineError(["sample", "vae", "--checkpoint", binary], [binary, "not a Sinter checkpoint"])
        // Folders read.
        for (bad, kind) in [(notes, "regular file, not a directory"), (fifo, "FIFO"), (missing, "no such directory")] {
            try assertOneLineError(["train", "dense-autoencoder", "--data", bad, "--out", path("train")], [bad, "--data", kind])
        }
        // Files written: nothing but a regular file may be replaced, and the folder must take a new file.
        for (bad, kind) in [(folder, "is a directory"), ("/dev/null", "character device"), (fifo, "FIFO"),
                            (notes + "/o.safetensors", "notes.txt, which is a file"),
                            ("/proc/sinter-test.safetensors", "cannot write in /proc"),
                            (path("no/such/o.safetensors"), "does not exist")] {
            try assertOneLineError(["run", ir, "--inputs", inputs, "--out", bad], [bad, "--out", kind])
            try assertOneLineError(["export", "vae", "--checkpoint", notes, "--out", bad], [bad, "--out", kind])
            try assertOneLineError(["import", "vae", "--weights", notes, "--out", bad], [bad, "--out", kind])
            try assertOneLineError(["eval", "dense-autoencoder", "--weights", inputs, "--inputs", inputs, "--out", bad], [bad, "--out", kind])
        }
        try assertOneLineError(["dump", "dense-autoencoder", "--memory", "--svg", folder], [folder, "--svg", "is a directory"])
        try assertOneLineError(["sample", "vae", "--checkpoint", notes, "--out", notes + "/s.png"], ["--out", "notes.txt, which is a file"])
        // Folders written.
        for (bad, kind) in [(notes, "regular file; expected a folder"), (underFile, "notes.txt, which is a file"),
                            ("/dev/null", "character device"), ("/proc/sinter-test", "cannot write in /proc")] {
            try assertOneLineError(["train", "dense-autoencoder", "--out", bad], [bad, "--out", kind])
        }
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "notes\n", "a refused command changed a file")
    }
}

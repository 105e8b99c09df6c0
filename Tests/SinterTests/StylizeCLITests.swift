import Foundation
import Sinter
import SinterModels
import XCTest

/// `sinter stylize` end to end on random VGG-19 / 8 weights (the output, the loss log, frames and
/// the final line), its option and path checks, and `sinter eval nst` / `sinter bench nst` on the
/// command line.
final class StylizeCLITests: CLITestCase {
    override class var folderPrefix: String { "stylize" }

    var contentImage: String { get throws { try Fixtures.file("Tests/SinterTests/Data/content-small.png").path } }
    var styleImage: String { get throws { try Fixtures.file("Tests/SinterTests/Data/style-small.png").path } }

    /// Refused in one line, and nothing written.
    func assertRefused(_ arguments: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try assertRefusedInOneLine(arguments, fragments, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.png")), "\(arguments.joined(separator: " ")) wrote out.png", file: file, line: line)
    }

    func testEveryStylizeOptionIsChecked() throws {
        let base = ["stylize", "--content", try contentImage, "--style", try styleImage, "--weights", path("w.safetensors"),
                    "--out", path("out.png")]
        let cases: [([String], [String])] = [
            (["--size", "8"], ["--size", "between 16 and 8192", "got 8"]),
            (["--size", "100000"], ["--size", "got 100000"]),
            (["--steps", "0"], ["--steps", "got 0"]),
            (["--frames-every", "0"], ["--frames-every", "got 0"]),
            (["--style-weight", "-1"], ["--style-weight", "0 or more", "got -1.0"]),
            (["--content-weight", "nan"], ["--content-weight", "finite", "got nan"]),
            (["--tv-weight", "inf"], ["--tv-weight", "got inf"]),
            (["--lr", "0"], ["--lr", "greater than 0"]),
            (["--width-divisor", "0"], ["--width-divisor", "got 0"]),
            // Paths, checked before anything is read: the weights file does not exist.
            ([], ["--weights", "no such file", path("w.safetensors")]),
        ]
        for (extra, fragments) in cases { try assertRefused(base + extra, fragments) }
        try assertRefused(["stylize", "--content", path("missing.png"), "--style", try styleImage, "--weights", try styleImage,
                           "--out", path("out.png")], ["--content", "no such file"])
        try assertRefused(["stylize", "--content", try contentImage, "--style", try styleImage, "--weights", try styleImage,
                           "--out", path("no/such/folder/out.png")], ["--out", "does not exist"])
        try assertRefused(["bench", "nst", "--batch", "2"], ["--batch must be 1"])
        try assertRefused(["bench", "autoencoder", "--size", "64"], ["--size applies to image models (nst)"])
        try assertRefused(["bench", "nst", "--size", "4"], ["--size", "got 4"])
    }

    /// A broken JPEG (its header only) is refused naming the file and the reason, after the
    /// weights are read: the JPEG decoder, not a refusal of the format.
    func testBrokenJPEGInputIsRefusedWithAClearMessage() throws {
        let weights = path("w.safetensors")
        try Safetensors.write(try GatysStyleTransferTests.randomWeights(), to: weights)
        let jpeg = path("photo.jpg")
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 0x4A, 0x46, 0x49, 0x46]).write(to: URL(fileURLWithPath: jpeg))
        try assertRefused(["stylize", "--content", jpeg, "--style", try styleImage, "--weights", weights, "--out", path("out.png"),
                           "--width-divisor", "8"], [jpeg, "cannot read JPEG", "truncated"])
    }

    /// Three steps at 32x32 on random weights: the picture, two frames, the CSV (header and one
    /// row per step, the first with content 0) and the final line.
    func testStylizeWritesTheImageFramesLogAndFinalLine() throws {
        let weights = path("w.safetensors")
        try Safetensors.write(try GatysStyleTransferTests.randomWeights(), to: weights)
        let result = try sinter(["stylize", "--content", try contentImage, "--style", try styleImage, "--weights", weights,
                                 "--out", path("out.png"), "--size", "32", "--steps", "3", "--width-divisor", "8",
                                 "--log", path("loss.csv"), "--frames-every", "2"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.err)
        let last = result.out.split(separator: "\n").last.map(String.init) ?? ""
        let pattern = #"^final loss [0-9.e+-]+ \(style [0-9.e+-]+, content [0-9.e+-]+, tv [0-9.e+-]+\) after 3 steps$"#
        XCTAssertNotNil(last.range(of: pattern, options: .regularExpression), last)
        XCTAssert(result.err.contains("step 3/3"), result.err)
        let image = try RasterImage.read(path: path("out.png"))
        XCTAssertEqual([image.width, image.height, image.channels], [32, 32, 3])
        XCTAssertNoThrow(try RasterImage.read(path: path("out-step2.png")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out-step1.png")))
        let rows = try String(contentsOfFile: path("loss.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "step,total,style,content,tv")
        XCTAssertEqual(rows.count, 4)
        let first = rows[1].split(separator: ",")
        XCTAssertEqual(first.first, "1")
        XCTAssertEqual(first.count, 5)
        XCTAssertEqual(Double(first[3]), 0, "step 1 starts from the content image")
    }

    /// `sinter eval nst` on a golden file (weights and inputs in one) writes the golden tensors.
    func testEvalNSTOnTheCommandLine() throws {
        let golden = try Fixtures.file("Tests/SinterTests/Golden/model-nst-vgg19-w8.safetensors").path
        let result = try sinter(["eval", "nst", "--weights", golden, "--inputs", golden, "--out", path("o.safetensors"),
                                 "--width-divisor", "8"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.err)
        let written = try Safetensors.read(path: path("o.safetensors"))
        let expected = try Safetensors.read(path: golden)
        for name in ["loss", "style_loss", "content_loss", "tv", "grad.image", "step.image", "content_target", "style_target.block5_conv1"] {
            XCTAssertEqual(written[name]?.shape, expected[name]?.shape, name)
        }
        XCTAssertEqual(written["loss"]!.doubles[0], expected["loss"]!.doubles[0], accuracy: 1)
        try assertRefused(["eval", "nst", "--weights", golden, "--inputs", golden, "--out", path("o.safetensors")],
                          ["--width-divisor 8"])
    }
}

import Foundation
import Sinter
import SinterModels
import XCTest

/// `sinter train style` and `sinter stylize --model` end to end on random VGG-19 / 8 weights:
/// the checkpoint, loss log and pictures of training, stylizing an odd-sized image with each
/// style, and the option and path checks of both commands.
final class FastStyleCLITests: CLITestCase {
    override class var folderPrefix: String { "faststyle" }
    override class var refusalTimeout: TimeInterval { 120 }

    var styleImage: String { get throws { try Fixtures.file("Tests/SinterTests/Data/style-small.png").path } }
    var photos: String { get throws { try Fixtures.directory("Tests/SinterTests/Data").path } }

    func assertRefused(_ arguments: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try assertRefusedInOneLine(arguments, fragments, file: file, line: line)
    }

    /// Two styles, 3 steps of batch 2 on 32x32 crops of a folder of PNG and JPEG photos
    /// (progressive and baseline, one named .JPEG): loss.csv, the checkpoint and a picture; then
    /// stylize a 37x29 image (not a multiple of 4) with style 1: the PNG has the image's
    /// size, and a style index the model lacks is refused.
    func testTrainStyleThenStylizeAnOddSizedImage() throws {
        let weights = path("vgg.safetensors")
        try Safetensors.write(try GatysStyleTransferTests.randomWeights(), to: weights)
        let out = path("run")
        let mixed = path("photos")
        try FileManager.default.createDirectory(atPath: mixed, withIntermediateDirectories: true)
        for (source, name) in [("content-small.png", "a.png"), ("jpeg/progressive-420.jpg", "b.jpg"), ("jpeg/baseline-420.jpg", "c.JPEG")] {
            try FileManager.default.copyItem(atPath: try Fixtures.image(source).path, toPath: "\(mixed)/\(name)")
        }
        let arguments = ["train", "style", "--style", try styleImage, "--style", try Fixtures.file("Tests/SinterTests/Data/content-small.png").path,
                         "--data", mixed, "--weights", weights, "--width-divisor", "8", "--crop", "32",
                         "--crops-per-image", "2", "--style-size", "32", "--batch", "2"]
        let train = try sinter(arguments + ["--steps", "3", "--out", out], timeout: 300)
        XCTAssertEqual(train.status, 0, train.err)
        XCTAssert(train.err.contains("step 3/3"), train.err)
        let csv = try String(contentsOfFile: "\(out)/loss.csv", encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 4, csv)
        XCTAssert(FileManager.default.fileExists(atPath: "\(out)/style-step3.png"))
        let checkpoint = try Checkpoint.read(path: "\(out)/checkpoint.sinter")
        XCTAssertEqual(checkpoint.model, "style")
        XCTAssertEqual(checkpoint.tensors["norms.0.gamma"]?.shape, [2, 4])
        // --resume continues from it (the VGG weights loaded first are replaced by the checkpoint's).
        let resumed = try sinter(arguments + ["--steps", "1", "--resume", "\(out)/checkpoint.sinter", "--out", path("run2")], timeout: 300)
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssert(resumed.err.contains("resumed style at step 3"), resumed.err)
        XCTAssertEqual(try Checkpoint.read(path: path("run2/checkpoint.sinter")).step, 4)

        let odd = path("odd.png")
        try PNGImage.write(path: odd, width: 37, height: 29, channels: 3, pixels: (0..<(37 * 29 * 3)).map { UInt8($0 % 251) })
        let stylized = path("stylized.png")
        let run = try sinter(["stylize", "--model", "\(out)/checkpoint.sinter", "--content", odd, "--style-index", "1", "--out", stylized], timeout: 300)
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssert(run.out.contains("37x29"), run.out)
        let image = try RasterImage.read(path: stylized)
        XCTAssertEqual([image.width, image.height], [37, 29])

        try assertRefused(["stylize", "--model", "\(out)/checkpoint.sinter", "--content", odd, "--style-index", "2", "--out", path("x.png")],
                          ["2 styles", "--style-index 2"])
        // A checkpoint of another model is refused by name.
        try assertRefused(["stylize", "--model", weights, "--content", odd, "--out", path("x.png")], [weights])
    }

    func testEveryTrainStyleAndStylizeModelOptionIsChecked() throws {
        let base = ["train", "style", "--style", try styleImage, "--data", try photos, "--weights", path("missing.safetensors"), "--out", path("run")]
        let cases: [([String], [String])] = [
            (["--crop", "30"], ["--crop must be a multiple of 4", "got 30"]),
            (["--crop", "8"], ["--crop", "between 16 and 4096", "got 8"]),
            (["--crops-per-image", "0"], ["--crops-per-image", "got 0"]),
            (["--style-size", "4"], ["--style-size", "got 4"]),
            (["--style-weight", "-1"], ["--style-weight", "0 or more"]),
            (["--content-weight", "nan"], ["--content-weight", "finite"]),
            (["--tv-weight", "inf"], ["--tv-weight"]),
            (["--width-divisor", "3"], ["--width-divisor must be 1, 2, 4, 8, 16 or 32", "got 3"]),
            (["--lr", "0"], ["--lr", "greater than 0"]),
            ([], ["--weights", "no such file", path("missing.safetensors")]),
        ]
        for (extra, fragments) in cases { try assertRefused(base + extra, fragments) }
        try assertRefused(["train", "style", "--style", path("none.png"), "--data", try photos, "--weights", try styleImage, "--out", path("run")],
                          ["--style", "no such file"])
        try assertRefused(["train", "style", "--style", try styleImage, "--data", path("nofolder"), "--weights", try styleImage, "--out", path("run")],
                          ["--data", path("nofolder")])
        try assertRefused(["train", "style", "--data", try photos, "--weights", try styleImage, "--out", path("run")], ["needs --style"])
        try assertRefused(["train", "style", "--style", try styleImage, "--weights", try styleImage, "--out", path("run")], ["--data DIR"])
        try assertRefused(["train", "autoencoder", "--style", try styleImage, "--out", path("run")], ["--style applies only to `sinter train style`"])

        let content = try Fixtures.file("Tests/SinterTests/Data/content-small.png").path
        try assertRefused(["stylize", "--model", path("ck.sinter"), "--content", content, "--style", try styleImage, "--out", path("x.png")],
                          ["--style is for Gatys"])
        try assertRefused(["stylize", "--model", path("ck.sinter"), "--content", content, "--weights", try styleImage, "--out", path("x.png")],
                          ["--weights is for Gatys"])
        try assertRefused(["stylize", "--content", content, "--style", try styleImage, "--weights", try styleImage, "--style-index", "0",
                           "--out", path("x.png")], ["--style-index applies only with --model"])
        try assertRefused(["stylize", "--content", content, "--weights", try styleImage, "--out", path("x.png")], ["--style S.png is required"])
        try assertRefused(["stylize", "--model", path("ck.sinter"), "--content", content, "--style-index", "-1", "--out", path("x.png")],
                          ["--style-index", "got -1"])
        try assertRefused(["stylize", "--model", path("ck.sinter"), "--content", content, "--out", path("x.png")], ["--model", "no such file"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.png")))
    }
}

import Foundation
import Sinter
import SinterModels
import XCTest

/// Checkpoints and resume: N steps, a checkpoint, N more equals 2N at once, bit for bit (with a
/// partial batch and the data order crossing a pass); broken checkpoints get clear errors.
final class TrainerTests: XCTestCase {
    /// 20 small random "images": batches of 8, 8, then a partial 4 each pass.
    let dataset: ImageDataset = {
        var generator = SplitMix64(seed: 3)
        let pixels = (0..<(20 * 28 * 28)).map { _ in Float(generator.next() % 256) / 255 }
        return ImageDataset(pixels: pixels, count: 20, height: 28, width: 28, channels: 1)
    }()

    func makeTrainer(seed: UInt64 = 5) throws -> Trainer {
        let model = ConvAutoencoder(widthDivisor: 16)
        let family = StepFamily { try autoencoderStep(model, batch: $0, optimizer: Adam()) }
        let data = dataset
        let phase = TrainingPhase(name: "step", family: family) { ["x": data.batch($0)] }
        return try Trainer(model: "autoencoder-w16", phases: [phase], datasetCount: dataset.count, batchSize: 8, seed: seed)
    }

    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sinter-\(UUID().uuidString)-\(name)").path
    }

    func testResumeContinuesBitForBit() throws {
        let straight = try makeTrainer()
        for _ in 0..<8 { try straight.runStep() }

        let first = try makeTrainer()
        for _ in 0..<4 { try first.runStep() }
        let path = temporaryPath("ckpt.sinter")
        try first.checkpoint().write(to: path)

        let resumed = try makeTrainer(seed: 5)
        try resumed.restore(try Checkpoint.read(path: path), path: path)
        XCTAssertEqual(resumed.step, 4)
        for _ in 0..<4 { try resumed.runStep() }

        let expected = straight.checkpoint(), got = resumed.checkpoint()
        XCTAssertEqual(Set(expected.tensors.keys), Set(got.tensors.keys))
        for (name, tensor) in expected.tensors {
            XCTAssertEqual(got.tensors[name], tensor, "\(name) differs after resume")
        }
        XCTAssertEqual(got.step, 8)
        // And the run really trained: weights moved from their initial values.
        XCTAssertNotEqual(try makeTrainer().checkpoint().tensors["enc1.kernel"], got.tensors["enc1.kernel"])
    }

    func testBrokenCheckpointsGetClearErrorsAndLeaveTheFileIntact() throws {
        let trainer = try makeTrainer()
        try trainer.runStep()
        let path = temporaryPath("good.sinter")
        try trainer.checkpoint().write(to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))

        func expectError(_ bytes: Data, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
            let broken = temporaryPath("broken.sinter")
            try? bytes.write(to: URL(fileURLWithPath: broken))
            XCTAssertThrowsError(try Checkpoint.read(path: broken), file: file, line: line) { error in
                XCTAssert("\(error)".contains(fragment) && "\(error)".contains(broken), "\(error)", file: file, line: line)
            }
        }
        expectError(good.prefix(good.count / 2), "truncated")
        var flipped = good
        flipped[flipped.count - 10] ^= 0xFF
        expectError(flipped, "corrupt")
        expectError(Data("not a checkpoint".utf8), "not a Sinter checkpoint")
        var version = good
        version[8] = 9
        expectError(version, "format version 9")

        // Wrong model: a clear error, nothing loaded.
        let other = try makeTrainer()
        var wrongModel = try Checkpoint.read(path: path)
        wrongModel.model = "vae"
        XCTAssertThrowsError(try other.restore(wrongModel, path: path)) { XCTAssert("\($0)".contains("'vae'"), "\($0)") }
        // Wrong shapes (a different width).
        var wrongShape = try Checkpoint.read(path: path)
        wrongShape.tensors["enc1.kernel"] = HostTensor(shape: [3, 3, 1, 5], floats: [Float](repeating: 0, count: 45))
        XCTAssertThrowsError(try other.restore(wrongShape, path: path)) { XCTAssert("\($0)".contains("enc1.kernel"), "\($0)") }

        // The good file is untouched by all of this and still loads.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), good)
        XCTAssertNoThrow(try other.restore(try Checkpoint.read(path: path), path: path))
    }

    /// The image-folder dataset: sorted .png and .jpg files, centre crop, box resize, RGB in [-1, 1].
    func testImageFolderCropsResizesAndScales() throws {
        let directory = temporaryPath("faces")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // 8x6 RGB: the centre 6x6 square is white, the one-pixel columns outside it black.
        var pixels = [UInt8](repeating: 0, count: 8 * 6 * 3)
        for y in 0..<6 { for x in 1..<7 { for c in 0..<3 { pixels[(y * 8 + x) * 3 + c] = 255 } } }
        try PNGImage.write(path: "\(directory)/b.png", width: 8, height: 6, channels: 3, pixels: pixels)
        // 4x4 gray, value 51 everywhere: gray is read as three equal channels.
        try PNGImage.write(path: "\(directory)/a.png", width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 51, count: 16))
        try "not an image".write(toFile: "\(directory)/notes.txt", atomically: true, encoding: .utf8)
        // A 33x22 gray JPEG (any case of extension): its centre 22x22 (from x = 5) in 11x11 boxes.
        try FileManager.default.copyItem(atPath: try Fixtures.image("jpeg/grey.jpg").path, toPath: "\(directory)/c.JPG")
        let grey = try PNM.read(try Fixtures.image("jpeg/grey.int-fancy.pnm"))

        let set = try ImageDataset.imageFolder(directory, size: 2)
        XCTAssertEqual(set.count, 3)
        XCTAssertEqual([set.height, set.width, set.channels], [2, 2, 3])
        let first = Array(set.pixels[0..<12]), second = Array(set.pixels[12..<24])
        XCTAssert(first.allSatisfy { Swift.abs($0 - (51 / 127.5 - 1)) < 1e-6 }, "a.png comes first (sorted) and is scaled to [-1,1]: \(first)")
        XCTAssert(second.allSatisfy { Swift.abs($0 - 1) < 1e-6 }, "the centre crop of b.png is all white: \(second)")
        for (i, value) in set.pixels[24..<36].enumerated() {
            let bx = i / 3 % 2, by = i / 6
            var sum = 0
            for y in (by * 11)..<(by * 11 + 11) { for x in (5 + bx * 11)..<(5 + bx * 11 + 11) { sum += Int(grey.pixels[y * 33 + x]) } }
            XCTAssertEqual(value, Float(sum) / 121 / 127.5 - 1, accuracy: 1e-5, "c.JPG, value \(i)")
        }
        XCTAssertThrowsError(try ImageDataset.imageFolder(directory, size: 8)) { XCTAssert("\($0)".contains("a.png"), "\($0)") }
        XCTAssertThrowsError(try ImageDataset.imageFolder(temporaryPath("missing"))) { XCTAssert("\($0)".contains("missing"), "\($0)") }
    }
}

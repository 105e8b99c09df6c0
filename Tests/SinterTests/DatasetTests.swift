import Foundation
import Sinter
import XCTest

/// The datasets `fit` draws from: in-memory arrays, images with labels from IDX files and from
/// class subfolders, mapped feeds; the loader's seeded shuffling and batching.
final class DatasetTests: XCTestCase {
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sinter-dataset-\(UUID().uuidString)-\(name)").path
    }

    /// Rows 0..<count of a tensor whose row i holds (i, 10 i), so a batch shows which rows it has.
    func numbered(_ count: Int) throws -> TensorDataset {
        try TensorDataset(["x": HostTensor(shape: [count, 2], floats: (0..<count).flatMap { [Float($0), Float($0 * 10)] }),
                           "id": HostTensor(shape: [count], int32s: (0..<count).map(Int32.init))])
    }

    /// Each pass is a permutation, reshuffled every pass; the same seed gives the same batches,
    /// another seed others; without shuffling the order is the index order.
    func testShufflingIsSeededAndReproducible() throws {
        let data = try numbered(10)
        func drawn(seed: UInt64, shuffle: Bool = true) -> [[Int]] {
            let loader = data.batches(size: 4, shuffle: shuffle, seed: seed)
            return (0..<9).map { _ in
                let (indices, feeds) = loader.next()
                XCTAssertEqual(feeds["x"]?.floats, indices.flatMap { [Float($0), Float($0 * 10)] }, "the feeds are the rows drawn")
                XCTAssertEqual(feeds["id"]?.storage, .i32)
                return Array(indices)
            }
        }
        let first = drawn(seed: 7)
        XCTAssertEqual(first, drawn(seed: 7))
        XCTAssertNotEqual(first, drawn(seed: 8))
        XCTAssertEqual(first.map(\.count), [4, 4, 2, 4, 4, 2, 4, 4, 2])
        let passes = stride(from: 0, to: 9, by: 3).map { Array(first[$0..<($0 + 3)].joined()) }
        for pass in passes { XCTAssertEqual(pass.sorted(), Array(0..<10)) }
        XCTAssertNotEqual(passes[0], passes[1], "reshuffled every pass")
        XCTAssertEqual(drawn(seed: 7, shuffle: false).prefix(3).flatMap { $0 }, Array(0..<10))
        // With a limit the loader still starts in order (and draws nothing past the limit).
        XCTAssertEqual(Array(data.batches(size: 4, shuffle: false, limit: 2).next().indices), [0, 1, 2, 3])
    }

    func testTensorDatasetRefusesTensorsOfDifferentLengths() {
        XCTAssertThrowsError(try TensorDataset(["x": HostTensor(shape: [3, 2], floats: Array(repeating: 0, count: 6)),
                                                "y": HostTensor(shape: [2], floats: [0, 1])])) {
            XCTAssert("\($0)".contains("'x' [3,2], 'y' [2]"), "\($0)")
        }
        XCTAssertThrowsError(try TensorDataset([:]))
    }

    /// Class subfolders sorted by name are the classes; each image gets its folder's label, in
    /// the order imageFolder reads them; stray files and hidden folders are ignored.
    func testClassSubfoldersGiveTheLabels() throws {
        let root = temporaryPath("classes")
        // Gray levels that tell the images apart after scaling to [-1, 1].
        let images: [(folder: String, file: String, level: UInt8)] = [("dogs", "b.png", 200), ("dogs", "a.png", 150), ("cats", "z.png", 50)]
        for image in images {
            try FileManager.default.createDirectory(atPath: "\(root)/\(image.folder)", withIntermediateDirectories: true)
            try PNGImage.write(path: "\(root)/\(image.folder)/\(image.file)", width: 2, height: 2, channels: 1,
                               pixels: [UInt8](repeating: image.level, count: 4))
        }
        try FileManager.default.createDirectory(atPath: "\(root)/.cache", withIntermediateDirectories: true)
        try "not a class".write(toFile: "\(root)/README.txt", atomically: true, encoding: .utf8)

        let set = try LabeledImages.classFolders(root, size: 2)
        XCTAssertEqual(set.classNames, ["cats", "dogs"])
        XCTAssertEqual(set.labels, [0, 1, 1])
        let feeds = set.feeds(for: [2, 0, 1])
        XCTAssertEqual(feeds["y"]?.floats, [1, 0, 1])
        XCTAssertEqual(feeds["x"]?.shape, [3, 2, 2, 3])
        let firstPixels = stride(from: 0, to: 36, by: 12).map { feeds["x"]!.floats[$0] }
        XCTAssertEqual(firstPixels, [200, 50, 150].map { Float($0) / 127.5 - 1 }, "dogs/a.png comes before dogs/b.png")

        try FileManager.default.createDirectory(atPath: "\(root)/empty", withIntermediateDirectories: true)
        XCTAssertThrowsError(try LabeledImages.classFolders(root, size: 2)) { XCTAssert("\($0)".contains("\(root)/empty"), "\($0)") }
        let flat = temporaryPath("flat")
        try FileManager.default.createDirectory(atPath: flat, withIntermediateDirectories: true)
        XCTAssertThrowsError(try LabeledImages.classFolders(flat, size: 2)) { XCTAssert("\($0)".contains("no class subfolders"), "\($0)") }
    }

    /// IDX images with IDX labels; a label file too short or a label out of range names the file.
    func testIDXImagesWithLabels() throws {
        func idx(_ rank: UInt8, _ dims: [Int], _ bytes: [UInt8]) -> Data {
            Data([0, 0, 8, rank] + dims.flatMap { dim in (0..<4).reversed().map { UInt8((dim >> ($0 * 8)) & 0xFF) } } + bytes)
        }
        let images = temporaryPath("images.idx"), labels = temporaryPath("labels.idx")
        try idx(3, [3, 2, 2], (0..<12).map { UInt8($0 * 20) }).write(to: URL(fileURLWithPath: images))
        try idx(1, [3], [2, 0, 1]).write(to: URL(fileURLWithPath: labels))
        let set = try LabeledImages.idx(images: images, labels: labels)
        XCTAssertEqual(set.labels, [2, 0, 1])
        XCTAssertEqual(set.classNames, ["0", "1", "2"])
        XCTAssertEqual(set.feeds(for: [1])["x"]?.floats, [80, 100, 120, 140].map { Float($0) / 255 })
        XCTAssertThrowsError(try LabeledImages.idx(images: images, labels: labels, classes: 2)) {
            XCTAssert("\($0)".contains(labels) && "\($0)".contains("2 classes"), "\($0)")
        }
        for classes in [0, -1] {
            XCTAssertThrowsError(try LabeledImages.idx(images: images, labels: labels, classes: classes)) {
                XCTAssert("\($0)".contains("classes must be at least 1"), "\($0)")
            }
        }
        try idx(1, [2], [0, 1]).write(to: URL(fileURLWithPath: labels))
        XCTAssertThrowsError(try LabeledImages.idx(images: images, labels: labels)) { XCTAssert("\($0)".contains(labels), "\($0)") }
    }

    func testMappedFeedsAndExampleTypes() throws {
        let data = try numbered(4).mapping { ["real": $0["x"]!.reshaped([$0["x"]!.shape[0], 1, 2])] }
        XCTAssertEqual(try data.exampleType("real"), TensorType(.f32, [1, 2]))
        XCTAssertThrowsError(try data.exampleType("x")) { XCTAssert("\($0)".contains("gives no 'x' (it gives 'real')"), "\($0)") }
    }
}

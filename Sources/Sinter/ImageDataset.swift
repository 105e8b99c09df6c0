import Foundation
import SinterIO
import SinterIR

/// Images in memory as floats, NHWC, already scaled (e.g. to [0,1]).
public struct ImageDataset: Sendable {
    public var pixels: [Float]
    public var count: Int
    public var height: Int
    public var width: Int
    public var channels: Int

    public var imageSize: Int { height * width * channels }

    public init(pixels: [Float], count: Int, height: Int, width: Int, channels: Int) {
        precondition(pixels.count == count * height * width * channels)
        self.pixels = pixels
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// IDX images (N, H, W) of bytes, divided by 255; `limit` keeps the first N (at least 1).
    /// `expectedImage`, when given, is the image size the caller's model takes: other sizes are
    /// refused with the file's shape.
    public static func idx(path: String, limit: Int? = nil, expectedImage: (height: Int, width: Int)? = nil) throws -> ImageDataset {
        if let limit, limit < 1 {
            throw SinterError.file(path: path, message: "cannot keep \(limit) images: the limit must be at least 1")
        }
        let file = try IDXFile.read(path: path)
        guard file.shape.count == 3 else {
            throw SinterError.file(path: path, message: "expected IDX images (N, H, W), got shape \(shapeText(file.shape))")
        }
        guard file.shape[0] > 0 else {
            throw SinterError.file(path: path, message: "holds no images (IDX shape \(shapeText(file.shape)))")
        }
        guard file.shape[1] > 0, file.shape[2] > 0 else {
            throw SinterError.file(path: path, message: "images of size \(file.shape[1])x\(file.shape[2]) are empty (IDX shape \(shapeText(file.shape)))")
        }
        if let expected = expectedImage, file.shape[1] != expected.height || file.shape[2] != expected.width {
            throw SinterError.file(path: path, message: "holds \(file.shape[1])x\(file.shape[2]) images (IDX shape \(shapeText(file.shape))); the model takes \(expected.height)x\(expected.width)")
        }
        let count = min(limit ?? file.shape[0], file.shape[0])
        let size = file.shape[1] * file.shape[2]
        let pixels = file.bytes[0..<(count * size)].map { Float($0) / 255 }
        return ImageDataset(pixels: pixels, count: count, height: file.shape[1], width: file.shape[2], channels: 1)
    }

    /// Throws unless the images are `height` x `width` (what a recipe's model takes); `source`
    /// names where they came from.
    public func requireImageSize(height: Int, width: Int, source: String) throws {
        guard self.height == height, self.width == width else {
            throw SinterError.file(path: source, message: "holds \(self.height)x\(self.width)x\(channels) images; the model takes \(height)x\(width)")
        }
    }

    /// The images at `indices`, packed as one NHWC tensor.
    public func batch(_ indices: ArraySlice<Int>) -> HostTensor {
        var values = [Float](repeating: 0, count: indices.count * imageSize)
        values.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { source in
                for (row, index) in indices.enumerated() {
                    let from = source.baseAddress! + index * imageSize
                    (out.baseAddress! + row * imageSize).update(from: from, count: imageSize)
                }
            }
        }
        return HostTensor(shape: [indices.count, height, width, channels], floats: values)
    }
}

/// Where the datasets live, and clear errors when they do not.
public enum Datasets {
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    /// Fashion-MNIST's train or test images from `directory` (Debian's dataset-fashion-mnist).
    public static func fashionMNIST(train: Bool, directory: String? = nil, limit: Int? = nil) throws -> ImageDataset {
        let directory = directory ?? fashionMNISTDirectory
        let path = "\(directory)/\(train ? "train" : "t10k")-images-idx3-ubyte.gz"
        guard FileManager.default.fileExists(atPath: path) else {
            throw SinterError.file(path: path, message: "Fashion-MNIST not found. Install it with `apt-get install dataset-fashion-mnist` (it goes to \(fashionMNISTDirectory)) or pass --data DIR holding train-images-idx3-ubyte.gz and t10k-images-idx3-ubyte.gz")
        }
        return try ImageDataset.idx(path: path, limit: limit, expectedImage: (28, 28))
    }
}

/// Shuffled mini-batches, reshuffled every pass with a seeded generator (tf.data shuffle + batch
/// + repeat): a pass ends with a partial batch when the count does not divide.
public struct Batcher {
    public let count: Int
    public let batchSize: Int
    public let shuffle: Bool
    fileprivate var order: [Int] = []
    fileprivate var position = 0
    fileprivate var generator: SplitMix64
    public fileprivate(set) var pass = 0

    public init(count: Int, batchSize: Int, shuffle: Bool = true, seed: UInt64) {
        self.count = count
        self.batchSize = batchSize
        self.shuffle = shuffle
        generator = SplitMix64(seed: seed)
        position = count
    }

    /// Indices of the next batch (up to batchSize; the last of a pass may be shorter).
    public mutating func next() -> ArraySlice<Int> {
        if position >= count {
            order = Array(0..<count)
            if shuffle { order.shuffle(using: &generator) }
            position = 0
            pass += 1
        }
        let end = min(position + batchSize, count)
        defer { position = end }
        return order[position..<end]
    }
}

extension Batcher {
    /// The data order's state as tensors, for checkpoints.
    func stateTensors() -> [String: HostTensor] {
        let words = [Int64(count), Int64(position), Int64(pass), Int64(bitPattern: generator.state)]
        return ["batcher": HostTensor(storage: .i64, shape: [words.count], bytes: words.withUnsafeBytes { Array($0) }),
                "order": HostTensor(storage: .i64, shape: [order.count], bytes: order.map(Int64.init).withUnsafeBytes { Array($0) })]
    }

    /// Restores `stateTensors()`; the dataset size must be the same.
    mutating func restore(_ tensors: [String: HostTensor], path: String) throws {
        guard let state = tensors["batcher"], state.storage == .i64, state.count == 4, let order = tensors["order"], order.storage == .i64 else {
            throw SinterError.file(path: path, message: "checkpoint lacks the trainer's data-order state")
        }
        let words = state.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        guard Int(words[0]) == count else {
            throw SinterError.file(path: path, message: "checkpoint was written for a dataset of \(words[0]) images, this one has \(count)")
        }
        position = Int(words[1])
        pass = Int(words[2])
        generator = SplitMix64(state: UInt64(bitPattern: words[3]))
        self.order = order.bytes.withUnsafeBytes { $0.bindMemory(to: Int64.self).map { Int($0) } }
    }
}

/// SplitMix64: small, fast and seedable, for data order and noise on the host.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

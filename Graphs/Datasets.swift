import Foundation
import Sinter

/// The data the zoo's models train on: the 5,000 real MNIST digits shipped in Graphs/Data, and
/// Fashion-MNIST from Debian's dataset-fashion-mnist (or --data DIR).
public enum ZooData {
    /// The shipped MNIST subset (5,000 digits, 28x28), as [0,1] floats.
    public static func mnist5k(directory: String? = nil) throws -> ImageDataset {
        if let directory { return try ImageDataset.idx(path: "\(directory)/mnist-5k-images-idx3-ubyte.gz") }
        guard let url = Bundle.module.url(forResource: "Data/mnist-5k-images-idx3-ubyte", withExtension: "gz")
            ?? Bundle.module.url(forResource: "mnist-5k-images-idx3-ubyte", withExtension: "gz") else {
            throw SinterError.file(path: "Graphs/Data/mnist-5k-images-idx3-ubyte.gz", message: "the shipped MNIST digits are missing from the build")
        }
        return try ImageDataset.idx(path: url.path)
    }

    /// The MNIST subset shuffled with `seed` and split 4,000 train / 1,000 test (quality.md).
    public static func mnistSplit(seed: UInt64, directory: String? = nil) throws -> (train: ImageDataset, test: ImageDataset) {
        let all = try mnist5k(directory: directory)
        var order = Array(0..<all.count)
        var generator = SplitMix64(seed: seed)
        order.shuffle(using: &generator)
        let trainCount = all.count * 4 / 5
        func subset(_ indices: ArraySlice<Int>) -> ImageDataset {
            let batch = all.batch(indices)
            return ImageDataset(pixels: batch.floats, count: indices.count, height: all.height, width: all.width, channels: 1)
        }
        return (subset(order[..<trainCount]), subset(order[trainCount...]))
    }
}

extension ImageDataset {
    /// Every pixel mapped through `transform` (binarise, rescale to [-1,1], ...).
    public func mapped(_ transform: (Float) -> Float) -> ImageDataset {
        ImageDataset(pixels: pixels.map(transform), count: count, height: height, width: width, channels: channels)
    }

    /// The first `limit` images (all when nil).
    public func prefix(_ limit: Int?) -> ImageDataset {
        guard let limit, limit < count else { return self }
        return ImageDataset(pixels: Array(pixels[0..<(limit * imageSize)]), count: limit, height: height, width: width, channels: channels)
    }
}

import SinterIO
import SinterIR

/// Examples a `Learner` (or any loop) draws batches from: `count` examples, and for a batch of
/// their indices the tensors to feed, by graph input name (`x`, `y`, `real`, ...). Each batched
/// tensor has the batch on axis 0; a feed that is the same for every batch (a style target) may
/// have any shape. `feeds` runs on the loader thread (`BatchLoader`), so it must only read.
public protocol Dataset {
    var count: Int { get }
    func feeds(for indices: ArraySlice<Int>) -> [String: HostTensor]
}

extension Dataset {
    /// This dataset with every batch's feeds passed through `transform` (rename `x` to `real`,
    /// reshape images to vectors, add a constant feed, ...). It runs on the loader thread.
    public func mapping(_ transform: @escaping ([String: HostTensor]) -> [String: HostTensor]) -> MappedDataset {
        MappedDataset(base: self, transform: transform)
    }

    /// The type of one example of feed `name` (its batched tensor without axis 0), from a batch of
    /// the first example; an error naming the feeds there are when it is missing, empty or not
    /// a type graphs compute in.
    public func exampleType(_ name: String) throws -> TensorType {
        guard count >= 1 else { throw SinterError.runtime(message: "the dataset has no examples") }
        let sample = feeds(for: [0])
        guard let tensor = sample[name] else {
            let given = sample.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw SinterError.runtime(message: "the dataset gives no '\(name)' (it gives \(given.isEmpty ? "nothing" : given))")
        }
        guard tensor.shape.first == 1, let dtype = tensor.storage.dtype else {
            throw SinterError.runtime(message: "the dataset's '\(name)' is \(tensor.storage.rawValue)\(shapeText(tensor.shape)) for one example; "
                + "expected an f32, f64 or i32 tensor with the batch on axis 0")
        }
        return TensorType(dtype, Array(tensor.shape.dropFirst()))
    }
}

/// Images as a dataset: one feed, `x` (N, H, W, C).
extension ImageDataset: Dataset {
    public func feeds(for indices: ArraySlice<Int>) -> [String: HostTensor] { ["x": batch(indices)] }
}

/// A dataset whose feeds pass through a transform (`Dataset.mapping`).
public struct MappedDataset: Dataset {
    public let base: any Dataset
    let transform: ([String: HostTensor]) -> [String: HostTensor]

    public var count: Int { base.count }

    public func feeds(for indices: ArraySlice<Int>) -> [String: HostTensor] { transform(base.feeds(for: indices)) }
}

extension HostTensor {
    /// The same elements under `shape` (same element count), e.g. (B, 28, 28, 1) as (B, 784).
    public func reshaped(_ shape: [Int]) -> HostTensor {
        precondition(shape.reduce(1, *) == count, "reshaped: \(shapeText(self.shape)) has \(count) elements, \(shapeText(shape)) needs \(shape.reduce(1, *))")
        return HostTensor(storage: storage, shape: shape, bytes: bytes)
    }

    /// Rows `indices` of axis 0, in that order (any element type).
    public func rows(_ indices: ArraySlice<Int>) -> HostTensor {
        let rowBytes = shape.isEmpty ? 0 : bytes.count / max(shape[0], 1)
        var out = [UInt8](repeating: 0, count: indices.count * rowBytes)
        out.withUnsafeMutableBytes { destination in
            bytes.withUnsafeBytes { source in
                for (row, index) in indices.enumerated() where rowBytes > 0 {
                    (destination.baseAddress! + row * rowBytes).copyMemory(from: source.baseAddress! + index * rowBytes, byteCount: rowBytes)
                }
            }
        }
        return HostTensor(storage: storage, shape: [indices.count] + shape.dropFirst(), bytes: out)
    }

    /// Tensors of the same element type and trailing shape, one after the other on axis 0.
    public static func concatenatingRows(_ parts: [HostTensor]) -> HostTensor? {
        guard let first = parts.first, !first.shape.isEmpty,
              parts.allSatisfy({ $0.storage == first.storage && Array($0.shape.dropFirst()) == Array(first.shape.dropFirst()) }) else { return nil }
        return HostTensor(storage: first.storage, shape: [parts.reduce(0) { $0 + $1.shape[0] }] + first.shape.dropFirst(),
                          bytes: parts.flatMap(\.bytes))
    }
}

/// A dataset given by its size and a function from a batch's indices to its feeds (feeds that
/// depend on which examples they are, such as a style index derived from the position).
public struct IndexedDataset: Dataset {
    public let count: Int
    let make: (ArraySlice<Int>) -> [String: HostTensor]

    public init(count: Int, feeds: @escaping (ArraySlice<Int>) -> [String: HostTensor]) {
        self.count = count
        make = feeds
    }

    public func feeds(for indices: ArraySlice<Int>) -> [String: HostTensor] { make(indices) }
}

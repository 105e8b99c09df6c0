import Sinter

/// The models `sinter` knows by name, and how to trace each one's graphs.
public struct ZooEntry {
    public let name: String
    public let summary: String
    /// Traces the forward graph (`train == false`) or the whole training step.
    public let trace: (_ batch: Int, _ train: Bool) throws -> Graph
    public let defaultBatch: Int
}

public enum Zoo {
    public static let entries: [ZooEntry] = [
        ZooEntry(name: "autoencoder", summary: "Fashion-MNIST convolutional autoencoder (seed-models §5)",
                 trace: { batch, train in
                     try autoencoderStep(ConvAutoencoder(), batch: batch, optimizer: train ? Adam() : nil)
                 }, defaultBatch: 128),
    ]

    public static func entry(named name: String) throws -> ZooEntry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw SinterError.runtime(message: "unknown model '\(name)'; known models: \(entries.map(\.name).joined(separator: ", "))")
        }
        return entry
    }
}

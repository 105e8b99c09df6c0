import Sinter

/// Zoo models that optimise or transform one image of a chosen size rather than train on batches
/// of a fixed shape (seed-models §2): `sinter bench` traces them at `--size`, `sinter eval` runs
/// their golden cases. Kept apart from `Zoo.entries`, whose every entry traces at any batch size.
public struct ImageZooEntry {
    public let name: String
    public let summary: String
    /// The long side the notebook uses.
    public let defaultSize: Int
    /// The step graph (`train`: with the optimizer update) for a square image of side `size`.
    public let trace: (_ size: Int, _ train: Bool) throws -> Graph
}

public enum ImageZoo {
    public static let entries: [ImageZooEntry] = [
        ImageZooEntry(name: "nst", summary: "Gatys neural style transfer on VGG-19: one Adam step on the image (seed-models §2)",
                      defaultSize: 512, trace: { size, train in
                          try GatysStyleTransfer().stepGraph(size: (size, size), optimizer: train)
                      }),
    ]

    /// The entry called `name`, or nil when the image zoo has none.
    public static func entry(named name: String) -> ImageZooEntry? { entries.first { $0.name == name } }
}

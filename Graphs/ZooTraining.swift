import Sinter

/// How the zoo trains one model, through the public training API: its data (feeds named as its
/// graphs' inputs), its `Learner` (the training phases and the test-loss graph), the batch size,
/// and what `sinter train` draws each epoch. `sinter train MODEL` is `make(MODEL)` then `fit`.
public struct ZooTraining {
    public var learner: Learner
    public var train: any Dataset
    public var test: (any Dataset)?
    public var batch: Int
    public var picture: Picture

    /// The output drawn in the PNG grids each epoch.
    public struct Picture {
        public var phase: String
        public var output: String
        public var range: ClosedRange<Float>
        /// The feed drawn above the outputs (the inputs of a reconstruction), if any.
        public var input: String?
        /// The output holds logits: drawn through a sigmoid.
        public var logits: Bool

        public init(phase: String, output: String, range: ClosedRange<Float>, input: String? = nil, logits: Bool = false) {
            (self.phase, self.output, self.range, self.input, self.logits) = (phase, output, range, input, logits)
        }
    }

    public init(learner: Learner, train: any Dataset, test: (any Dataset)? = nil, batch: Int, picture: Picture) {
        (self.learner, self.train, self.test, self.batch, self.picture) = (learner, train, test, batch, picture)
    }

    /// The zoo's epoch: whole batches only, `max(count / batch, 1)` steps (468 steps of 128 on
    /// Fashion-MNIST's 60,000, as seed-models counts them); `fit`'s default is a whole pass.
    public var stepsPerEpoch: Int { max(train.count / batch, 1) }

    /// The training of zoo model `model`: `data` is the dataset folder (default: Fashion-MNIST
    /// from Debian, the shipped MNIST digits), `batch` and `lr` override the reference model's,
    /// `seed` seeds the weights, the data order and the MNIST split; the limits keep the first
    /// N training and test images.
    public static func make(_ model: String, data: String?, batch: Int?, lr: Double?, seed: UInt64,
                            trainLimit: Int?, testLimit: Int?) throws -> ZooTraining {
        switch model {
        case "autoencoder", "denoising-autoencoder":
            let train = try Datasets.fashionMNIST(train: true, directory: data, limit: trainLimit)
            let test = try Datasets.fashionMNIST(train: false, directory: data, limit: testLimit)
            let net = ConvAutoencoder()
            let optimizer = Adam(learningRate: lr ?? 1e-3)
            let trace: (Int, (any Optimizer)?) throws -> Graph = model == "autoencoder"
                ? { try autoencoderStep(net, batch: $0, optimizer: $1) }
                : { try denoisingAutoencoderStep(net, batch: $0, optimizer: $1) }
            let learner = try Learner(name: model, phases: [FitPhase("step") { try trace($0, optimizer) }],
                                      evaluation: { try trace($0, nil) }, seed: seed)
            return ZooTraining(learner: learner, train: train, test: test, batch: batch ?? 128,
                               picture: Picture(phase: "step", output: "out", range: 0...1, input: "x"))
        case "dense-autoencoder", "deep-autoencoder", "vae", "cvae":
            let (train, test) = try ZooData.mnistSplit(seed: seed, directory: data)
            try train.requireImageSize(height: 28, width: 28, source: mnistSource(data))
            let entry = try Zoo.entry(named: model)
            let binarise = model == "cvae"
            let trainSet = (binarise ? train.mapped { $0 > 0.5 ? 1 : 0 } : train).prefix(trainLimit)
            let testSet = (binarise ? test.mapped { $0 > 0.5 ? 1 : 0 } : test).prefix(testLimit)
            if lr != nil { throw SinterError.runtime(message: "--lr is fixed by the reference model for \(model)") }
            let learner = try Learner(name: model, phases: [FitPhase("step") { try entry.trace($0, true) }],
                                      evaluation: { try entry.trace($0, false) }, seed: seed)
            // The dense models take flat (B, 784) images.
            let flat: (any Dataset) -> any Dataset = { set in
                model.hasSuffix("autoencoder") ? set.mapping { ["x": $0["x"]!.reshaped([$0["x"]!.shape[0], 784])] } : set
            }
            return ZooTraining(learner: learner, train: flat(trainSet), test: flat(testSet), batch: batch ?? entry.defaultBatch,
                               picture: Picture(phase: "step", output: model == "cvae" ? "logits" : "out", range: 0...1, input: "x",
                                                logits: model == "cvae"))
        case "gan", "dcgan":
            let entry = try Zoo.entry(named: model)
            let train: ImageDataset = (model == "gan"
                ? try ZooData.mnistSplit(seed: seed, directory: data).train.checkedImageSize(28, 28, source: mnistSource(data))
                : try Datasets.fashionMNIST(train: true, directory: data, limit: trainLimit).mapped { $0 * 2 - 1 }).prefix(trainLimit)
            // The dense GAN's discriminator takes (B, 28, 28) images.
            let real = train.mapping { feeds in
                let x = feeds["x"]!
                return ["real": model == "gan" ? x.reshaped([x.shape[0], 28, 28]) : x]
            }
            return ZooTraining(learner: try ganLearner(entry, seed: seed), train: real, batch: batch ?? entry.defaultBatch,
                               picture: Picture(phase: "discriminator", output: "fake", range: model == "gan" ? 0...1 : -1...1))
        case "celeba-dcgan":
            guard let data else {
                throw SinterError.runtime(message: "celeba-dcgan trains on a folder of face images: pass --data DIR with .png or .jpg files (centre-cropped to 128 where they are that big, resized to 64x64)")
            }
            let entry = try Zoo.entry(named: model)
            let train = try ImageDataset.imageFolder(data, size: 64, crop: nil, limit: trainLimit)
            return ZooTraining(learner: try ganLearner(entry, seed: seed), train: train.mapping { ["real": $0["x"]!] },
                               batch: batch ?? entry.defaultBatch, picture: Picture(phase: "discriminator", output: "fake", range: -1...1))
        default:
            throw SinterError.runtime(message: "`sinter train` knows autoencoder, denoising-autoencoder, dense-autoencoder, deep-autoencoder, vae, cvae, gan, dcgan, celeba-dcgan and style; got '\(model)'")
        }
    }

    /// A GAN's learner: its phases (discriminator, then generator) each train one network.
    static func ganLearner(_ entry: ZooEntry, seed: UInt64) throws -> Learner {
        try Learner(name: entry.name, phases: entry.phases.map { phase in FitPhase(phase.name) { try phase.trace($0, true) } }, seed: seed)
    }

    /// Where the zoo's MNIST digits come from, for messages.
    static func mnistSource(_ data: String?) -> String {
        data.map { "\($0)/mnist-5k-images-idx3-ubyte.gz" } ?? "the shipped MNIST digits"
    }
}

private extension ImageDataset {
    /// Self, after `requireImageSize`: the 28x28 models reshape batches to 784 or [n, 28, 28].
    func checkedImageSize(_ height: Int, _ width: Int, source: String) throws -> ImageDataset {
        try requireImageSize(height: height, width: width, source: source)
        return self
    }
}

import Foundation
import Sinter
import SinterModels

/// How `sinter train` trains one model: its data, its phases and what to feed them, how to
/// evaluate it and what to draw.
struct TrainingRecipe {
    var train: ImageDataset
    var test: ImageDataset?
    var phases: [TrainingPhase]
    /// The forward graph (BN in inference mode) whose `loss` is the test loss.
    var evaluation: StepFamily?
    var feed: (ImageDataset, ArraySlice<Int>) -> [String: HostTensor]
    /// Phase and output drawn in the PNG grids, the value range, and whether the input batch is
    /// drawn above it (reconstructions).
    var picture: (phase: String, output: String, range: ClosedRange<Float>, withInputs: Bool, logits: Bool)
    var batch: Int
    /// Run once the Trainer has initialised the params, before any resume (frozen weights from a file).
    var prepare: ((Trainer) throws -> Void)? = nil
    var stepsPerEpoch: Int { max(train.count / batch, 1) }
}

enum Recipes {
    static func make(_ model: String, data: String?, batch: Int?, lr: Double?, seed: UInt64,
                     trainLimit: Int?, testLimit: Int?) throws -> TrainingRecipe {
        let images: (ImageDataset, ArraySlice<Int>) -> [String: HostTensor] = { ["x": $0.batch($1)] }
        switch model {
        case "autoencoder", "denoising-autoencoder":
            let train = try Datasets.fashionMNIST(train: true, directory: data, limit: trainLimit)
            let test = try Datasets.fashionMNIST(train: false, directory: data, limit: testLimit)
            let net = ConvAutoencoder()
            let optimizer = Adam(learningRate: lr ?? 1e-3)
            let trace: (Int, (any Optimizer)?) throws -> Graph = model == "autoencoder"
                ? { try autoencoderStep(net, batch: $0, optimizer: $1) }
                : { try denoisingAutoencoderStep(net, batch: $0, optimizer: $1) }
            return TrainingRecipe(train: train, test: test,
                                  phases: [phase("step", StepFamily { try trace($0, optimizer) }, train, images)],
                                  evaluation: StepFamily { try trace($0, nil) }, feed: images,
                                  picture: ("step", "out", 0...1, true, false), batch: batch ?? 128)
        case "dense-autoencoder", "deep-autoencoder", "vae", "cvae":
            let (train, test) = try ZooData.mnistSplit(seed: seed, directory: data)
            try train.requireImageSize(height: 28, width: 28, source: mnistSource(data))
            let entry = try Zoo.entry(named: model)
            let binarise = model == "cvae"
            let trainSet = (binarise ? train.mapped { $0 > 0.5 ? 1 : 0 } : train).prefix(trainLimit)
            let testSet = (binarise ? test.mapped { $0 > 0.5 ? 1 : 0 } : test).prefix(testLimit)
            let flat = model.hasSuffix("autoencoder")
            let feed: (ImageDataset, ArraySlice<Int>) -> [String: HostTensor] = { set, indices in
                let x = set.batch(indices)
                return ["x": flat ? HostTensor(storage: x.storage, shape: [indices.count, 784], bytes: x.bytes) : x]
            }
            let family = StepFamily { try entry.trace($0, true) }
            if lr != nil { throw SinterError.runtime(message: "--lr is fixed by the reference model for \(model)") }
            return TrainingRecipe(train: trainSet, test: testSet,
                                        phases: [phase("step", family, trainSet, feed)],
                                        evaluation: StepFamily { try entry.trace($0, false) }, feed: feed,
                                        picture: ("step", model == "cvae" ? "logits" : "out", 0...1, true, model == "cvae"),
                                        batch: batch ?? entry.defaultBatch)
        case "gan", "dcgan":
            let entry = try Zoo.entry(named: model)
            let train: ImageDataset = (model == "gan"
                ? try ZooData.mnistSplit(seed: seed, directory: data).train.checkedImageSize(28, 28, source: mnistSource(data))
                : try Datasets.fashionMNIST(train: true, directory: data, limit: trainLimit).mapped { $0 * 2 - 1 }).prefix(trainLimit)
            let feed: (ImageDataset, ArraySlice<Int>) -> [String: HostTensor] = { set, indices in
                let x = set.batch(indices)
                return ["real": model == "gan" ? HostTensor(storage: x.storage, shape: [indices.count, 28, 28], bytes: x.bytes) : x]
            }
            let phases = entry.phases.map { p in phase(p.name, StepFamily { try p.trace($0, true) }, train, feed) }
            return TrainingRecipe(train: train, test: nil, phases: phases, evaluation: nil, feed: feed,
                                  picture: ("discriminator", "fake", model == "gan" ? 0...1 : -1...1, false, false),
                                  batch: batch ?? entry.defaultBatch)
        case "celeba-dcgan":
            guard let data else {
                throw SinterError.runtime(message: "celeba-dcgan trains on a folder of face images: pass --data DIR with .png or .jpg files (centre-cropped to 128 where they are that big, resized to 64x64)")
            }
            let entry = try Zoo.entry(named: model)
            let train = try ImageDataset.imageFolder(data, size: 64, crop: nil, limit: trainLimit)
            let feed: (ImageDataset, ArraySlice<Int>) -> [String: HostTensor] = { set, indices in ["real": set.batch(indices)] }
            let phases = entry.phases.map { p in phase(p.name, StepFamily { try p.trace($0, true) }, train, feed) }
            return TrainingRecipe(train: train, test: nil, phases: phases, evaluation: nil, feed: feed,
                                  picture: ("discriminator", "fake", -1...1, false, false), batch: batch ?? entry.defaultBatch)
        default:
            throw SinterError.runtime(message: "`sinter train` knows autoencoder, denoising-autoencoder, dense-autoencoder, deep-autoencoder, vae, cvae, gan, dcgan, celeba-dcgan and style; got '\(model)'")
        }
    }

    /// Where the zoo's MNIST digits come from, for messages.
    static func mnistSource(_ data: String?) -> String {
        data.map { "\($0)/mnist-5k-images-idx3-ubyte.gz" } ?? "the shipped MNIST digits"
    }

    static func phase(_ name: String, _ family: StepFamily, _ set: ImageDataset,
                      _ feed: @escaping (ImageDataset, ArraySlice<Int>) -> [String: HostTensor]) -> TrainingPhase {
        TrainingPhase(name: name, family: family) { feed(set, $0) }
    }
}

private extension ImageDataset {
    /// Self, after `requireImageSize`: the 28x28 models reshape batches to 784 or [n, 28, 28].
    func checkedImageSize(_ height: Int, _ width: Int, source: String) throws -> ImageDataset {
        try requireImageSize(height: height, width: width, source: source)
        return self
    }
}

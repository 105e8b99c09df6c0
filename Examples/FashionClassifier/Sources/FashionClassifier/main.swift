// Trains the Keras tutorial convnet on Fashion-MNIST with Sinter's Learner, prints its test
// accuracy, saves a checkpoint, reloads it into a fresh learner and evaluates again.
import Foundation
import Sinter

setvbuf(stdout, nil, _IOLBF, 0)  // each line at once, in order with the progress line on stderr
let options: Options
do {
    options = try Options(Array(CommandLine.arguments.dropFirst()))
} catch let error as OptionError {
    if let message = error.message { FileHandle.standardError.write(Data("error: \(message)\n".utf8)) }
    print(Options.usage)
    exit(error.message == nil ? 0 : 2)
}

do {
    let train = try LabeledImages.fashionMNIST(train: true, directory: options.data, limit: options.trainLimit)
    let test = try LabeledImages.fashionMNIST(train: false, directory: options.data, limit: options.testLimit)
    print("Fashion-MNIST: \(train.count) training and \(test.count) test images of 28x28")

    /// Keras's `model.compile(optimizer=Adam(lr), loss=SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])`.
    func makeLearner() throws -> Learner {
        try Learner(FashionCNN(), loss: { sparseCategoricalCrossEntropy($0, labels: $1, fromLogits: true) },
                    optimizer: Adam(learningRate: options.learningRate),
                    metrics: [Metric("accuracy") { sparseCategoricalAccuracy($0, labels: $1) }], seed: options.seed)
    }

    try FileManager.default.createDirectory(atPath: options.out, withIntermediateDirectories: true)
    let checkpoint = "\(options.out)/fashion-cnn.sinter"
    let learner = try makeLearner()
    let started = Date()
    try learner.fit(train, epochs: options.epochs, batchSize: options.batch, validation: test, checkpoint: checkpoint)
    print(String(format: "trained %d epochs in %.0f s", options.epochs, Date().timeIntervalSince(started)))
    let tested = try learner.evaluate(test)
    print(String(format: "test accuracy %.4f  (loss %.4f)", tested["accuracy"]!, tested["loss"]!))
    print("saved \(checkpoint)")

    // A fresh learner knows nothing; loading the checkpoint gives it the trained weights.
    let reloaded = try makeLearner()
    try reloaded.load(checkpoint)
    let again = try reloaded.evaluate(test, batchSize: options.batch)
    print(String(format: "reloaded: test accuracy %.4f  (loss %.4f)%@", again["accuracy"]!, again["loss"]!,
                 again == tested ? ", the same" : ", DIFFERENT from before saving"))

    // What the reloaded model says about the first test images.
    let firstImages = try LabeledImages.fashionMNIST(train: false, directory: options.data, limit: 8)
    let logits = try reloaded.predict(firstImages, batchSize: firstImages.count)
    let shown = firstImages.count
    for row in 0..<shown {
        let scores = logits.floats[(row * 10)..<(row * 10 + 10)]
        let guess = scores.indices.max { scores[$0] < scores[$1] }! - row * 10
        let truth = Int(firstImages.labels[row])
        print("  test image \(row): \(classNames[guess])\(guess == truth ? "" : "  (it is a \(classNames[truth]))")")
    }
    // The training step and the prediction graph as IR text with their weights, for the sinter
    // tool: `sinter dump fashion-step.ir --after plan`, `sinter bench fashion-step.ir`.
    let stepFile = "\(options.out)/fashion-step.ir", predictFile = "\(options.out)/fashion-predict.ir"
    try reloaded.saveGraph(to: stepFile, weights: "\(options.out)/fashion-step.safetensors", train: true,
                           batchSize: options.batch, data: train)
    try reloaded.saveGraph(to: predictFile, weights: "\(options.out)/fashion-predict.safetensors", batchSize: options.batch, data: test)
    print("saved \(stepFile) and \(predictFile) (with their weights)")
    if again != tested { exit(1) }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}

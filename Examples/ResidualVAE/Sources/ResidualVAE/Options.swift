import Foundation

/// The command line: `--epochs N --batch N --latent N --seed N --train-limit N --test-limit N
/// --data DIR --out DIR`; each takes a value, a bad one is an error naming it.
struct Options {
    var epochs = 3
    var batch = 128
    var latent = 16
    var seed: UInt64 = 0
    var trainLimit: Int?
    var testLimit = 1000
    /// Folder with Fashion-MNIST's IDX image files (nil: Debian's dataset-fashion-mnist).
    var data: String?
    var out = "vae-out"

    static let usage = """
        usage: ResidualVAE [--epochs N] [--batch N] [--latent N] [--seed N] [--train-limit N] [--test-limit N] [--data DIR] [--out DIR]
          defaults: 3 epochs of the 60,000 Fashion-MNIST training images in batches of 128, a 16-dimensional
          latent space, seed 0, tested on the first 1,000 test images; data from /usr/share/datasets/fashion-mnist;
          output (checkpoint, samples.png, reconstructions.png) in vae-out/
        """

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func text(_ flag: String) throws -> String {
            guard let value = rest.popFirst() else { throw OptionError("\(flag) needs a value") }
            return value
        }
        func count(_ flag: String) throws -> Int {
            let value = try text(flag)
            guard let number = Int(value), number >= 1 else { throw OptionError("\(flag) '\(value)': expected a whole number of at least 1") }
            return number
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--epochs": epochs = try count(flag)
            case "--batch": batch = try count(flag)
            case "--latent": latent = try count(flag)
            case "--seed": seed = UInt64(try count(flag))
            case "--train-limit": trainLimit = try count(flag)
            case "--test-limit": testLimit = try count(flag)
            case "--data": data = try text(flag)
            case "--out": out = try text(flag)
            case "-h", "--help": throw OptionError(nil)
            default: throw OptionError("unknown option '\(flag)'")
            }
        }
    }
}

/// A command-line mistake (nil: just print the usage).
struct OptionError: Error {
    let message: String?
    init(_ message: String?) { self.message = message }
}

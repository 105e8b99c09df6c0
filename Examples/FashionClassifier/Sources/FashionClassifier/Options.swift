import Foundation

/// The command line: `--epochs N --batch N --lr X --seed N --train-limit N --test-limit N
/// --data DIR --out DIR`. The defaults are the protocol the guide and `keras_reference.py` use.
struct Options {
    var epochs = 3
    var batch = 128
    var learningRate = 1e-3
    var seed: UInt64 = 0
    var trainLimit: Int?
    var testLimit: Int?
    /// Folder with Fashion-MNIST's four IDX files (nil: Debian's dataset-fashion-mnist).
    var data: String?
    var out = "fashion-out"

    static let usage = """
        usage: FashionClassifier [--epochs N] [--batch N] [--lr X] [--seed N] [--train-limit N] [--test-limit N] [--data DIR] [--out DIR]
          defaults: 3 epochs of the 60,000 training images in batches of 128, Adam lr 0.001, seed 0,
          tested on the 10,000 test images; data from /usr/share/datasets/fashion-mnist; output in fashion-out/
        """

    /// Parses `arguments` (without the program name); a bad one is an error naming it.
    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let text = rest.popFirst() else { throw OptionError("\(flag) needs a value") }
            return text
        }
        func count(_ flag: String) throws -> Int {
            let text = try value(flag)
            guard let number = Int(text), number >= 1 else { throw OptionError("\(flag) '\(text)': expected a whole number of at least 1") }
            return number
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--epochs": epochs = try count(flag)
            case "--batch": batch = try count(flag)
            case "--train-limit": trainLimit = try count(flag)
            case "--test-limit": testLimit = try count(flag)
            case "--seed":
                let text = try value(flag)
                guard let number = UInt64(text) else { throw OptionError("--seed '\(text)': expected a whole number of at least 0") }
                seed = number
            case "--lr":
                let text = try value(flag)
                guard let rate = Double(text), rate > 0, rate.isFinite else { throw OptionError("--lr '\(text)': expected a positive number") }
                learningRate = rate
            case "--data": data = try value(flag)
            case "--out": out = try value(flag)
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

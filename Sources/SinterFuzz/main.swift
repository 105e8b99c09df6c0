// sinter-fuzz: long runs of the mutation fuzzer the tests use in short form.
//
//   sinter-fuzz <target|all> [--seed N] [--iterations N] [--seconds S] [--save DIR]
//   sinter-fuzz <target|all> --write-seeds DIR     (the valid seed inputs, e.g. a libFuzzer corpus)
//
// targets: safetensors, idx, gzip, zstd, png, jpeg, ir, checkpoint, zip, pickle, torch. Prints iterations, inputs
// accepted and errors thrown by kind; exits 1 if any failure was not a SinterError (and saves
// that input under --save). A crash ends the process: rerun with the same seed to replay it.
//
// Built with `-Xswiftc -sanitize=fuzzer -Xswiftc -DSINTER_LIBFUZZER` the same binary is a
// libFuzzer driver instead: `sinter-fuzz <target> [libFuzzer flags] [corpus dirs]`.
import Foundation
import SinterFuzzing

func usage() -> Never {
    FileHandle.standardError.write(Data("""
    usage: sinter-fuzz <target|all> [--seed N] [--iterations N] [--seconds S] [--save DIR]
           sinter-fuzz <target|all> --write-seeds DIR
    targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))

    """.utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first else { usage() }
let targets: [FuzzTarget]
if name == "all" { targets = FuzzTarget.allCases } else if let one = FuzzTarget(rawValue: name) { targets = [one] } else { usage() }

#if SINTER_LIBFUZZER
exit(runLibFuzzer(targets[0], arguments: [CommandLine.arguments[0]] + arguments.dropFirst()))
#else
var seed: UInt64 = 1
var iterations = Int.max
var seconds: Double?
var saveDirectory: String?
var index = 1
while index < arguments.count {
    let flag = arguments[index]
    guard index + 1 < arguments.count else { usage() }
    let value = arguments[index + 1]
    switch flag {
    case "--seed":
        guard let v = UInt64(value) else { usage() }
        seed = v
    case "--iterations":
        guard let v = Int(value), v > 0 else { usage() }
        iterations = v
    case "--seconds":
        guard let v = Double(value), v > 0, v.isFinite else { usage() }
        seconds = v
    case "--save": saveDirectory = value
    case "--write-seeds":
        // Seed corpus for libFuzzer (or for inspection): the valid inputs the fuzzer starts from.
        for target in targets {
            for (i, seedInput) in ((try? target.seeds()) ?? []).enumerated() {
                let path = "\(value)/\(target.rawValue)-seed\(i)"
                if !FileManager.default.createFile(atPath: path, contents: Data(seedInput)) {
                    FileHandle.standardError.write(Data("sinter-fuzz: could not write \(path)\n".utf8))
                }
            }
        }
        exit(0)
    default: usage()
    }
    index += 2
}
if iterations == Int.max && seconds == nil { iterations = 10_000 }

var failed = false
for target in targets {
    do {
        let report = try FuzzRunner.run(target, seed: seed, iterations: iterations, seconds: seconds) {
            FileHandle.standardError.write(Data("  ... \($0)\n".utf8))
        }
        print(report)
        for message in Set(report.unexpected).sorted() { print("  unexpected: \(message)") }
        if let input = report.firstUnexpectedInput {
            failed = true
            if let saveDirectory {
                let path = "\(saveDirectory)/\(target.rawValue)-seed\(seed).bin"
                if FileManager.default.createFile(atPath: path, contents: Data(input)) {
                    print("  first unexpected input saved to \(path)")
                } else {
                    print("  first unexpected input could not be saved to \(path)")
                }
            }
        }
    } catch {
        print("\(target.rawValue): cannot start: \(error)")
        failed = true
    }
}
exit(failed ? 1 : 0)
#endif

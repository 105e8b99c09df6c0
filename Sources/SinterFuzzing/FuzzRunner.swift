import Foundation
import Sinter

/// What one fuzz run saw.
public struct FuzzReport: CustomStringConvertible {
    public var target: String
    public var seed: UInt64
    public var iterations = 0
    /// Mutated inputs the parser accepted.
    public var accepted = 0
    /// Thrown SinterErrors by case (file, parse, verify, ...).
    public var errorsByKind: [String: Int] = [:]
    /// Errors that were not SinterError (each is a bug: the promise is one clear error type),
    /// with the input that caused the first one.
    public var unexpected: [String] = []
    public var firstUnexpectedInput: [UInt8]?

    public var description: String {
        let kinds = errorsByKind.keys.sorted().map { "\($0)=\(errorsByKind[$0]!)" }.joined(separator: " ")
        return "\(target) seed \(seed): \(iterations) iterations, \(accepted) accepted, errors: \(kinds.isEmpty ? "none" : kinds), unexpected: \(unexpected.count)"
    }
}

/// The mutation loop: start from the target's valid seeds, mutate, run the real parser, record
/// the outcome. Accepted mutants join the corpus (up to a bound) so later mutations go deeper.
/// A crash or trap in a parser ends the process, which is the failure signal.
public enum FuzzRunner {
    public static func run(_ target: FuzzTarget, seed: UInt64, iterations: Int, seconds: Double? = nil,
                           progress: ((FuzzReport) -> Void)? = nil) throws -> FuzzReport {
        var mutator = Mutator(seed: seed)
        var corpus = try target.seeds()
        let seedCount = corpus.count
        var report = FuzzReport(target: target.rawValue, seed: seed)
        let start = Date()
        let context = try FuzzContext()
        defer { context.cleanUp() }
        while report.iterations < iterations {
            if let seconds, report.iterations % 64 == 0, Date().timeIntervalSince(start) >= seconds { break }
            let input = mutator.mutate(corpus[mutator.below(corpus.count)])
            report.iterations += 1
            do {
                try target.parse(input, context: context)
                report.accepted += 1
                if corpus.count < seedCount + 64, input.count < 1 << 20 { corpus.append(input) }
            } catch let error as SinterError {
                report.errorsByKind[kind(of: error), default: 0] += 1
            } catch {
                report.unexpected.append("\(type(of: error)): \(error)")
                if report.firstUnexpectedInput == nil { report.firstUnexpectedInput = input }
            }
            if report.iterations % 200_000 == 0 { progress?(report) }
        }
        return report
    }

    static func kind(of error: SinterError) -> String {
        switch error {
        case .shape: return "shape"
        case .parse: return "parse"
        case .verify: return "verify"
        case .file: return "file"
        case .compile: return "compile"
        case .runtime: return "runtime"
        case .autodiff: return "autodiff"
        }
    }
}

/// A private scratch directory for targets whose parser reads from a path.
public final class FuzzContext {
    public let directory: String

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-fuzz-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Writes `bytes` to the scratch file `name` and returns its path.
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = "\(directory)/\(name)"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw SinterError.file(path: path, message: "fuzz harness cannot write its scratch file")
        }
        return path
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }
}

import ArgumentParser
import Foundation

/// Parse-time checks of numeric options (called from each command's `validate()`), so a bad
/// value is refused with a message naming the option before any model is traced or compiled.
enum OptionChecks {
    /// The largest batch (and sample count) the CLI accepts. A sanity bound, not a memory
    /// estimate: the runtime's memory guard refuses smaller graphs that still do not fit, but a
    /// value this large is a typo and would otherwise reach the tracer and the allocator.
    static let maxBatch = 65_536
    /// The largest step or epoch count: far beyond any real run, small enough that
    /// `epochs * stepsPerEpoch` and `step + steps` cannot overflow.
    static let maxSteps = 1_000_000_000

    /// `value` lies in `range`; the message names the option and what it means.
    static func check(_ value: Int?, _ option: String, in range: ClosedRange<Int>, _ meaning: String) throws {
        guard let value else { return }
        guard range.contains(value) else {
            let bound = range.upperBound == Int.max ? "at least \(range.lowerBound)"
                : "between \(range.lowerBound) and \(range.upperBound)"
            throw ValidationError("\(option) must be \(bound) (\(meaning)); got \(value)")
        }
    }

    static func batch(_ value: Int?, option: String = "--batch") throws {
        try check(value, option, in: 1...maxBatch, "images per step; larger batches are refused before anything is allocated")
    }

    /// A learning rate: finite and positive.
    static func learningRate(_ value: Double?, option: String = "--lr") throws {
        guard let value else { return }
        guard value.isFinite, value > 0 else {
            throw ValidationError("\(option) must be a finite number greater than 0; got \(value)")
        }
    }

    /// A loss weight: finite and not negative (0 turns the term off).
    static func weight(_ value: Double?, _ option: String) throws {
        guard let value else { return }
        guard value.isFinite, value >= 0 else {
            throw ValidationError("\(option) must be a finite number, 0 or more; got \(value)")
        }
    }

    /// One of a fixed set of words.
    static func oneOf(_ value: String?, _ option: String, _ allowed: [String]) throws {
        guard let value, !allowed.contains(value) else { return }
        throw ValidationError("\(option) must be \(allowed.joined(separator: " or ")); got '\(value)'")
    }
}

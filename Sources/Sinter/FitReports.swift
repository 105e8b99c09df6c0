import Foundation
import SinterIR

/// Named scalars in a fixed order: a step's or an epoch's loss and metrics (`loss`,
/// `accuracy`, `val_loss`; `discriminator.loss` with several phases).
public struct FitValues: Equatable, Sequence {
    public private(set) var names: [String] = []
    private var values: [String: Double] = [:]

    public init() {}

    public subscript(name: String) -> Double? {
        get { values[name] }
        set {
            if values[name] == nil, newValue != nil { names.append(name) }
            if newValue == nil { names.removeAll { $0 == name } }
            values[name] = newValue
        }
    }

    public func makeIterator() -> AnyIterator<(name: String, value: Double)> {
        var index = 0
        return AnyIterator {
            guard index < names.count else { return nil }
            defer { index += 1 }
            return (names[index], values[names[index]]!)
        }
    }

    /// `loss 0.2812  accuracy 0.9012`: four decimals, as the progress line prints them.
    public var text: String { map { String(format: "%@ %.4f", $0.name, $0.value) }.joined(separator: "  ") }
}

/// Where a `fit` call starts: what it will run and from where.
public struct FitStart {
    /// Steps already taken (by an earlier `fit` or the checkpoint resumed from).
    public var step: Int
    /// The step the run ends after.
    public var endStep: Int
    public var stepsPerEpoch: Int
    public var batchSize: Int
    public var examples: Int
    public var phases: [String]
    /// The checkpoint this run continues, if it resumed one.
    public var resumedFrom: String?
}

/// One training step, after every phase ran.
public struct StepReport {
    public var step: Int
    public var epoch: Int
    /// The dataset indices of the batch (its size is `indices.count`).
    public var indices: ArraySlice<Int>
    /// Every output of every phase's graph, by phase name.
    public var outputs: [String: [String: HostTensor]]
    /// Each phase's `loss`, in phase order.
    public var losses: [(phase: String, value: Double)]
    /// The loss (`loss`, or `<phase>.loss` with several phases) and the metrics of this batch.
    public var values: FitValues
}

/// The end of an epoch (or of the run, part way through one: `complete` is false).
public struct EpochReport {
    public var epoch: Int
    public var step: Int
    public var complete: Bool
    /// The epoch's means of `StepReport.values` (weighted by batch size, over the steps of this
    /// run), then `val_<name>` for the validation data's loss and metrics.
    public var values: FitValues
    /// The checkpoint written at this epoch's end, if `fit` was given a path.
    public var checkpoint: String?
    public var seconds: Double
    /// The epoch's last step (its outputs are what the model made of that batch).
    public var lastStep: StepReport
}

/// What `fit` reports to: per step, per epoch, at the start and the end. Every method has an
/// empty default; a throwing one stops the run (`fit` then calls `fitEnded` with the error).
public protocol FitCallback: AnyObject {
    func fitBegan(_ start: FitStart) throws
    func stepEnded(_ step: StepReport) throws
    func epochEnded(_ epoch: EpochReport) throws
    /// Always called last, with the error that stopped the run if one did.
    func fitEnded(error: Error?)
}

extension FitCallback {
    public func fitBegan(_ start: FitStart) throws {}
    public func stepEnded(_ step: StepReport) throws {}
    public func epochEnded(_ epoch: EpochReport) throws {}
    public func fitEnded(error: Error?) {}
}

/// Closures as a callback: `FitHooks(onEpoch: { print($0.values.text) })`.
public final class FitHooks: FitCallback {
    let onStep: ((StepReport) throws -> Void)?
    let onEpoch: ((EpochReport) throws -> Void)?

    public init(onStep: ((StepReport) throws -> Void)? = nil, onEpoch: ((EpochReport) throws -> Void)? = nil) {
        self.onStep = onStep
        self.onEpoch = onEpoch
    }

    public func stepEnded(_ step: StepReport) throws { try onStep?(step) }
    public func epochEnded(_ epoch: EpochReport) throws { try onEpoch?(epoch) }
}

/// What `fit` returns: every epoch's report, and the notes it made (partial batches).
public struct History {
    public var epochs: [EpochReport] = []
    public var notes: [String] = []

    /// One value per epoch: `history["loss"]`, `history["val_accuracy"]`.
    public subscript(name: String) -> [Double] { epochs.compactMap { $0.values[name] } }
}

import Foundation

/// The live `\r` progress line on stderr: epoch, step/total, the latest batch's losses (`d` and
/// `g` for a GAN's phases) and metrics, images/s, ETA. Redrawn at most four times a second.
/// With metrics or validation data, each epoch also leaves one line with its means and the
/// validation figures. `fit` adds one unless `verbose` is false; `sinter train` prints it.
public final class ProgressLine: FitCallback {
    public private(set) var total: Int
    public private(set) var start: Int
    public private(set) var started = Date()
    private var images = 0
    private var lastPrint = Date.distantPast
    /// True right after an epoch line ended with a newline (nothing left to finish).
    private var atLineStart = false
    /// Characters of the live line last drawn.
    private var liveLength = 0
    private let write: (String) -> Void

    /// `write` receives the text (stderr by default).
    public init(total: Int = 0, start: Int = 0, write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.total = total
        self.start = start
        self.write = write
    }

    public var imagesPerSecond: Double { Double(images) / max(Date().timeIntervalSince(started), 1e-9) }

    public func update(step: Int, epoch: Int, losses: String, images batch: Int) {
        images += batch
        guard Date().timeIntervalSince(lastPrint) > 0.25 || step == total else { return }
        lastPrint = Date()
        let done = Double(step - start), elapsed = Date().timeIntervalSince(started)
        let eta = done > 0 ? elapsed / done * Double(total - step) : 0
        let line = String(format: "epoch %d  step %d/%d  loss %@  %@ img/s  ETA %@   ", epoch, step, total, losses, rateText, formatDuration(eta))
        write("\r" + line)
        (liveLength, atLineStart) = (line.count, false)
    }

    public func finish() {
        if !atLineStart { write("\n") }
        atLineStart = true
    }

    // Slow models (style transfer at 256², under 1 img/s on two cores) still need a readable rate.
    private var rateText: String { String(format: imagesPerSecond < 10 ? "%.2f" : "%.0f", imagesPerSecond) }

    // MARK: - As a fit callback

    public func fitBegan(_ start: FitStart) throws {
        total = start.endStep
        self.start = start.step
        started = Date()
        images = 0
        lastPrint = .distantPast
    }

    public func stepEnded(_ step: StepReport) throws {
        let losses = step.losses.count == 1
            ? String(format: "%.4f", step.losses[0].value)
            : step.losses.map { "\($0.phase.prefix(1)) \(String(format: "%.4f", $0.value))" }.joined(separator: " ")
        var metrics = FitValues()
        for (name, value) in step.values where !Self.isLoss(name) { metrics[name] = value }
        update(step: step.step, epoch: step.epoch, losses: metrics.names.isEmpty ? losses : "\(losses)  \(metrics.text)",
               images: step.indices.count)
    }

    public func epochEnded(_ epoch: EpochReport) throws {
        guard epoch.values.contains(where: { !Self.isLoss($0.name) }) else { return }
        let line = String(format: "epoch %d  step %d/%d  %@  %@ img/s  %@", epoch.epoch, epoch.step, total, epoch.values.text,
                          rateText, formatDuration(epoch.seconds))
        // Padded over what is left of a longer live line.
        write("\r" + line.padding(toLength: max(line.count, liveLength), withPad: " ", startingAt: 0) + "\n")
        atLineStart = true
    }

    public func fitEnded(error: Error?) { finish() }

    /// `loss` or a phase's `<phase>.loss`: printed in the loss field, not as a metric.
    static func isLoss(_ name: String) -> Bool { name == "loss" || name.hasSuffix(".loss") }
}

/// `3m07s`, `1h02m`: for ETAs and durations on progress lines.
public func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
}

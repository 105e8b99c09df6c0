import Foundation

/// The memory plan as a picture (`sinter dump --memory`, `memory.svg`): x is the schedule step,
/// y the arena offset; each buffer is a bar from its offset to offset + size over its lifetime
/// (firstUse ..< lastUse + 1), with a tooltip naming it. The dashed line is the lower bound (the
/// peak of live bytes), the solid one the arena size.
public func memorySVG(_ report: MemoryReport) -> String {
    let width = 1000.0, height = 600.0
    let left = 90.0, right = 20.0, top = 40.0, bottom = 50.0
    let plotWidth = width - left - right, plotHeight = height - top - bottom
    let steps = max(report.steps, (report.buffers.map(\.lastUse).max() ?? 0) + 1, 1)
    let bytes = max(report.arenaBytes, report.lowerBoundBytes, 1)
    func x(_ step: Int) -> Double { left + plotWidth * Double(step) / Double(steps) }
    func y(_ offset: Int) -> Double { top + plotHeight * (1 - Double(offset) / Double(bytes)) }
    func f(_ v: Double) -> String { String(format: "%.2f", v) }
    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    var out: [String] = []
    out.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">")
    out.append("<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"white\"/>")
    out.append("<text x=\"\(f(left))\" y=\"20\" font-size=\"13\">\(escape(report.line))</text>")
    if !report.scheduleLine.isEmpty {
        out.append("<text x=\"\(f(left))\" y=\"34\" font-size=\"11\" fill=\"#555\">\(escape(report.scheduleLine))</text>")
    }
    // Axes, ticks and labels.
    out.append("<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\" stroke=\"black\"/>")
    out.append("<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\" stroke=\"black\"/>")
    let stepTick = max(1, niceStep(Double(steps) / 10))
    for step in stride(from: 0, through: steps, by: stepTick) {
        out.append("<line x1=\"\(f(x(step)))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(x(step)))\" y2=\"\(f(top + plotHeight + 4))\" stroke=\"black\"/>")
        out.append("<text x=\"\(f(x(step)))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(step)</text>")
    }
    let byteTick = max(1, niceStep(Double(bytes) / 8))
    for offset in stride(from: 0, through: bytes, by: byteTick) {
        out.append("<line x1=\"\(f(left - 4))\" y1=\"\(f(y(offset)))\" x2=\"\(f(left))\" y2=\"\(f(y(offset)))\" stroke=\"black\"/>")
        out.append("<text x=\"\(f(left - 6))\" y=\"\(f(y(offset) + 4))\" text-anchor=\"end\">\(escape(MemoryPlanner.megabytes(offset)))</text>")
    }
    out.append("<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">schedule step (kernels, output copy, snapshots, effects)</text>")
    out.append("<text x=\"16\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotHeight / 2)))\">arena offset</text>")
    // One bar per buffer.
    for (i, buffer) in report.buffers.enumerated() {
        let x0 = x(buffer.firstUse), x1 = x(buffer.lastUse + 1)
        let y0 = y(buffer.offset + max(buffer.bytes, 1)), y1 = y(buffer.offset)
        let hue = (i * 137) % 360
        let fill = buffer.label.hasPrefix("scratch") ? "#bbbbbb" : "hsl(\(hue),65%,60%)"
        var tip = "\(buffer.label): \(MemoryPlanner.megabytes(buffer.bytes)) (\(buffer.bytes) bytes) at offset \(buffer.offset), "
            + "steps \(buffer.firstUse)...\(buffer.lastUse), \(buffer.location)"
        if let of = buffer.inPlaceOf { tip += ", in place of \(of)" }
        out.append("<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(max(x1 - x0, 0.5)))\" height=\"\(f(max(y1 - y0, 0.5)))\" "
                   + "fill=\"\(fill)\" fill-opacity=\"0.85\" stroke=\"#333\" stroke-width=\"0.3\"><title>\(escape(tip))</title></rect>")
    }
    // Peak step, lower bound and arena size.
    out.append("<line x1=\"\(f(x(report.peakStep)))\" y1=\"\(f(top))\" x2=\"\(f(x(report.peakStep)))\" y2=\"\(f(top + plotHeight))\" stroke=\"#888\" stroke-dasharray=\"2 3\"><title>peak at step \(report.peakStep)</title></line>")
    let bound = y(report.lowerBoundBytes), arena = y(report.arenaBytes)
    out.append("<line x1=\"\(f(left))\" y1=\"\(f(arena))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(arena))\" stroke=\"black\"/>")
    out.append("<text x=\"\(f(left + plotWidth - 4))\" y=\"\(f(arena - 4))\" text-anchor=\"end\">arena \(escape(MemoryPlanner.megabytes(report.arenaBytes)))</text>")
    out.append("<line x1=\"\(f(left))\" y1=\"\(f(bound))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(bound))\" stroke=\"red\" stroke-dasharray=\"6 4\"/>")
    out.append("<text x=\"\(f(left + plotWidth - 4))\" y=\"\(f(bound + 14))\" text-anchor=\"end\" fill=\"red\">lower bound \(escape(MemoryPlanner.megabytes(report.lowerBoundBytes)))</text>")
    out.append("</svg>")
    return out.joined(separator: "\n") + "\n"
}

/// `1, 2, 5 x 10^k` at or above `raw`.
private func niceStep(_ raw: Double) -> Int {
    guard raw > 1 else { return 1 }
    let power = pow(10, floor(log10(raw)))
    for factor in [1.0, 2.0, 5.0, 10.0] where factor * power >= raw { return Int(factor * power) }
    return Int(10 * power)
}

/// The plan as text (`sinter dump --memory`, `memory.txt`): the summary and schedule lines, then
/// the `top` largest buffers live at the peak step with size, offset, lifetime and source line.
public func memoryTable(_ report: MemoryReport, top: Int) -> String {
    var lines = [report.line]
    if !report.scheduleLine.isEmpty { lines.append(report.scheduleLine) }
    let live = report.buffers.filter { $0.firstUse <= report.peakStep && report.peakStep <= $0.lastUse }
    let largest = live.sorted { ($0.bytes, $1.offset) > ($1.bytes, $0.offset) }.prefix(top)
    lines.append("peak at step \(report.peakStep) of \(report.steps): \(live.count) buffers live, "
                 + "\(MemoryPlanner.megabytes(live.reduce(0) { $0 + $1.bytes })); largest \(largest.count):")
    let labelWidth = max(6, largest.map(\.label.count).max() ?? 0)
    func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }
    lines.append("  " + pad("buffer", labelWidth) + "  " + pad("MB", 8, right: true) + "  " + pad("offset", 12, right: true)
                 + "  " + pad("steps", 11) + "  source")
    for buffer in largest {
        var source = buffer.location
        if let of = buffer.inPlaceOf { source += " (in place of \(of))" }
        lines.append("  " + pad(buffer.label, labelWidth) + "  " + pad(String(format: "%.2f", Double(buffer.bytes) / 1e6), 8, right: true)
                     + "  " + pad("\(buffer.offset)", 12, right: true) + "  " + pad("\(buffer.firstUse)...\(buffer.lastUse)", 11)
                     + "  " + source)
    }
    return lines.joined(separator: "\n") + "\n"
}

import Foundation
import Sinter
import SinterModels
import XCTest

/// The optimized training step of every model in Graphs/ is checked in next to the model
/// (Graphs/dumps/<model>[.<phase>].train.txt), so any change to the passes, fusion or memory
/// planning shows up as a readable diff. Regenerate them all with
///
///     SINTER_UPDATE_DUMPS=1 swift test --filter GoldenDumpTests
final class GoldenDumpTests: XCTestCase {
    static var dumpsDirectory: URL { Fixtures.packageRoot.appendingPathComponent("Graphs/dumps") }

    /// The dump of one training-step graph: pass reports, kernels, memory plan, optimized IR.
    static func dump(model: String, phase: String?, graph: Graph, batch: Int) throws -> String {
        let options = CompileOptions()
        let compilation = try compileProgram(graph, options: options)
        var text = "# Sinter golden dump: \(model)\(phase.map { " (\($0) phase)" } ?? "") training step, batch \(batch)\n"
        text += "# Regenerate: SINTER_UPDATE_DUMPS=1 swift test --filter GoldenDumpTests\n\n"
        text += "## passes\n" + compilation.reportLines.joined(separator: "\n") + "\n\n"
        text += "## kernels\n" + compilation.kernelsText + "\n"
        text += "## memory\n" + memoryTable(compilation.program.info.memory, top: 8) + "\n"
        text += "## optimized IR\n" + compilation.optimized.text
        return text
    }

    func testCheckedInDumpsMatchAFreshCompile() throws {
        let environment = ProcessInfo.processInfo.environment
        for flag in ["SINTER_NO_FUSE", "SINTER_NO_PLAN", "SINTER_NO_SCHEDULE", "SINTER_DISABLE"] where environment[flag] != nil {
            throw XCTSkip("\(flag) is set: the checked-in dumps describe the default pipeline")
        }
        let update = ProcessInfo.processInfo.environment["SINTER_UPDATE_DUMPS"] == "1"
        var mismatches: [String] = []
        var expectedFiles: Set<String> = []
        for entry in Zoo.entries {
            let phases: [(String?, (Int, Bool) throws -> Graph)] = entry.phases.isEmpty
                ? [(nil, entry.trace)] : entry.phases.map { ($0.name, $0.trace) }
            for (phase, trace) in phases {
                let fileName = "\(entry.name)\(phase.map { ".\($0)" } ?? "").train.txt"
                let url = Self.dumpsDirectory.appendingPathComponent(fileName)
                expectedFiles.insert(fileName)
                let fresh = try Self.dump(model: entry.name, phase: phase, graph: try trace(entry.defaultBatch, true),
                                          batch: entry.defaultBatch)
                if update {
                    try fresh.write(to: url, atomically: true, encoding: .utf8)
                    continue
                }
                guard let stored = try? String(contentsOf: url, encoding: .utf8) else {
                    mismatches.append("\(fileName): missing (run SINTER_UPDATE_DUMPS=1 swift test --filter GoldenDumpTests)")
                    continue
                }
                if stored != fresh {
                    let storedLines = stored.split(separator: "\n", omittingEmptySubsequences: false)
                    let freshLines = fresh.split(separator: "\n", omittingEmptySubsequences: false)
                    let first = zip(storedLines, freshLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                        ?? min(storedLines.count, freshLines.count)
                    let was = first < storedLines.count ? String(storedLines[first]) : "<end>"
                    let now = first < freshLines.count ? String(freshLines[first]) : "<end>"
                    mismatches.append("\(fileName):\(first + 1): checked in \"\(was)\", now \"\(now)\"")
                }
            }
        }
        // Not vacuous: there are dumps to compare, and none is left over from a model that is gone.
        XCTAssertGreaterThan(expectedFiles.count, 0, "no zoo model to dump")
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: try Fixtures.directory("Graphs/dumps").path)
            .filter { !$0.hasPrefix(".") })
        XCTAssertEqual(present.subtracting(expectedFiles), [], "dumps in Graphs/dumps of no zoo model (delete them)")
        XCTAssert(mismatches.isEmpty, "optimized dumps changed; review and regenerate with SINTER_UPDATE_DUMPS=1 swift test --filter GoldenDumpTests\n"
                  + mismatches.joined(separator: "\n"))
    }
}

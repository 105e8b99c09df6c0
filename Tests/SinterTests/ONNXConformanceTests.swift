import Foundation
import Sinter
import XCTest

/// Issue 11 item 3: every ONNX backend node test of every supported operator, imported,
/// compiled and compared with the expected outputs. A case may skip only with the importer's
/// own refusal (an unsupported attribute or type, named); a case that imports must pass.
/// Set SINTER_ONNX_TABLE=FILE to write the per-operator table of Docs/onnx.md.
final class ONNXConformanceTests: XCTestCase {
    func testBackendNodeTests() throws {
        let wheel = try RegistryWheel.onnx.path()
        let (cases, unsupported) = try ONNXNodeSuite.load(wheel: wheel)
        let outcomes = ONNXNodeSuite.run(cases)
        var failures: [String] = []
        for c in cases {
            if case let .failed(why)? = outcomes[c.name] { failures.append("\(c.name): \(why)") }
        }
        XCTAssertEqual(failures, [], "node tests that import but do not match")
        let passed = outcomes.values.filter { $0 == .passed }.count
        // Docs/onnx.md's table: an importer change that turns passing cases into skips fails here.
        XCTAssertGreaterThanOrEqual(passed, 633, "fewer node tests pass than the 633 Docs/onnx.md lists")
        let table = ONNXConformanceTable.markdown(cases, outcomes, unsupported: unsupported)
        if let path = ProcessInfo.processInfo.environment["SINTER_ONNX_TABLE"], !path.isEmpty {
            try table.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}

/// The table of Docs/onnx.md: per operator, node tests passed of those listed, then every skip
/// with its reason.
enum ONNXConformanceTable {
    static func markdown(_ cases: [ONNXNodeSuite.Case], _ outcomes: [String: ONNXNodeSuite.Outcome], unsupported: Int) -> String {
        let categories = Dictionary(grouping: cases, by: \.category)
        var lines = ["| operator | node tests | pass | skip | fail |", "|---|---|---|---|---|"]
        var skips: [String] = []
        var skipped: [String: [String]] = [:]
        var totals = (0, 0, 0, 0)
        for name in categories.keys.sorted() {
            let group = categories[name]!
            var pass = 0, skip = 0, fail = 0
            for c in group {
                switch outcomes[c.name] {
                case .passed?: pass += 1
                case let .skipped(why)?: skip += 1; skipped["\(name): \(why)", default: []].append(c.name)
                default: fail += 1
                }
            }
            lines.append("| \(name) | \(group.count) | \(pass) | \(skip) | \(fail) |")
            totals = (totals.0 + group.count, totals.1 + pass, totals.2 + skip, totals.3 + fail)
        }
        // One line per operator and reason, with the tests it skips.
        for key in skipped.keys.sorted() {
            let names = skipped[key]!.map { "`\($0.dropFirst(5))`" }.joined(separator: ", ")
            skips.append("- \(key) (\(skipped[key]!.count)): \(names)")
        }
        lines.append("| **all** | \(totals.0) | \(totals.1) | \(totals.2) | \(totals.3) |")
        return lines.joined(separator: "\n") + "\n\n\(unsupported) further node tests use an operator Sinter does not import.\n\n"
            + "Skips, by operator and reason (test names without their `test_` prefix):\n\n"
            + skips.joined(separator: "\n") + "\n"
    }
}

import Foundation
import Sinter
import SinterModels
import XCTest

/// `sinter dump MODEL --after plan` and `SINTER_STRATEGY` end to end: the printed plan is the
/// one the library builds, a forced strategy shows in its reason, bad values are refused in one
/// line naming the choices.
final class PlanDumpCLITests: CLITestCase {
    override class var folderPrefix: String { "plan-dump" }

    private func dump(_ arguments: [String], strategy: String? = nil) throws -> SinterProcess.Result {
        var environment = ["XDG_CACHE_HOME": path("cache")]
        if let strategy { environment["SINTER_STRATEGY"] = strategy }
        return try SinterProcess.run(["dump"] + arguments, environment: environment, in: directory)
    }

    func testAfterPlanPrintsTheLibrarysPlan() throws {
        let result = try dump(["dense-autoencoder", "--batch", "8", "--after", "plan"])
        XCTAssertEqual(result.status, 0, result.err)
        let entry = try Zoo.entry(named: "dense-autoencoder")
        let plan = try compileProgram(try entry.trace(8, false), options: CompileOptions()).plan
        XCTAssertEqual(result.out, plan.text)
        XCTAssertTrue(result.out.contains("  strategy: gemm, "), result.out)
    }

    func testStrategyFromTheEnvironmentShowsInThePlan() throws {
        let result = try dump(["dense-autoencoder", "--batch", "8", "--after", "plan"], strategy: "matmul:loops")
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.out.contains("  strategy: loops, forced (matmul:loops) instead of gemm by the cost rule"), result.out)
        XCTAssertFalse(result.out.contains("  strategy: gemm, "), result.out)
    }

    func testBadStrategiesAndFormatsAreRefused() throws {
        for (strategy, fragments) in [("conv2d:direct", ["SINTER_STRATEGY", "unknown conv2d strategy 'direct'", "gemm-window"]),
                                      ("conv3d:gemm", ["SINTER_STRATEGY", "unknown op kind 'conv3d'", "matmul (gemm, loops)"])] {
            let result = try dump(["dense-autoencoder", "--after", "plan"], strategy: strategy)
            XCTAssertNotEqual(result.status, 0)
            let first = result.err.split(separator: "\n").first.map(String.init) ?? ""
            for fragment in fragments { XCTAssertTrue(first.contains(fragment), "'\(fragment)' not in: \(result.err)") }
        }
        try assertRefusedInOneLine(["dump", "dense-autoencoder", "--after", "plan", "--format", "json"], ["--after plan prints text only"])
        try assertRefusedInOneLine(["dump", "dense-autoencoder", "--after", "planz"], ["unknown pass 'planz'", "all, plan"])
    }
}

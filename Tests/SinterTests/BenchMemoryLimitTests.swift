import Foundation
import XCTest

/// `sinter bench` compiles its CProgram itself (cold and cached), not through compileGraph: it must
/// still refuse a graph over `SINTER_MAX_BYTES`, and before the cold compile spends time on it.
final class BenchMemoryLimitTests: XCTestCase {
    func testBenchRefusesAGraphOverTheLimitAndABadLimit() throws {
        let directory = try SinterProcess.temporaryDirectory("bench-limit")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = directory.appendingPathComponent("cache").path
        let over = try SinterProcess.run(["bench", "autoencoder", "--train", "--batch", "600", "--steps", "1"],
                                         environment: ["XDG_CACHE_HOME": cache, "SINTER_MAX_BYTES": "64M"],
                                         in: directory, timeout: 120)
        XCTAssertNotEqual(over.status, 0)
        XCTAssertTrue(over.err.contains("the memory limit (SINTER_MAX_BYTES) is 67108864 bytes"), over.err)

        let bad = try SinterProcess.run(["bench", "autoencoder", "--batch", "2", "--steps", "1"],
                                        environment: ["XDG_CACHE_HOME": cache, "SINTER_MAX_BYTES": "lots"],
                                        in: directory, timeout: 120)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("SINTER_MAX_BYTES='lots' is not a byte count"), bad.err)
    }
}

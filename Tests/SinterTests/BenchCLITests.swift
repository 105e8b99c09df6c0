import Foundation
import XCTest

/// `sinter bench` on the command line: the JSON of a whole GAN iteration (both phases, in
/// order, with their own times) and of a single-phase model, the JSON of `--op` (every field the
/// peer comparison reads, the result checked against the f64 reference on every element of a
/// small shape, the thread count it was given), and the refused option combinations. Nothing
/// here depends on how fast anything runs.
final class BenchCLITests: CLITestCase {
    override class var folderPrefix: String { "bench" }

    /// Runs a bench that must succeed and returns its JSON lines.
    func benchJSON(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let result = try sinter(["bench"] + arguments + ["--format", "json"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.err, file: file, line: line)
        let records = try result.out.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssert(!records.isEmpty && records.allSatisfy { $0 != nil }, "not one JSON object a line:\n\(result.out)", file: file, line: line)
        return records.compactMap { $0 }
    }

    /// The one record of a bench that prints one.
    func benchRecord(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let records = try benchJSON(arguments, file: file, line: line)
        XCTAssertEqual(records.count, 1, file: file, line: line)
        return records.first ?? [:]
    }

    func number(_ record: [String: Any], _ key: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
        guard let value = (record[key] as? NSNumber)?.doubleValue else {
            XCTFail("no number \(key) in \(record)", file: file, line: line)
            return .nan
        }
        return value
    }

    /// One timed iteration, so the iteration's time is exactly the sum of its phases'.
    func testBenchOfAGANTimesTheDiscriminatorThenTheGeneratorPhase() throws {
        let record = try benchRecord(["gan", "--train", "--batch", "8", "--steps", "1", "--warmup", "1", "--top", "3"])
        XCTAssertEqual(record["phases"] as? [String], ["discriminator", "generator"])
        guard let stats = record["phase_stats"] as? [String: [String: Any]] else { return XCTFail("no phase_stats in \(record)") }
        XCTAssertEqual(Set(stats.keys), ["discriminator", "generator"])
        let phaseSum = stats.values.map { number($0, "median_ms") }.reduce(0, +)
        XCTAssertEqual(number(record, "median_ms"), phaseSum, accuracy: 1e-6)
        XCTAssertEqual(number(record, "gflop_per_step"), stats.values.map { number($0, "gflop_per_step") }.reduce(0, +), accuracy: 1e-9)
        for key in ["min_ms", "peak_rss_mb", "compile_cold_s", "compile_cached_s", "images_per_s", "threads"] {
            XCTAssertGreaterThan(number(record, key), 0, key)
        }
        XCTAssertEqual(number(record, "batch"), 8)
        let slowest = record["slowest_kernels"] as? [[String: Any]] ?? []
        XCTAssertEqual(slowest.count, 3)
        for kernel in slowest { XCTAssert(["discriminator", "generator"].contains(kernel["phase"] as? String ?? ""), "\(kernel)") }
    }

    func testBenchOfASinglePhaseModelNamesItsOnePhase() throws {
        for (flags, phase) in [(["--train"], "train"), ([], "forward")] {
            let record = try benchRecord(["dense-autoencoder", "--batch", "4", "--steps", "2", "--top", "0"] + flags)
            XCTAssertEqual(record["phases"] as? [String], [phase])
            XCTAssertEqual((record["slowest_kernels"] as? [Any])?.count, 0)
            XCTAssertLessThanOrEqual(number(record, "min_ms"), number(record, "median_ms"))
        }
    }

    /// The result is checked on every element of a small shape; the FLOPs are the dense count.
    func testOpBenchOfAMatmulChecksEveryElementAndReportsItsGeometry() throws {
        let record = try benchRecord(["--op", "matmul", "--shape", "33x17x9", "--steps", "2", "--warmup", "0"])
        XCTAssertEqual(record["op"] as? String, "matmul")
        XCTAssertEqual(record["shape"] as? String, "33x17x9")
        XCTAssertEqual(record["result_shape"] as? [Int], [33, 17])
        XCTAssertEqual(number(record, "gflop"), 2.0 * 33 * 17 * 9 / 1e9, accuracy: 1e-15)
        XCTAssertEqual(number(record, "checked_elements"), 33 * 17)
        XCTAssertEqual(number(record, "result_elements"), 33 * 17)
        XCTAssertLessThanOrEqual(number(record, "check_worst_ratio"), 1)
        XCTAssertEqual(number(record, "steps"), 2)
        for key in ["median_ms", "min_ms", "gflops_median", "gflops_best", "kernel_median_ms", "peak_rss_mb", "threads"] {
            XCTAssertGreaterThan(number(record, key), 0, key)
        }
        XCTAssertLessThanOrEqual(number(record, "min_ms"), number(record, "median_ms"))
    }

    func testOpBenchOfAConvolutionAndItsGradients() throws {
        for (flags, op, result) in [([String](), "conv2d", [2, 4, 4, 4]), (["--grad", "input"], "conv2d_input_grad", [2, 7, 7, 3]),
                                    (["--grad", "filter"], "conv2d_filter_grad", [3, 3, 3, 4])] {
            for padding in ["same", "valid"] {
                let record = try benchRecord(["--op", "conv2d", "--shape", "2x7x7x3,3x3x3x4", "--stride", "2", "--padding", padding,
                                            "--steps", "1", "--warmup", "0"] + flags)
                XCTAssertEqual(record["op"] as? String, op)
                XCTAssertEqual(record["padding"] as? String, padding)
                XCTAssertEqual(record["pads"] as? [Int], padding == "same" ? [1, 1, 1, 1] : [0, 0, 0, 0])
                let expected = op == "conv2d" && padding == "valid" ? [2, 3, 3, 4] : result
                XCTAssertEqual(record["result_shape"] as? [Int], expected, "\(op) \(padding)")
                XCTAssertEqual(number(record, "checked_elements"), Double(expected.reduce(1, *)), "\(op) \(padding)")
                XCTAssertEqual(number(record, "gflop"), 2.0 * 2 * 9 * 3 * 4 * Double(padding == "same" ? 16 : 9) / 1e9, accuracy: 1e-15)
            }
        }
    }

    /// `--threads` reaches the kernels' OpenMP team (a matmul big enough to be split).
    func testThreadsOptionSetsTheKernelsTeamSize() throws {
        for threads in [1, 2] {
            let record = try benchRecord(["--op", "matmul", "--shape", "256x256x256", "--steps", "1", "--warmup", "0", "--threads", "\(threads)"])
            XCTAssertEqual(number(record, "threads"), Double(threads))
        }
    }

    /// The model bench emits its C itself (not through compileGraph): it must honour
    /// SINTER_STRATEGY as every compile does, and refuse a bad one before compiling.
    func testModelBenchHonoursStrategyOverrides() throws {
        let environment = ["XDG_CACHE_HOME": path("cache")]
        let bad = try SinterProcess.run(["bench", "gan", "--train", "--batch", "2", "--steps", "1", "--top", "0"],
                                        environment: environment.merging(["SINTER_STRATEGY": "matmul:winograd"]) { $1 },
                                        in: directory, timeout: 300)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("SINTER_STRATEGY") && bad.err.contains("winograd"), bad.err)
        let forced = try SinterProcess.run(["bench", "gan", "--train", "--batch", "2", "--steps", "1", "--top", "0"],
                                           environment: environment.merging(["SINTER_STRATEGY": "matmul:loops"]) { $1 },
                                           in: directory, timeout: 300)
        XCTAssertEqual(forced.status, 0, forced.err)
    }

    func testBenchRefusesOptionsThatDoNotGoTogether() throws {
        let cases: [([String], [String])] = [
            (["bench"], ["give a model name or --op"]),
            (["bench", "autoencoder", "--op", "matmul"], ["not both"]),
            (["bench", "--op", "conv3d"], ["--op must be matmul or conv2d", "conv3d"]),
            (["bench", "--op", "matmul", "--shape", "2x3"], ["--shape '2x3'", "3 whole numbers"]),
            (["bench", "--op", "matmul", "--grad", "input"], ["--grad applies to --op conv2d"]),
            (["bench", "--op", "matmul", "--train"], ["--train applies to models"]),
            (["bench", "--op", "conv2d", "--shape", "1x4x4x3,3x3x2x4"], ["3 channels"]),
            (["bench", "--op", "conv2d", "--shape", "1x2x2x3,3x3x3x4", "--padding", "valid"], ["does not fit"]),
            (["bench", "--op", "conv2d", "--padding", "full"], ["--padding", "same or valid"]),
            (["bench", "--op", "conv2d", "--grad", "bias"], ["--grad", "input or filter"]),
            (["bench", "--op", "conv2d", "--stride", "0"], ["--stride", "got 0"]),
            // Refused by the memory guard before anything is compiled or allocated.
            (["bench", "--op", "matmul", "--shape", "1048576x1048576x1048576"], ["the graph needs", "physical memory"]),
            (["bench", "autoencoder", "--shape", "2x2x2"], ["--shape applies to --op"]),
            (["bench", "autoencoder", "--threads", "0"], ["--threads", "got 0"]),
        ]
        for (arguments, fragments) in cases { try assertRefusedInOneLine(arguments, fragments) }
    }
}

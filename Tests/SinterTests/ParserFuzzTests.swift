import SinterFuzzing
import XCTest

/// Seeded, bounded fuzzing of the data-file parsers (issue 7): mutants of valid seed files go
/// through the real parsers; every failure must be a thrown SinterError. A crash kills the test
/// process, which is the failure signal; `sinter-fuzz <target> --seed N` replays a seed at length.
final class ParserFuzzTests: XCTestCase {
    func fuzz(_ target: FuzzTarget, seed: UInt64 = 7, iterations: Int = 10_000, line: UInt = #line) throws {
        let report = try FuzzRunner.run(target, seed: seed, iterations: iterations)
        XCTAssertEqual(report.iterations, iterations, line: line)
        XCTAssertEqual(report.unexpected, [], "\(report)", line: line)
        // The mutants must reach both outcomes, or the fuzzer is not exercising the parser.
        XCTAssertGreaterThan(report.accepted, 0, "\(report)", line: line)
        XCTAssertGreaterThan(report.errorsByKind.values.reduce(0, +), iterations / 4, "\(report)", line: line)
    }

    func testSafetensors() throws { try fuzz(.safetensors) }
    func testIDXPlainAndGzip() throws { try fuzz(.idx) }
    func testGzip() throws { try fuzz(.gzip) }
    func testZstd() throws { try fuzz(.zstd) }
    func testPNG() throws { try fuzz(.png) }
    func testJPEG() throws { try fuzz(.jpeg) }
    func testZip() throws { try fuzz(.zip) }
    func testRestrictedUnpickler() throws { try fuzz(.pickle) }
    func testTorchCheckpoint() throws { try fuzz(.torch) }
    func testONNXModel() throws { try fuzz(.onnx) }

    func testMutatorIsDeterministic() {
        var a = Mutator(seed: 42), b = Mutator(seed: 42)
        let input = Array("{\"w\":{\"shape\":[2,3]}}".utf8)
        for _ in 0..<100 { XCTAssertEqual(a.mutate(input), b.mutate(input)) }
    }
}

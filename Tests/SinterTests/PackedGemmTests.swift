import Foundation
import SinterCodegen
import SinterRuntime
import XCTest

/// Codegen/sinter_gemm_packed.h on its own: Tests/CPrograms/packed_gemm_check.c is built with the
/// system C compiler against the embedded headers (exactly the text generated code includes) and
/// run, once per register tile the header has for this machine. The program checks every case
/// against a wide reference and against an emulation of the documented summation order, and the
/// task grids of several thread counts (and OpenMP threads) for bit-equality; see its comment.
final class PackedGemmTests: XCTestCase {
    /// Builds the check with `flags` (warnings are errors, as for generated code) and runs it.
    private func runCheck(_ flags: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-pgemm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, text) in EmbeddedCodegen.files {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let source = try Fixtures.file("Tests/CPrograms/packed_gemm_check.c")
        let compiler = try CCompiler(environment: ProcessInfo.processInfo.environment.filter { $0.key != "SINTER_CFLAGS" })
        let openMP = compiler.supportsOpenMP ? ["-fopenmp"] : []
        let build = try Command.run(compiler.path, ["-O2"] + flags + openMP + ["-std=c11", "-fno-strict-aliasing", "-Wall", "-Wextra",
                                    "-Werror", "-I.", source.path, "-o", "check", "-lm"], in: directory)
        XCTAssertEqual(build.status, 0, "build with \(flags): \(build.output)", file: file, line: line)
        guard build.status == 0 else { return }
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "2"
        let run = try Command.run(directory.appendingPathComponent("check").path, [], in: directory, environment: environment)
        XCTAssertEqual(run.status, 0, "\(flags):\n\(run.output)", file: file, line: line)
        XCTAssertTrue(run.output.contains("checked 104 cases"), "\(flags):\n\(run.output)", file: file, line: line)
    }

    /// The tile of the machine the tests run on (AVX-512 12 x 32 here).
    func testNativeTile() throws {
        try runCheck(["-march=native"])
    }

    /// The AVX2 tile (6 x 16) and the portable 16-byte one (6 x 8), where this machine runs them.
    func testAVX2AndPortableTiles() throws {
        #if arch(x86_64)
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = Set(cpu.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        if flags.contains("avx2") && flags.contains("fma") { try runCheck(["-mavx2", "-mfma"]) }
        try runCheck(["-march=x86-64"])
        #else
        throw XCTSkip("the x86 tiles are checked on x86-64 machines only")
        #endif
    }
}

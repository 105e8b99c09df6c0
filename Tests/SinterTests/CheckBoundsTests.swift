import Foundation
import Sinter
import XCTest

/// `--check-bounds` (CodegenOptions.checkBounds, CheckBuild.swift, MemoryPlanGuards.swift): the
/// checking build leaves guard zones around every arena buffer and verifies them after each
/// kernel, so a kernel that writes one element outside its buffer is named.
final class CheckBoundsTests: XCTestCase {
    /// y = relu(x) * 2 on f32[3] (12 bytes: the tail zone starts inside the alignment padding),
    /// unfused so each kernel writes through a plain `y` pointer.
    func program(checkBounds: Bool) throws -> (CProgram, mulKernel: String) {
        let builder = GraphBuilder(name: "bounds", dtype: .f32, training: false)
        let x = builder.input("x", [3])
        let y = x.relu() * 2
        try builder.graph.addOutput("y", y.id)
        var options = CompileOptions()
        options.codegen.fuse = false
        options.codegen.checkBounds = checkBounds
        let compilation = try compileProgram(try builder.finish(), options: options)
        let mul = try XCTUnwrap(compilation.program.info.kernels.first { $0.ops == ["mul"] })
        return (compilation.program, mul.name)
    }

    /// The program with `statement` added at the top of kernel `name` (a deliberate bug).
    func injecting(_ statement: String, into name: String, _ program: CProgram) throws -> CProgram {
        var lines = program.source.components(separatedBy: "\n")
        let header = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("static void \(name)(") && $0.hasSuffix("{") }, "no kernel \(name)")
        lines.insert("    \(statement) /* injected off-by-one */", at: header + 1)
        var bad = program
        bad.source = lines.joined(separator: "\n")
        return bad
    }

    let feeds = ["x": HostTensor(shape: [3], floats: [-1, 2, 3])]

    func testAWriteOneElementPastTheEndIsNamed() throws {
        let (program, mul) = try program(checkBounds: true)
        XCTAssertEqual(try Runtime.compile(program).run(feeds)["y"]?.floats, [0, 4, 6], "the correct program passes")
        let bad = try Runtime.compile(try injecting("y[3] = 1.0f;", into: mul, program))
        XCTAssertThrowsError(try bad.run(feeds)) { error in
            let text = "\(error)"
            XCTAssert(text.contains("check-bounds: kernel \(mul) (op mul at "), text)
            XCTAssert(text.contains("wrote outside its buffer %"), text)
            XCTAssert(text.contains("(output 'y') f32[3] (12 bytes)"), text)
            XCTAssert(text.contains("byte 0 of the guard zone after the buffer"), text)
        }
    }

    func testAWriteOneElementBeforeTheStartIsNamed() throws {
        let (program, mul) = try program(checkBounds: true)
        let bad = try Runtime.compile(try injecting("y[-1] = 1.0f;", into: mul, program))
        XCTAssertThrowsError(try bad.run(feeds)) { error in
            let text = "\(error)"
            XCTAssert(text.contains("kernel \(mul)"), text)
            XCTAssert(text.contains("byte \(CodegenOptions.guardBytes - 4) of the guard zone before the buffer"), text)
        }
    }

    func testTheNormalBuildDoesNotNoticeTheSameBug() throws {
        // Why the checking build exists: without guard zones the stray write lands in padding (or
        // another buffer) and the run "succeeds".
        let (program, mul) = try program(checkBounds: false)
        XCTAssertNil(program.checks)
        let bad = try Runtime.compile(try injecting("y[3] = 1.0f;", into: mul, program))
        XCTAssertEqual(try bad.run(feeds)["y"]?.floats, [0, 4, 6])
    }

    /// Under AddressSanitizer the zones are poisoned while the kernel runs, so ASan itself stops
    /// at the stray write and names the kernel function. The unit is built into a small program
    /// with a `main` here (the test process itself does not run under ASan); skipped when the C
    /// compiler cannot link `-fsanitize=address`.
    func testUnderAddressSanitizerTheStrayWriteIsReportedAtTheFaultingKernel() throws {
        let (program, mul) = try program(checkBounds: true)
        let bad = try injecting("y[3] = 1.0f;", into: mul, program)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-asan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, text) in bad.headers { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        try bad.source.write(to: directory.appendingPathComponent("kernel.c"), atomically: true, encoding: .utf8)
        let main = """
            #include <stdint.h>
            #include <stdlib.h>
            void sinter_entry(uint8_t *arena, uint8_t *params, void *const *io);
            int main(void) {
                uint8_t *arena = aligned_alloc(64, \(max(64, (bad.arenaBytes + 63) / 64 * 64))), *params = aligned_alloc(64, 64);
                float x[3] = {-1, 2, 3}, y[3];
                void *io[2] = {x, y};
                sinter_entry(arena, params, io);
                return (int)((int64_t *)(arena + \(try XCTUnwrap(bad.checks).recordOffset)))[0];
            }
            """
        try main.write(to: directory.appendingPathComponent("main.c"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["ASAN_OPTIONS"] = "detect_leaks=0"
        func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
            try Command.run(executable, arguments, in: directory, environment: environment)
        }
        let compiler = try CCompiler(environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SINTER_") })
        let built = try run(compiler.path, ["-std=c11", "-O1", "-g", "-fsanitize=address", "-I.", "kernel.c", "main.c", "-o", "check"])
        guard built.status == 0 else { throw XCTSkip("\(compiler.path) cannot build with -fsanitize=address: \(built.output.prefix(300))") }
        let result = try run(directory.appendingPathComponent("check").path, [])
        XCTAssertNotEqual(result.status, 0)
        XCTAssert(result.output.contains("AddressSanitizer: use-after-poison"), result.output)
        XCTAssert(result.output.contains("in \(mul) "), result.output)
        // Without ASan the same unit reports the overrun through the record (kind 2 = guard).
        let plain = try run(compiler.path, ["-std=c11", "-O1", "-I.", "kernel.c", "main.c", "-o", "plain"])
        XCTAssertEqual(plain.status, 0, plain.output)
        XCTAssertEqual(try run(directory.appendingPathComponent("plain").path, []).status, 2)
    }

    /// Guard zones are owned: no buffer live at the same step as another has data inside the
    /// other's zones (seeded random lifetimes and sizes, planned and naive).
    func testGuardedPlansKeepZonesClearOfEveryLiveBuffer() throws {
        var random = SplitMix(seed: 7)
        let g = CodegenOptions.guardBytes
        for round in 0..<40 {
            var requests: [BufferRequest] = []
            for i in 0..<(2 + Int(random.next() % 30)) {
                let first = Int(random.next() % 20)
                let keyed = BufferRequest(key: .node(i), bytes: Int(random.next() % 3000), firstUse: first,
                                          lastUse: first + Int(random.next() % 6),
                                          inPlaceCandidates: i > 0 ? [.node(i - 1)] : [])
                requests.append(keyed)
            }
            for planned in [true, false] {
                let plan = MemoryPlanner.guarded(requests, guardBytes: g, plan: planned ? MemoryPlanner.plan : MemoryPlanner.naive)
                try MemoryPlanner.verify(requests, plan)
                for a in requests {
                    let offset = try XCTUnwrap(plan.offsets[a.key])
                    let zones = MemoryPlanner.guardZones(offset: offset, bytes: a.bytes, guardBytes: g)
                    XCTAssertGreaterThanOrEqual(zones.before.0, 0)
                    XCTAssertLessThanOrEqual(zones.after.0 + zones.after.1, plan.bytes)
                    XCTAssertGreaterThanOrEqual(zones.after.1, g)
                    for b in requests where b.key != a.key && a.firstUse <= b.lastUse && b.firstUse <= a.lastUse {
                        let start = plan.offsets[b.key]!, end = start + b.bytes
                        for zone in [zones.before, zones.after] where zone.1 > 0 && b.bytes > 0 {
                            let overlaps = start < zone.0 + zone.1 && zone.0 < end
                            XCTAssertFalse(overlaps, "round \(round) (\(planned ? "planned" : "naive")): \(b.key) [\(start), \(end)) overlaps a zone of \(a.key) \(zone)")
                        }
                    }
                }
            }
        }
    }
}

import Foundation
import SinterCodegen
import SinterDSL
import SinterIR
import SinterPasses
import SinterRuntime
import XCTest

/// Issue 7, item 3 (graph part): every dimension, pad, stride, window, count and element count
/// that overflows Int or exceeds the size limits is refused with an error naming the tensor and
/// the size, before anything is allocated; and the run-time memory guard refuses a program that
/// cannot fit, before the C compiler runs.
final class SizeLimitTests: XCTestCase {
    let head = "graph g {\n"

    /// Parses `body` (node lines) and expects a parse error on `line` containing `fragments`.
    func assertRefused(_ body: String, line: Int, _ fragments: String..., file: StaticString = #filePath, testLine: UInt = #line) {
        XCTAssertThrowsError(try parseIR(head + body + "}\n", file: "big.ir"), file: file, line: testLine) { error in
            guard case let SinterError.parse(path, errorLine, message) = error else {
                return XCTFail("not a parse error: \(error)", file: file, line: testLine)
            }
            XCTAssertEqual(path, "big.ir", file: file, line: testLine)
            XCTAssertEqual(errorLine, line, message, file: file, line: testLine)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: testLine)
            }
        }
    }

    func testHugeAndNegativeDimensionsInIRText() {
        let mega = 1 << 20
        assertRefused("  %0 = input {name=\"x\"} : f32[\(mega),\(mega),\(mega)] @ G.swift:1\n", line: 2,
                      "%0 input", "f32[1048576,1048576,1048576]", "1152921504606846976 elements", "limit of one tensor")
        assertRefused("  %0 = input {name=\"x\"} : f32[\(1 << 62),\(1 << 62)] @ G.swift:1\n", line: 2,
                      "%0 input", "more elements than Int can count", "2^62 x 2^62")
        assertRefused("  %0 = input {name=\"x\"} : f32[2,-3] @ G.swift:1\n", line: 2, "f32[2,-3]", "dimension -3 is negative")
        assertRefused("  %0 = constant {value=1.0} : f64[\(1 << 40),1024] @ G.swift:1\n", line: 2, "%0 constant", "bytes", "limit of one tensor")
        assertRefused("  %0 = param {init=\"zeros\", name=\"w\"} : i32[\(Int.max)] @ G.swift:1\n", line: 2, "%0 param", "'w'", "limit of one tensor")
        // A zero dimension makes any other dimension harmless.
        XCTAssertNoThrow(try parseIR(head + "  %0 = input {name=\"x\"} : f32[0,\(Int.max)] @ G.swift:1\n}\n"))
    }

    func testReshapeAndBroadcastSizes() {
        let x = "  %0 = input {name=\"x\"} : f32[4,6] @ G.swift:1\n"
        assertRefused(x + "  %1 = reshape(%0) : f32[5,5] @ G.swift:2\n", line: 3, "%1 reshape", "24 elements", "25 elements")
        assertRefused(x + "  %1 = reshape(%0) : f32[\(1 << 31),\(1 << 31),\(1 << 31)] @ G.swift:2\n", line: 3, "%1 reshape", "more elements than Int")
        assertRefused(x + "  %1 = broadcast_to(%0) : f32[\(1 << 44),4,6] @ G.swift:2\n", line: 3, "%1 broadcast_to", "limit of one tensor")
    }

    func testConcatPadAndWindowArithmeticCannotOverflow() {
        let wide = "  %0 = input {name=\"x\"} : f32[0,\(Int.max)] @ G.swift:1\n"
        assertRefused(wide + "  %1 = concat(%0, %0) {axis=1} : f32[0,1] @ G.swift:2\n", line: 3, "%1 concat", "overflows Int")
        let x = "  %0 = input {name=\"x\"} : f32[1,4,4,1] @ G.swift:1\n"
        assertRefused(x + "  %1 = pad(%0) {mode=\"constant\", pads=[0,0,\(Int.max),\(Int.max),0,0,0,0]} : f32[1,4,4,1] @ G.swift:2\n",
                      line: 3, "%1 pad", "overflow Int")
        let pool = { (window: String, strides: String, pads: String) in
            x + "  %1 = max_pool(%0) {pads=\(pads), strides=\(strides), window=\(window)} : f32[1,1,1,1] @ G.swift:2\n"
        }
        assertRefused(pool("[2,2]", "[1,1]", "[\(Int.max),\(Int.max),0,0]"), line: 3, "%1 max_pool", "do not fit")
        assertRefused(pool("[2,2]", "[0,1]", "[0,0,0,0]"), line: 3, "stride 0")
        assertRefused(pool("[2,2]", "[-1,1]", "[0,0,0,0]"), line: 3, "stride -1")
        assertRefused(pool("[0,2]", "[1,1]", "[0,0,0,0]"), line: 3, "window 0")
        assertRefused(pool("[\(Int.max),2]", "[1,1]", "[0,0,0,0]"), line: 3, "window \(Int.max)")
        assertRefused(pool("[2,2]", "[1,1]", "[-1,0,0,0]"), line: 3, "pads (-1,0)")
        let w = "  %1 = param {init=\"zeros\", name=\"w\"} : f32[3,3,1,2] @ G.swift:2\n"
        assertRefused(x + w + "  %2 = conv2d(%0, %1) {pads=[\(Int.max),1,1,1], strides=[1,1]} : f32[1,4,4,2] @ G.swift:3\n",
                      line: 4, "%2 conv2d", "do not fit")
    }

    /// Each tensor under the limit, the whole graph over it: refused by the verifier and by codegen.
    func testGraphTotalIsBounded() throws {
        var text = head
        let count = SizeLimits.maxGraphBytes / SizeLimits.maxTensorBytes + 1
        for i in 0..<count { text += "  %\(i) = constant {value=1.0} : f32[\(SizeLimits.maxTensorBytes / 4)] @ G.swift:\(i)\n" }
        for i in 0..<count { text += "  output \"y\(i)\" = %\(i)\n" }
        let graph = try parseIR(text + "}\n")
        for attempt in [{ try graph.verify() }, { _ = try emitC(graph, options: CodegenOptions()) }] {
            XCTAssertThrowsError(try attempt()) { error in
                guard case let SinterError.verify(message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("more than \(SizeLimits.maxGraphBytes) bytes"), message)
                XCTAssertTrue(message.contains("%\(count - 1) constant"), message)
            }
        }
    }

    func testFlopCountsSaturate() throws {
        let n = 1 << 23  // two 2^23 x 2^23 f32 matrices: 2^48 bytes each, 2^70 flops
        let graph = try parseIR(head + """
              %0 = input {name="a"} : f32[\(n),\(n)] @ G.swift:1
              %1 = matmul(%0, %0) : f32[\(n),\(n)] @ G.swift:2
              output "y" = %1
            }
            """)
        XCTAssertEqual(Cost.flops(graph, 1), Int.max)
        XCTAssertEqual(Cost.totalFlops(graph), Int.max)
        // Emitting is fine (nothing is allocated); the memory guard refuses it on this machine.
        let program = try emitC(graph, options: CodegenOptions())
        XCTAssertThrowsError(try MemoryGuard.check(program, limit: nil)) { error in
            guard case let SinterError.runtime(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("physical memory"), message)
            XCTAssertTrue(message.contains("I/O \(2 * n * n * 4)"), message)
        }
    }

    // MARK: - DSL

    func testDSLShapeArithmeticRecordsErrorsInsteadOfTrapping() {
        func refused(_ what: String, _ fragment: String, _ body: (GraphBuilder) -> Void) {
            let builder = GraphBuilder(name: "dsl")
            body(builder)
            XCTAssertThrowsError(try builder.finish(), what) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(what): \(error)")
            }
        }
        refused("reshape -1 with an overflowing rest", "cannot reshape") { b in
            _ = b.input("x", [2, 3]).reshaped([-1, Int.max, 2])
        }
        refused("reshape with two holes", "cannot reshape") { b in _ = b.input("x", [2, 3]).reshaped([-1, -1]) }
        refused("reshape to a huge shape", "limit of one tensor") { b in _ = b.input("x", [2, 3]).reshaped([1 << 40, 1 << 20]) }
        refused("huge input", "more elements than Int") { b in _ = b.input("x", [1 << 40, 1 << 40]) }
        refused("broadcast to a huge shape", "limit of one tensor") { b in _ = b.input("x", [1, 3]).broadcast(to: [1 << 50, 3]) }
        refused("split into a huge count", "cannot split") { b in _ = b.input("x", [2, 4]).split(Int.max) }
        refused("conv stride 0", "stride 0") { b in
            let layer = Conv2D(2, kernel: 3, strides: 0, name: "c")
            _ = layer(b.input("x", [1, 8, 8, 1]))
        }
        refused("conv huge kernel", "'c.kernel'") { b in
            let layer = Conv2D(2, kernel: Int.max, name: "c")
            _ = layer(b.input("x", [1, 8, 8, 1]))
        }
        refused("transposed conv huge stride", "conv2d_input_grad") { b in
            let layer = Conv2DTranspose(2, kernel: 3, strides: Int.max / 2, name: "t")
            _ = layer(b.input("x", [1, 8, 8, 1]))
        }
        refused("pool window 0", "window 0") { b in _ = MaxPool(0)(b.input("x", [1, 8, 8, 1])) }
        refused("up-sampling by a huge factor", "more elements than Int") { b in _ = upSample(b.input("x", [1, 8, 8, 1]), Int.max) }
        refused("concat overflow", "overflows Int") { b in
            let x = b.input("x", [0, Int.max])
            _ = concat([x, x], axis: 1)
        }
    }

    // MARK: - Memory guard

    func smallProgram() throws -> CProgram {
        let graph = try parseIR(head + """
              %0 = input {name="x"} : f32[256,256] @ G.swift:1
              %1 = relu(%0) : f32[256,256] @ G.swift:2
              %2 = exp(%1) : f32[256,256] @ G.swift:3
              output "y" = %2
            }
            """)
        return try emitC(graph, options: CodegenOptions())
    }

    func testMemoryGuardRefusesBeforeCompiling() throws {
        let program = try smallProgram()
        let plan = try MemoryGuard.plan(program)
        XCTAssertEqual(plan.io, 2 * 256 * 256 * 4)
        XCTAssertEqual(plan.total, plan.arena + plan.parameters + plan.io)

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-guard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SINTER_") }
        env["XDG_CACHE_HOME"] = root.path
        let cache = try KernelCache(environment: env)
        XCTAssertThrowsError(try Runtime.compile(program, cache: cache, memoryLimit: 100_000)) { error in
            XCTAssertEqual(error as? SinterError, .runtime(message:
                "the graph needs \(plan.total) bytes (arena \(plan.arena) + parameters \(plan.parameters) + I/O \(plan.io)) "
                + "but the memory limit (SINTER_MAX_BYTES) is 100000 bytes; use a smaller batch or model, or raise the limit"))
        }
        // The C compiler never ran: no entry, no build directory.
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: cache.directory.path)) ?? []).filter { $0 != "probes" }
        XCTAssertTrue(entries.isEmpty, "\(entries)")

        // Executable checks on its own, before loading the library (this path does not exist).
        let report = CompileReport(key: "k", libraryPath: "/nonexistent/kernel.so", directory: "/nonexistent", cacheHit: false,
                                   seconds: 0, command: "")
        XCTAssertThrowsError(try Executable(program: program, report: report, memoryLimit: plan.total - 1)) { error in
            XCTAssertTrue("\(error)".contains("the graph needs \(plan.total) bytes"), "\(error)")
        }
        // At the limit it fits and runs.
        let executable = try Runtime.compile(program, cache: cache, memoryLimit: plan.total)
        let y = try executable.run(["x": HostTensor(shape: [256, 256], floats: [Float](repeating: -1, count: 256 * 256))])["y"]
        XCTAssertEqual(y?.floats.first, 1)
    }

    func testHandBuiltProgramWithOverflowingSlotsIsRefused() {
        let program = CProgram(source: "", headers: [:], arenaBytes: Int.max - 3, paramBlockBytes: 0, persistent: [],
                               inputs: [], outputs: [])
        XCTAssertThrowsError(try MemoryGuard.plan(program)) { error in
            XCTAssertTrue("\(error)".contains("arena does not fit in Int bytes"), "\(error)")
        }
        let slots = CProgram(source: "", headers: [:], arenaBytes: 0, paramBlockBytes: 0, persistent: [],
                             inputs: [.init(name: "x", type: TensorType(.f64, [1 << 62, 4]))], outputs: [])
        XCTAssertThrowsError(try MemoryGuard.plan(slots)) { error in
            XCTAssertTrue("\(error)".contains("input 'x'"), "\(error)")
        }
    }

    func testByteCountParsing() {
        XCTAssertEqual(MemoryGuard.parseByteCount("1048576"), 1 << 20)
        XCTAssertEqual(MemoryGuard.parseByteCount("512M"), 512 << 20)
        XCTAssertEqual(MemoryGuard.parseByteCount("8g"), 8 << 30)
        XCTAssertEqual(MemoryGuard.parseByteCount(" 2T "), 2 << 40)
        for bad in ["", "0", "-5", "1.5G", "abc", "12Q", "99999999999999999999", "9000000000000T"] {
            XCTAssertNil(MemoryGuard.parseByteCount(bad), bad)
        }
    }
}

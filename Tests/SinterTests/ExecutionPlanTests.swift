import Foundation
import Sinter
import XCTest

/// The execution plan (Docs/strategies.md, Docs/dumps.md `--after plan`): its printed structure
/// against the memory plan and kernel list built independently, the strategy every kernel
/// logs, forcing a strategy (the reason changes, the values match an f64 reference computed
/// here), and the errors for strategy names that do not exist.
final class ExecutionPlanTests: XCTestCase {
    private let at = SourceLocation(file: "ExecutionPlanTests.swift", line: 0)

    private func input(_ g: Graph, _ name: String, _ shape: [Int], _ dtype: DType = .f32) throws -> Int {
        try g.add(.input, [], Attributes(["name": .string(name)]), type: TensorType(dtype, shape), at: at)
    }

    /// conv2d + bias + relu, then a max pool: two kernels (an anchor with its epilogue, a pool).
    private func convGraph() throws -> (graph: Graph, conv: Int, relu: Int, pool: Int) {
        let g = Graph(name: "plan_conv")
        let x = try input(g, "x", [2, 6, 5, 3])
        let w = try input(g, "w", [3, 3, 3, 4])
        let b = try input(g, "b", [4])
        let conv = try g.add(.conv2d, [x, w], Attributes(["strides": .ints([1, 1]), "pads": .ints([1, 1, 1, 1])]), at: at)
        let relu = try g.add(.relu, [try g.add(.add, [conv, b], at: at)], at: at)
        let pool = try g.add(.maxPool, [relu], Attributes(["window": .ints([2, 2]), "strides": .ints([2, 2]), "pads": .ints([0, 0, 0, 0])]), at: at)
        try g.addOutput("y", relu)
        try g.addOutput("p", pool)
        return (g, conv, relu, pool)
    }

    /// relu(a @ b + bias) (integers: a @ b + bias), a [5, 7], b [7, 6] or transposed [6, 7], both
    /// with a leading `batch` dimension when batch > 1: a matmul with a fused epilogue.
    private func matmulGraph(_ dtype: DType = .f32, batch: Int = 1, transposeB: Bool = false) throws -> (graph: Graph, matmul: Int) {
        let g = Graph(name: "plan_matmul")
        let lead = batch > 1 ? [batch] : []
        let a = try input(g, "a", lead + [5, 7], dtype), b = try input(g, "b", lead + (transposeB ? [6, 7] : [7, 6]), dtype)
        let bias = try input(g, "bias", [6], dtype)
        let matmul = try g.add(.matmul, [a, b], Attributes(["transpose_b": .bool(transposeB)]), at: at)
        let sum = try g.add(.add, [matmul, bias], at: at)
        let y = dtype.isFloat ? try g.add(.relu, [sum], at: at) : sum
        try g.addOutput("y", y)
        return (g, matmul)
    }

    func testPlanDumpOfASmallGraph() throws {
        let (g, conv, relu, pool) = try convGraph()
        let plan = try ExecutionPlan(g, options: CodegenOptions())
        let program = try emitC(plan)
        XCTAssertEqual(plan.kernels.map(\.name), program.info.kernels.map(\.name))
        XCTAssertEqual(plan.kernels.map(\.kind), [.conv2d, .pool])
        XCTAssertEqual(plan.kernels.map(\.anchor), [conv, pool])

        let lines = plan.text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "# execution plan of plan_conv: 2 pure kernel(s), then 0 effect(s)")
        XCTAssertTrue(lines.contains("# \(program.info.fusionLine)"), plan.text)
        XCTAssertTrue(lines.contains("# \(program.info.memory.line)"), plan.text)
        // Seven lines per kernel: header, geometry, strategy, threads, scratch, reads, writes.
        guard let k = lines.firstIndex(where: { $0.hasPrefix("k\(conv) (step 0) conv2d: ") }), k + 6 < lines.count else {
            return XCTFail("no conv2d kernel at step 0 in\n\(plan.text)")
        }
        XCTAssertEqual(lines[k], "k\(conv) (step 0) conv2d: %\(conv) conv2d + %\(conv + 1) add + %\(relu) relu")
        let multiplyAdds: Int = 2 * 6 * 5 * 4 * 3 * 3 * 3  // outputs x window taps x input channels
        XCTAssertEqual(lines[k + 1], "  geometry: x [2,6,5,3], w [3,3,3,4], y [2,6,5,4], strides 1x1, pads top 1 left 1; \(multiplyAdds) multiply-adds")
        XCTAssertTrue(lines[k + 2].hasPrefix("  strategy: gemm-window, ") && lines[k + 2].contains("x cheaper than winograd-f2 ("), lines[k + 2])
        XCTAssertEqual(lines[k + 3], "  threads: one thread: \(multiplyAdds / 4) element ops (\(multiplyAdds) multiply-adds / 4) < \(CodegenOptions.defaultSplitWork)")
        XCTAssertEqual(lines[k + 4], "  scratch: none")
        XCTAssertEqual(lines[k + 5], "  reads: %0 io[0], %1 io[1], %2 io[2]")
        // The offset the memory plan gave the stored relu (its own report, built separately).
        let reluBuffer = try XCTUnwrap(program.info.memory.buffers.first { $0.label == "%\(relu) relu" })
        XCTAssertEqual(lines[k + 6], "  writes: %\(relu) arena+\(reluBuffer.offset), \(reluBuffer.bytes) bytes")
        let poolBuffer = try XCTUnwrap(program.info.memory.buffers.first { $0.label == "%\(pool) max_pool" })
        XCTAssertEqual(Array(lines.suffix(8)), [
            "k\(pool) (step 1) pool: %\(pool) max_pool",
            "  geometry: result [2,3,2,4]",
            "  strategy: clipped-window, the only pool strategy",
            "  threads: one thread: 192 element ops (48 outputs x 4 window cells) < \(CodegenOptions.defaultSplitWork)",
            "  scratch: none",
            "  reads: %\(relu) arena+\(reluBuffer.offset)",
            "  writes: %\(pool) arena+\(poolBuffer.offset), \(poolBuffer.bytes) bytes",
            "outputs (step 2): y <- %\(relu) arena+\(reluBuffer.offset), p <- %\(pool) arena+\(poolBuffer.offset)",
        ], plan.text)
    }

    func testChosenStrategyIsLogged() throws {
        let (g, conv, _, pool) = try convGraph()
        let program = try emitC(g, options: CodegenOptions())
        // Three channels in, four out: Winograd's transforms would cost more than they save
        // (WinogradTests checks the rule's figures).
        XCTAssertEqual(program.info.strategyDecisions.count, 2)
        let convDecision = program.info.strategyDecisions[0]
        XCTAssertTrue(convDecision.hasPrefix("conv2d %\(conv): gemm-window, ") && convDecision.contains("x cheaper than winograd-f2 (multiply-adds of the clipped windows); "
                      + "not winograd-f4 (only when forced): "), convDecision)
        XCTAssertEqual(program.info.strategyDecisions[1], "pool %\(pool): clipped-window, the only pool strategy")
        XCTAssertEqual(program.info.kernels.map(\.strategy), ["gemm-window", "clipped-window"])

        // Two strategies fit a float matmul: the cost rule takes gemm and says by how much.
        let (f, matmul) = try matmulGraph()
        let decision = try XCTUnwrap(emitC(f, options: CodegenOptions()).info.strategyDecisions.first)
        XCTAssertTrue(decision.hasPrefix("matmul %\(matmul): gemm, ") && decision.contains("x cheaper than loops"), decision)
        // Only loops can compute an integer matmul, and the log says why gemm cannot.
        let (i, intMatmul) = try matmulGraph(.i32)
        XCTAssertEqual(try emitC(i, options: CodegenOptions()).info.strategyDecisions.first,
                       "matmul %\(intMatmul): loops, the only matmul strategy that fits (gemm needs f32 or f64, not i32)")
        // Forcing gemm there leaves that kernel to the cost rule, and says so.
        XCTAssertEqual(try emitC(i, options: CodegenOptions(strategies: ["matmul": "gemm"])).info.strategyDecisions.first,
                       "matmul %\(intMatmul): loops, the only matmul strategy that fits (gemm needs f32 or f64, not i32); "
                       + "matmul:gemm was asked for but cannot: needs f32 or f64, not i32")
    }

    func testForcingAStrategyChangesTheReasonAndKeepsTheValues() throws {
        for (batch, transposeB) in [(1, false), (3, true)] {
            try assertForcedMatmulStrategies(batch: batch, transposeB: transposeB)
        }
    }

    /// Every matmul strategy, chosen and forced, against an f64 reference of relu(a @ b + bias).
    private func assertForcedMatmulStrategies(batch: Int, transposeB: Bool) throws {
        let (g, matmul) = try matmulGraph(batch: batch, transposeB: transposeB)
        var random = SplitMix(seed: 3)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(random.nextUniform() * 2 - 1) } }
        let (a, b, bias) = (values(batch * 35), values(batch * 42), values(6))
        var reference: [Double] = []
        for bb in 0..<batch {
            for m in 0..<5 {
                for n in 0..<6 {
                    var sum = Double(bias[n])
                    for k in 0..<7 {
                        sum += Double(a[bb * 35 + m * 7 + k]) * Double(b[bb * 42 + (transposeB ? n * 7 + k : k * 6 + n)])
                    }
                    reference.append(max(sum, 0))
                }
            }
        }
        let lead = batch > 1 ? [batch] : []
        let inputs = ["a": HostTensor(shape: lead + [5, 7], floats: a), "b": HostTensor(shape: lead + (transposeB ? [6, 7] : [7, 6]), floats: b),
                      "bias": HostTensor(shape: [6], floats: bias)]
        let label = "batch \(batch), transpose_b \(transposeB)"
        var sources: [String] = []
        for forced in [nil, "gemm", "loops"] {
            var options = CodegenOptions()
            if let forced { options.strategies = ["matmul": forced] }
            let plan = try ExecutionPlan(g, options: options)
            let kernel = try XCTUnwrap(plan.kernels.first)
            XCTAssertEqual(kernel.anchor, matmul)
            XCTAssertGreaterThan(kernel.kernel.nodes.count, 1, "the epilogue is fused (\(label))")
            switch forced {
            case nil: XCTAssertFalse(kernel.reason.contains("forced"), kernel.reason)
            case "gemm": XCTAssertTrue(kernel.reason.hasPrefix("forced (matmul:gemm), also gemm by the cost rule"), kernel.reason)
            default:
                XCTAssertEqual(kernel.strategyName, "loops")
                XCTAssertTrue(kernel.reason.hasPrefix("forced (matmul:loops) instead of gemm by the cost rule"), kernel.reason)
                XCTAssertTrue(plan.text.contains("  strategy: loops, forced (matmul:loops)"), plan.text)
            }
            let program = try emitC(plan)
            sources.append(program.source)
            let executable = try Runtime.compile(program)
            let y = try XCTUnwrap(try executable.run(inputs)["y"]).doubles
            XCTAssertEqual(y.count, reference.count)
            for (got, want) in zip(y, reference) { XCTAssertEqual(got, want, accuracy: 1e-5, "matmul:\(forced ?? "auto"), \(label)") }
        }
        XCTAssertEqual(sources[0], sources[1], "forcing the strategy the cost rule picks changes nothing")
        XCTAssertNotEqual(sources[0], sources[2])
        XCTAssertTrue(sources[0].contains("sinter_gemm_f32") && !sources[2].contains("sinter_gemm_f32"))
    }

    func testUnknownStrategiesAreClearErrors() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        let (g, _, _, _) = try convGraph()
        let unknownName = message { _ = try ExecutionPlan(g, options: CodegenOptions(strategies: ["conv2d": "direct"])) }
        XCTAssertTrue(unknownName.contains("unknown conv2d strategy 'direct'; conv2d strategies: gemm-window, winograd-f2, winograd-f4"), unknownName)
        let unknownKind = message { _ = try CodegenOptions.parseStrategies("conv3d:direct") }
        XCTAssertTrue(unknownKind.contains("unknown op kind 'conv3d'"), unknownKind)
        for choice in CodegenOptions.strategyChoices {
            XCTAssertTrue(unknownKind.contains("\(choice.kind) (\(choice.strategies.joined(separator: ", ")))"), unknownKind)
        }
        XCTAssertTrue(message { _ = try CodegenOptions.parseStrategies("matmul") }.contains("is not KIND:STRATEGY"))
        XCTAssertTrue(message { _ = try CodegenOptions.parseStrategies("matmul:gemm,matmul:loops") }.contains("given two strategies"))
        XCTAssertEqual(try CodegenOptions.parseStrategies(" matmul : loops , conv2d:gemm-window,"),
                       ["matmul": "loops", "conv2d": "gemm-window"])

        // The umbrella reads SINTER_STRATEGY; a bad value stops the compile with its name.
        let fromEnvironment = CompileOptions.fromEnvironment(["SINTER_STRATEGY": "conv2d:direct"])
        let refused = message { _ = try compileProgram(g, options: fromEnvironment) }
        XCTAssertTrue(refused.hasPrefix("runtime error: SINTER_STRATEGY: strategy override 'conv2d:direct'"), refused)
        XCTAssertEqual(CompileOptions.fromEnvironment(["SINTER_STRATEGY": "matmul:loops"]).codegen.strategies, ["matmul": "loops"])
    }
}

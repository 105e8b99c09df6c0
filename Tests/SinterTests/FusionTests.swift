import Foundation
import Sinter
import SinterModels
import XCTest

/// The fusion pass (Docs/fusion.md): kernel counts of small graphs, refusals and their reasons,
/// the autoencoder's kernel budget, fused against unfused numerics, SINTER_NO_FUSE, profiling.
final class FusionTests: XCTestCase {
    private let at = SourceLocation(file: "FusionTests.swift", line: 0)
    private let fused = CodegenOptions(fuse: true)
    private let unfused = CodegenOptions(fuse: false)

    private func input(_ g: Graph, _ name: String, _ shape: [Int]) throws -> Int {
        try g.add(.input, [], Attributes(["name": .string(name)]), type: TensorType(.f32, shape), at: at)
    }

    private func pure(_ program: CProgram) -> [KernelInfo] { program.info.kernels.filter { !$0.isEffect } }

    /// Runs `graph` fused and unfused on seeded random inputs; every output must agree to the bit
    /// (fusion keeps every operation and every summation order; only where values live changes).
    private func assertFusedMatchesUnfused(_ graph: Graph, file: StaticString = #filePath, line: UInt = #line) throws {
        var random = SplitMix(seed: 11)
        var inputs: [String: HostTensor] = [:]
        for id in graph.inputs {
            let type = graph[id].type
            inputs[graph[id].sourceName!] = HostTensor(shape: type.shape, floats: (0..<type.count).map { _ in Float(random.nextUniform() * 2 - 1) })
        }
        var results: [[String: HostTensor]] = []
        for options in [fused, unfused] {
            let executable = try Runtime.compile(try emitC(graph, options: options))
            try executable.initializeParameters(seed: 5)
            results.append(try executable.run(inputs))
        }
        for (name, value) in results[0] {
            XCTAssertTrue(value == results[1][name], "\(name): fused and unfused results differ", file: file, line: line)
        }
    }

    // MARK: Small graphs

    func testConvBiasReluIsOneKernel() throws {
        let g = Graph(name: "conv_bias_relu")
        let x = try input(g, "x", [2, 6, 5, 3])
        let w = try g.add(.param, [], Attributes(["name": .string("w"), "init": .string("glorot_uniform")]), type: TensorType(.f32, [3, 3, 3, 4]), at: at)
        let b = try g.add(.param, [], Attributes(["name": .string("b"), "init": .string("glorot_uniform")]), type: TensorType(.f32, [4]), at: at)
        let conv = try g.add(.conv2d, [x, w], Attributes(["strides": .ints([1, 1]), "pads": .ints([1, 1, 1, 1])]), at: at)
        let add = try g.add(.add, [conv, b], at: at)
        let relu = try g.add(.relu, [add], at: at)
        try g.addOutput("y", relu)
        let program = try emitC(g, options: fused)
        XCTAssertEqual(pure(program).map(\.nodes), [[conv, add, relu]], program.info.fusionDecisions.joined(separator: "\n"))
        XCTAssertEqual(pure(program).first?.name, "k\(conv)")
        XCTAssertTrue(program.info.fusionDecisions.contains("fused %\(relu) relu into k\(conv) (epilogue of conv2d %\(conv)); also stored: an output"),
                      program.info.fusionDecisions.joined(separator: "\n"))
        XCTAssertEqual(program.info.fusionLine, "fuse: 3 -> 1 nodes, 1 kernels, 0 refused")
        XCTAssertEqual(program.arenaBytes, TensorType(.f32, [2, 6, 5, 4]).byteSize.roundedUp(64), "only the result is stored")
        try assertFusedMatchesUnfused(g)
    }

    func testElementwiseChainOfFiveIsOneKernel() throws {
        let g = Graph(name: "chain5")
        let x = try input(g, "x", [3, 40])
        let one = try g.add(.constant, [], Attributes(["value": .float(1)]), type: TensorType(.f32, []), at: at)
        let a = try g.add(.exp, [x], at: at)
        let b = try g.add(.neg, [a], at: at)
        let c = try g.add(.tanh, [b], at: at)
        let d = try g.add(.mul, [c, x], at: at)
        let e = try g.add(.add, [d, one], at: at)
        try g.addOutput("y", e)
        let program = try emitC(g, options: fused)
        XCTAssertEqual(pure(program).map(\.nodes), [[a, b, c, d, e]])
        XCTAssertEqual(program.info.kernels.first?.flops, 5 * 120)
        XCTAssertEqual(program.info.kernels.first?.bytes, 2 * 480, "reads x once, writes y once")
        XCTAssertEqual(program.info.fusionLine, "fuse: 5 -> 1 nodes, 1 kernels, 0 refused")
        try assertFusedMatchesUnfused(g)
    }

    /// %a is read by two kernels (a broadcast loop and a reduction), so it must be stored; the
    /// loop would write it 4 times over, so that fusion is refused and logged with the reason,
    /// and %a goes into the reduction's prologue instead.
    func testNodeReadByTwoKernelsIsRefusedWithTheReason() throws {
        let g = Graph(name: "two_readers")
        let x = try input(g, "x", [8])
        let z = try input(g, "z", [4, 8])
        let a = try g.add(.neg, [x], at: at)
        let loop = try g.add(.add, [a, z], at: at)
        let sum = try g.add(.reduceSum, [a], Attributes(["axes": .ints([0])]), at: at)
        try g.addOutput("y", loop)
        try g.addOutput("s", sum)
        let program = try emitC(g, options: fused)
        let decisions = program.info.fusionDecisions.joined(separator: "\n")
        XCTAssertTrue(decisions.contains("refused %\(a) neg into k\(loop): %\(a) neg must be stored (read by 1 other kernel) but has 8 elements, the loop 32"), decisions)
        XCTAssertTrue(decisions.contains("fused %\(a) neg into k\(sum) (prologue of reduce_sum %\(sum)); also stored: read by k\(loop)"), decisions)
        XCTAssertTrue(program.info.fusionLine.hasSuffix("2 kernels, 1 refused"), program.info.fusionLine)
        try assertFusedMatchesUnfused(g)
    }

    /// Expensive ops are never replicated across a broadcast.
    func testExpensiveNodeIsNotRecomputed() throws {
        let g = Graph(name: "no_recompute")
        let x = try input(g, "x", [8])
        let z = try input(g, "z", [4, 8])
        let e = try g.add(.exp, [x], at: at)
        let y = try g.add(.mul, [e, z], at: at)
        try g.addOutput("y", y)
        let program = try emitC(g, options: fused)
        XCTAssertEqual(pure(program).map(\.nodes), [[e], [y]])
        XCTAssertTrue(program.info.fusionDecisions.contains { $0.contains("%\(e) exp would be recomputed 4x (not cheap)") },
                      program.info.fusionDecisions.joined(separator: "\n"))
        try assertFusedMatchesUnfused(g)
    }

    /// Dense layer: matmul + bias + relu in one kernel; a filter gradient with an added term;
    /// a reduction with an epilogue (mean, then a relu-style mask). All agree with unfused.
    func testMatmulFilterGradAndReductionEpilogues() throws {
        let g = Graph(name: "epilogues")
        let x = try input(g, "x", [50, 7])
        let w = try input(g, "w", [7, 19])
        let bias = try input(g, "bias", [19])
        let mm = try g.add(.matmul, [x, w], at: at)
        let dense = try g.add(.relu, [try g.add(.add, [mm, bias], at: at)], at: at)
        try g.addOutput("dense", dense)

        let img = try input(g, "img", [2, 5, 6, 3])
        let dy = try input(g, "dy", [2, 5, 6, 13])
        let decay = try input(g, "decay", [3, 3, 3, 13])
        let dw = try g.add(.conv2dFilterGrad, [img, dy], Attributes(["strides": .ints([1, 1]), "pads": .ints([1, 1, 1, 1])]),
                           type: TensorType(.f32, [3, 3, 3, 13]), at: at)
        let total = try g.add(.add, [dw, decay], at: at)
        try g.addOutput("dw", total)

        let mean = try g.add(.reduceMean, [dy], Attributes(["axes": .ints([1, 2]), "keepdims": .bool(true)]), at: at)
        let flat = try g.add(.reshape, [mean], type: TensorType(.f32, [2, 13]), at: at)
        let half = try g.add(.constant, [], Attributes(["value": .float(0.5)]), type: TensorType(.f32, []), at: at)
        let scaled = try g.add(.relu, [try g.add(.mul, [flat, half], at: at)], at: at)
        try g.addOutput("scaled", scaled)

        let program = try emitC(g, options: fused)
        let groups = pure(program).map(\.nodes)
        XCTAssertTrue(groups.contains { $0.first == mm && $0.last == dense && $0.count == 3 }, "\(groups)")
        XCTAssertTrue(groups.contains([dw, total]), "\(groups)")
        XCTAssertTrue(groups.contains { $0.first == mean && $0.last == scaled && $0.count == 3 }, "\(groups)")
        XCTAssertEqual(groups.count, 3)
        try assertFusedMatchesUnfused(g)
    }

    // MARK: Models

    /// The target: the conv autoencoder's training step at batch 128 needs at most half
    /// as many kernels as it has IR ops after the graph passes (non-source nodes).
    func testAutoencoderTrainingStepKernelBudget() throws {
        let traced = try autoencoderStep(ConvAutoencoder(), batch: 128, optimizer: Adam())
        let (optimized, _) = try optimizeGraph(traced)
        let ops = optimized.nodes.filter { !$0.op.isSource }.count
        let program = try emitC(optimized, options: fused)
        let kernels = program.info.kernels.count
        print(program.info.fusionLine)
        XCTAssertLessThanOrEqual(2 * kernels, ops, program.info.fusionLine)
        XCTAssertTrue(program.info.fusionLine.hasPrefix("fuse: \(ops) -> "), program.info.fusionLine)
        XCTAssertTrue(program.info.fusionLine.contains(" \(kernels) kernels, "), program.info.fusionLine)
        // Every conv takes its bias and activation; the ReLU masks go into the gradients.
        let decisions = program.info.fusionDecisions
        XCTAssertGreaterThanOrEqual(decisions.filter { $0.contains("(epilogue of conv2d %") }.count, 6 * 2 - 3, decisions.joined(separator: "\n"))
        XCTAssertTrue(decisions.contains { $0.contains("select into") && $0.contains("(epilogue of conv2d_input_grad %") })
        let unfusedProgram = try emitC(optimized, options: unfused)
        XCTAssertLessThan(program.info.memory.naiveBytes, unfusedProgram.info.memory.naiveBytes, "internal nodes have no buffer")
    }

    /// A small autoencoder's training step (forward, loss, gradients, Adam) run twice fused and
    /// unfused: outputs and every updated parameter and optimizer slot are bit for bit equal.
    func testFusedAndUnfusedTrainingStepsAgree() throws {
        let traced = try autoencoderStep(ConvAutoencoder(widthDivisor: 8), batch: 4, optimizer: Adam())
        let (optimized, _) = try optimizeGraph(traced)
        var random = SplitMix(seed: 7)
        let x = HostTensor(shape: [4, 28, 28, 1], floats: (0..<(4 * 28 * 28)).map { _ in Float(random.nextUniform()) })
        var results: [[String: HostTensor]] = []
        for options in [fused, unfused] {
            let executable = try Runtime.compile(try emitC(optimized, options: options))
            try executable.initializeParameters(seed: 3)
            var outputs: [String: HostTensor] = [:]
            for step in 0..<2 {
                for (name, value) in try executable.run(["x": x]) { outputs["\(name)@\(step)"] = value }
            }
            for (name, value) in executable.persistentSnapshot() { outputs["state.\(name)"] = value }
            results.append(outputs)
        }
        XCTAssertEqual(Set(results[0].keys), Set(results[1].keys))
        for (name, value) in results[0] {
            XCTAssertTrue(value == results[1][name], "\(name) differs between fused and unfused code")
        }
    }

    /// SINTER_NO_FUSE=1: one kernel per node, and the line says fusion is off.
    func testNoFuseGivesOneKernelPerNode() throws {
        XCTAssertFalse(CodegenOptions.fromEnvironment(["SINTER_NO_FUSE": "1"]).fuse)
        XCTAssertTrue(CodegenOptions.fromEnvironment(["SINTER_NO_FUSE": "0"]).fuse)
        XCTAssertTrue(CodegenOptions.fromEnvironment([:]).fuse)
        let traced = try autoencoderStep(ConvAutoencoder(widthDivisor: 8), batch: 2, optimizer: Adam())
        let (optimized, _) = try optimizeGraph(traced)
        // Through the environment, as compileGraph sees it; the previous value is restored so
        // a whole run under SINTER_NO_FUSE=1 stays unfused.
        let previous = ProcessInfo.processInfo.environment["SINTER_NO_FUSE"]
        setenv("SINTER_NO_FUSE", "1", 1)
        let program: CProgram
        do {
            defer { if let previous { setenv("SINTER_NO_FUSE", previous, 1) } else { unsetenv("SINTER_NO_FUSE") } }
            program = try emitC(optimized, options: .fromEnvironment())
        }
        XCTAssertTrue(program.info.kernels.allSatisfy { $0.nodes.count == 1 })
        XCTAssertTrue(program.info.fusionDecisions.isEmpty)
        XCTAssertTrue(program.info.fusionLine.hasPrefix("fuse (off: SINTER_NO_FUSE): "), program.info.fusionLine)
        let fusedProgram = try emitC(optimized, options: fused)
        XCTAssertLessThan(fusedProgram.info.kernels.count, program.info.kernels.count)
        // Below the umbrella only the options given count: with SINTER_NO_FUSE=1 in the
        // environment, emitC's default options still fuse, and the pass pipeline follows the
        // fusion flag it is handed rather than the environment.
        setenv("SINTER_NO_FUSE", "1", 1)
        defer { if let previous { setenv("SINTER_NO_FUSE", previous, 1) } else { unsetenv("SINTER_NO_FUSE") } }
        XCTAssertEqual(try emitC(optimized).info.kernels.count, fusedProgram.info.kernels.count)
        let folding = PassPipeline.standardPasses().compactMap { $0 as? BatchNormFolding }
        XCTAssertEqual(folding.map(\.epilogueFusion), [true])
        XCTAssertEqual(PassPipeline.standardPasses(epilogueFusion: false).compactMap { ($0 as? BatchNormFolding)?.epilogueFusion }, [false])
    }

    // MARK: Profiling

    /// `options.profile`: the library exports sinter_profile / sinter_profile_reset, one entry
    /// per kernel in execution order, accumulating wall time over runs. Without it, nothing.
    func testProfilingSymbols() throws {
        let traced = try autoencoderStep(ConvAutoencoder(widthDivisor: 8), batch: 2, optimizer: Adam())
        let (optimized, _) = try optimizeGraph(traced)
        let program = try emitC(optimized, options: CodegenOptions(fuse: true, profile: true))
        XCTAssertTrue(program.source.hasPrefix("/* Sinter") && program.source.contains("\n#define SINTER_PROFILE 1\n"))
        let executable = try Runtime.compile(program)
        try executable.initializeParameters(seed: 1)
        typealias Profile = @convention(c) (UnsafeMutablePointer<UnsafePointer<Double>?>?, UnsafeMutablePointer<UnsafePointer<UnsafePointer<CChar>?>?>?) -> Int32
        typealias Reset = @convention(c) () -> Void
        let profile = unsafeBitCast(try XCTUnwrap(executable.library.symbol("sinter_profile")), to: Profile.self)
        let reset = unsafeBitCast(try XCTUnwrap(executable.library.symbol("sinter_profile_reset")), to: Reset.self)
        func read() -> [(String, Double)] {
            var seconds: UnsafePointer<Double>?
            var names: UnsafePointer<UnsafePointer<CChar>?>?
            let count = Int(profile(&seconds, &names))
            return (0..<count).map { (String(cString: names![$0]!), seconds![$0]) }
        }
        let x = HostTensor(shape: [2, 28, 28, 1], floats: [Float](repeating: 0.5, count: 2 * 28 * 28))
        for _ in 0..<3 { _ = try executable.run(["x": x]) }
        let times = read()
        XCTAssertEqual(times.map(\.0), program.info.kernels.map(\.name))
        XCTAssertTrue(times.allSatisfy { $0.1 >= 0 })
        XCTAssertGreaterThan(times.reduce(0) { $0 + $1.1 }, 0)
        reset()
        XCTAssertTrue(read().allSatisfy { $0.1 == 0 })

        let plain = try Runtime.compile(try emitC(optimized, options: fused))
        XCTAssertNil(plain.library.symbol("sinter_profile"))
    }
}

private extension Int {
    func roundedUp(_ m: Int) -> Int { (self + m - 1) / m * m }
}

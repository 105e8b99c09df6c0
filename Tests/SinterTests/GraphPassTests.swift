import Foundation
import Sinter
import SinterModels
import XCTest

/// The graph passes of Docs/passes.md: `decompose` and `bn-fold` rewrites (op counts before and
/// after), their refusals, numerical equality of folded and unfolded programs through
/// `compileGraph`, and the pipeline contract (every pass can be disabled by name, one report line
/// per pass).
final class GraphPassTests: XCTestCase {
    // MARK: - Helpers

    func count(_ graph: Graph, _ op: Op) -> Int { graph.nodes.filter { $0.op == op }.count }

    /// Elementwise nodes over a batch-`batch` activation (first dimension `batch`, rank >= 2).
    func activationElementwise(_ graph: Graph, batch: Int) -> Int {
        graph.nodes.filter { $0.op.isElementwise && $0.type.rank >= 2 && $0.type.shape[0] == batch }.count
    }

    /// Options that ignore SINTER_DISABLE, so these tests fold even when the suite runs with the
    /// passes disabled.
    func options(disabling disabled: Set<String> = []) -> CompileOptions {
        var options = CompileOptions()
        options.disabledPasses = disabled
        return options
    }

    func uniform(_ shape: [Int], _ low: Double, _ high: Double, _ generator: inout SplitMix64) -> HostTensor {
        let count = shape.reduce(1, *)
        let values = (0..<count).map { _ in low + (high - low) * Double(generator.next() >> 11) / Double(1 << 53) }
        return HostTensor(shape: shape, doubles: values).converted(to: .f32)
    }

    /// Parameters from their initializers, then BatchNorm statistics, gamma, beta and biases made
    /// non-trivial (they start at 0/1, which would hide a wrong fold).
    func randomizePersistent(_ executable: Executable, seed: UInt64) throws {
        try executable.initializeParameters(seed: seed)
        var generator = SplitMix64(seed: seed &+ 17)
        for slot in executable.program.persistent where slot.type.dtype == .f32 {
            let name = slot.name
            let range: (Double, Double)?
            if name.hasSuffix(".moving_mean") { range = (-0.5, 0.5) }
            else if name.hasSuffix(".moving_variance") { range = (0.3, 2.0) }
            else if name.hasSuffix(".gamma") { range = (0.5, 1.5) }
            else if name.hasSuffix(".beta") || name.hasSuffix(".bias") { range = (-0.5, 0.5) }
            else { range = nil }
            if let (low, high) = range { try executable.setPersistent(name, uniform(slot.type.shape, low, high, &generator)) }
        }
    }

    func randomInputs(_ executable: Executable, seed: UInt64) -> [String: HostTensor] {
        var generator = SplitMix64(seed: seed)
        var inputs: [String: HostTensor] = [:]
        for slot in executable.program.inputs {
            inputs[slot.name] = uniform(slot.type.shape, -1, 1, &generator).converted(to: slot.type.dtype)
        }
        return inputs
    }

    /// The standard pipeline with `bn-fold` and `decompose` replaced.
    func pipeline(folding: BatchNormFolding, decompose: Decompose = Decompose()) -> PassPipeline {
        PassPipeline(passes: PassPipeline.standardPasses().map { pass -> any GraphPass in
            switch pass.name {
            case "bn-fold": return folding
            case "decompose": return decompose
            default: return pass
            }
        })
    }

    /// Compiles `graph` twice: through `pipeline` (default: every pass, `bn-fold` folding whatever
    /// is legal, profitable or not, so the rewrite itself is checked), and through `compileGraph`
    /// with the passes in `baseline` disabled. Runs both once on the same parameters and inputs
    /// and compares every output (and every persistent tensor afterwards) within
    /// `rtol * max|expected| + atol`. Returns the first program's pass reports by pass name.
    @discardableResult
    func assertFoldingPreservesResults(_ graph: Graph, pipeline: PassPipeline? = nil, baseline: Set<String> = ["bn-fold"],
                                       rtol: Double = 1e-5, atol: Double = 1e-6, seed: UInt64 = 1, persistent: Bool = true,
                                       _ context: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: String] {
        let passes = pipeline ?? self.pipeline(folding: BatchNormFolding(profitFactor: nil))
        let (optimized, reports) = try passes.run(graph)
        let folded = try Runtime.compile(try emitC(optimized))
        let reference = try compileGraph(graph, options: options(disabling: baseline))
        try randomizePersistent(reference, seed: seed)
        XCTAssertEqual(folded.copyPersistent(from: reference), reference.program.persistent.count,
                       "\(context): both programs hold the same persistent tensors", file: file, line: line)
        let inputs = randomInputs(reference, seed: seed &+ 1)
        let got = try folded.run(inputs), expected = try reference.run(inputs)
        XCTAssertEqual(Set(got.keys), Set(expected.keys), context, file: file, line: line)
        func compare(_ name: String, _ a: HostTensor, _ b: HostTensor) {
            let scale = b.doubles.map { Swift.abs($0) }.filter(\.isFinite).max() ?? 0
            assertClose(a, b, tolerance: rtol * scale + atol, name: "\(context): \(name)", file: file, line: line)
        }
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) { compare(name, got[name]!, value) }
        // Adam and RMSprop take about lr*sign(g) on a first step, so a gradient within rounding of 0
        // may step either way: optimizer steps are compared through their gradient outputs.
        if persistent {
            for name in reference.persistentNames { compare(name, try folded.persistent(name), try reference.persistent(name)) }
        }
        return Dictionary(uniqueKeysWithValues: reports.map { ($0.pass, $0.line) })
    }

    /// `bn-fold`'s report on `graph` after canonicalize.
    func foldReport(_ graph: Graph, _ pass: BatchNormFolding) throws -> String {
        try pass.run(try Canonicalize().run(graph).graph).report
    }

    let unfused = BatchNormFolding(epilogueFusion: false)
    let fused = BatchNormFolding(epilogueFusion: true)

    // MARK: - bn-fold

    /// Conv2D + BN, Conv2DTranspose (no bias) + BN without scale, Dense + BN without center.
    struct ThreeAnchors: Module {
        let conv = Conv2D(4, kernel: 3)
        let bn1 = BatchNorm()
        let deconv = Conv2DTranspose(5, kernel: 3, strides: 2, useBias: false)
        let bn2 = BatchNorm(scale: false)
        let dense = Dense(6)
        let bn3 = BatchNorm(center: false)
    }

    func threeAnchorGraph(tapConv: Bool = false, training: Bool = false) throws -> Graph {
        let model = ThreeAnchors()
        return try traceForward(name: "three_anchors", models: [model], training: training) { builder in
            let x = builder.input("x", [2, 8, 8, 3])
            let conv = model.conv(x)
            let h = model.bn1(conv).relu()
            let y = model.bn2(model.deconv(h))
            let v = builder.input("v", [2, 4])
            let d = model.bn3(model.dense(v))
            return [("y", y), ("d", d)] + (tapConv ? [("act.conv", conv)] : [])
        }
    }

    func testFoldsConvTransposedConvAndDense() throws {
        let graph = try threeAnchorGraph()
        let (canonical, _) = try Canonicalize().run(graph)
        let decisions = unfused.decisions(canonical)
        XCTAssertEqual(decisions.count, 3)
        XCTAssertEqual(decisions.filter(\.folded).map { canonical[$0.anchor!].op }, [.conv2d, .conv2dInputGrad, .matmul],
                       decisions.map(\.detail).joined(separator: "\n"))
        let (folded, report) = try unfused.run(canonical)
        XCTAssertEqual(report, "bn-fold: 3 folded, 0 refused")
        try folded.verify()

        // The anchors stay; each now reads a scaled kernel (mul of the param).
        for op in [Op.conv2d, .conv2dInputGrad, .matmul] {
            XCTAssertEqual(count(folded, op), 1, "\(op)")
            let anchor = folded.nodes.first { $0.op == op }!
            let kernel = folded[anchor.operands[1]]
            XCTAssertEqual(kernel.op, .mul, "\(op) reads \(kernel.op)")
            XCTAssertTrue(folded[kernel.operands[0]].op == .param, "\(op) kernel is the param times a scale")
        }
        // Transposed conv: the scale broadcasts along axis 2 of (kh, kw, out, in).
        let deconv = folded.nodes.first { $0.op == .conv2dInputGrad }!
        let scale = folded[folded[deconv.operands[1]].operands[1]]
        XCTAssertEqual(scale.op, .reshape)
        XCTAssertEqual(scale.type.shape, [1, 1, 5, 1])

        // Elementwise passes over activations: conv (bias, sub, mul, mul, add) + deconv (sub, mul,
        // add) + dense (bias, sub, mul, mul) = 12, plus relu, become one shift add per anchor.
        XCTAssertEqual(activationElementwise(canonical, batch: 2), 13)
        XCTAssertEqual(activationElementwise(folded, batch: 2), 4)
        // No normalisation of an activation is left.
        XCTAssertEqual(folded.nodes.filter { $0.op == .sub && $0.type.rank > 1 }.count, 0)

        // With epilogue fusion each chain already runs inside its anchor: nothing to gain.
        let (same, fusedReport) = try fused.run(canonical)
        XCTAssertEqual(fusedReport, "bn-fold: 0 folded, 3 refused (3 already fused into the anchor)")
        XCTAssertEqual(same.text, canonical.text)

        let lines = try assertFoldingPreservesResults(graph, "three anchors")
        XCTAssertEqual(lines["bn-fold"], "bn-fold: 3 folded, 0 refused")
    }

    /// DCGAN's generator head: Dense (linear, with bias) -> Reshape -> BatchNorm. The scale and
    /// shift are tiled from [C] to the Dense's N = H*W*C columns.
    func testFoldsThroughAReshapeThatKeepsChannels() throws {
        let dense = Dense(3 * 3 * 6, name: "head")
        let norm = BatchNorm(name: "head_bn")
        func graph(batch: Int) throws -> Graph {
            try traceForward(name: "head", models: []) { builder in
                let z = builder.input("z", [batch, 8])
                return [("y", norm(dense(z).reshaped([batch, 3, 3, 6])).relu())]
            }
        }
        let (canonical, _) = try Canonicalize().run(try graph(batch: 16))
        let (folded, report) = try unfused.run(canonical)
        XCTAssertEqual(report, "bn-fold: 1 folded, 0 refused")
        let matmul = folded.nodes.first { $0.op == .matmul }!
        XCTAssertEqual(folded[matmul.operands[1]].op, .mul)
        XCTAssertEqual(folded.nodes.filter { $0.op == .broadcastTo }.map(\.type.shape), [[9, 6], [9, 6], [9, 6]],
                       "scale, mean and beta tiled from [6] to the Dense's 54 columns")
        // Fusion stops at the reshape, so the BN is a loop of its own: folding saves one pass over
        // the activation (A = 16*54), which is worth the kernel's (K = 8*54)...
        XCTAssertEqual(try fused.run(canonical).report, "bn-fold: 1 folded, 0 refused")
        // ...but not at batch 4 (A = 4*54 < K).
        XCTAssertEqual(try foldReport(try graph(batch: 4), fused), "bn-fold: 0 folded, 1 refused (1 kernel costs more than it saves)")
        try assertFoldingPreservesResults(try graph(batch: 16), "dense -> reshape -> bn")
    }

    func testRefusesWhenAnIntermediateHasAnotherUser() throws {
        let graph = try threeAnchorGraph(tapConv: true)
        let (canonical, _) = try Canonicalize().run(graph)
        let legal = BatchNormFolding(profitFactor: nil)
        let (folded, report) = try legal.run(canonical)
        XCTAssertEqual(report, "bn-fold: 2 folded, 1 refused (1 shared intermediate)")
        let refused = legal.decisions(canonical).filter { !$0.folded }
        XCTAssertEqual(refused.count, 1)
        // The layer's output (conv2d + bias) is the tapped tensor.
        XCTAssertTrue(refused[0].detail.contains("add has 2 users"), refused[0].detail)
        // The tapped conv keeps its original kernel and its BN.
        let conv = folded.nodes.first { $0.op == .conv2d }!
        XCTAssertEqual(folded[conv.operands[1]].op, .param)
        XCTAssertEqual(folded.nodes.filter { $0.op == .sub && $0.type.shape == [2, 8, 8, 4] }.count, 1)
        try assertFoldingPreservesResults(graph, "tapped conv")
    }

    func testRefusesBatchNormAfterAnActivationAndLeavesTrainingModeAlone() throws {
        let conv = Conv2D(4, kernel: 3, activation: .relu, name: "conv")
        let norm = BatchNorm(name: "bn")
        func graph(training: Bool) throws -> Graph {
            try traceForward(name: "relu_bn", models: [], training: training) { builder in
                [("y", norm(conv(builder.input("x", [2, 6, 6, 3]))))]
            }
        }
        let (inference, _) = try Canonicalize().run(try graph(training: false))
        let (unchanged, report) = try unfused.run(inference)
        XCTAssertEqual(report, "bn-fold: 0 folded, 1 refused (1 input is relu)")
        XCTAssertEqual(unchanged.text, inference.text)

        let (training, _) = try Canonicalize().run(try graph(training: true))
        let (same, trainingReport) = try unfused.run(training)
        XCTAssertEqual(trainingReport, "bn-fold: 0 folded, 0 refused; 1 training-mode left alone")
        XCTAssertEqual(same.text, training.text)
        XCTAssertEqual(try foldReport(try threeAnchorGraph(training: true), fused),
                       "bn-fold: 0 folded, 0 refused; 3 training-mode left alone")
    }

    /// The kernel product costs a pass over the kernel: a big kernel on a small activation is not
    /// folded unless the profit check is off.
    func testRefusesUnprofitableFoldsUnlessAskedTo() throws {
        let dense = Dense(64, name: "wide")
        let norm = BatchNorm(name: "wide_bn")
        let graph = try traceForward(name: "wide", models: []) { builder in
            [("y", norm(dense(builder.input("x", [2, 256]))))]
        }
        let (canonical, _) = try Canonicalize().run(graph)
        // Kernel 256*64 = 16384 elements; the fold saves 4 passes over 2*64 = 128.
        XCTAssertEqual(try unfused.run(canonical).report,
                       "bn-fold: 0 folded, 1 refused (1 kernel costs more than it saves)")
        let (folded, report) = try BatchNormFolding(profitFactor: nil).run(canonical)
        XCTAssertEqual(report, "bn-fold: 1 folded, 0 refused")
        XCTAssertEqual(folded[folded.nodes.first { $0.op == .matmul }!.operands[1]].op, .mul)
    }

    /// A training step that keeps BN in inference mode: gradient nodes read `z - mean` and the
    /// partial products, so the BNs of trained layers fold at most partially (up to the first node
    /// with another user) or not at all. Loss, gradients and the SGD step must not change.
    func testTrainingStepWithInferenceBatchNormStillMatches() throws {
        let model = ThreeAnchors()
        var stepOptions = StepOptions()
        stepOptions.training = false
        stepOptions.gradientOutputs = true
        let graph = try traceStep(name: "three_anchors_train", models: [model], optimizer: SGD(learningRate: 0.1, momentum: 0.9),
                                  options: stepOptions) { builder in
            let x = builder.input("x", [2, 8, 8, 3])
            let y = model.bn2(model.deconv(model.bn1(model.conv(x)).relu()))
            let d = model.bn3(model.dense(builder.input("v", [2, 4])))
            return StepOutputs(loss: y.square().mean() + d.square().mean(), [("y", y), ("d", d)])
        }
        // Every layer is trained: `normalized` feeds gamma's gradient, `z - mean` nothing else
        // (moving statistics get no gradient), so conv and dense fold their normalisation and
        // keep `* gamma + beta`; the deconv BN has no gamma and folds whole.
        let (canonical, _) = try Canonicalize().run(graph)
        let decisions = BatchNormFolding(profitFactor: nil).decisions(canonical)
        XCTAssertEqual(decisions.filter(\.folded).count, 3, decisions.map(\.detail).joined(separator: "\n"))
        XCTAssertEqual(decisions.map { canonical[$0.output].op }, [.mul, .add, .mul])
        let lines = try assertFoldingPreservesResults(graph, rtol: 1e-4, "training step, BN inference mode")
        XCTAssertEqual(lines["bn-fold"], "bn-fold: 3 folded, 0 refused")
    }

    // MARK: - bn-fold on the zoo

    func testZooForwardGraphsFoldWhereTheyCan() throws {
        // The VAE puts every BN after the layer's ReLU: nothing to fold into.
        let vae = try vaeStep(VAE(), batch: 128, optimizer: nil)
        for pass in [unfused, fused] {
            XCTAssertEqual(try foldReport(vae, pass), "bn-fold: 0 folded, 6 refused (6 input is relu)")
        }
        // CelebA at batch 16, one kernel per node: the 4x4 and 8x8 layers' kernels outweigh the
        // passes saved. With fusion every BN is already its conv's epilogue.
        let celeba = try CelebADCGAN().step(.generator, batch: 16, optimizer: nil)
        XCTAssertEqual(try foldReport(celeba, unfused), "bn-fold: 4 folded, 3 refused (3 kernel costs more than it saves)")
        XCTAssertEqual(try foldReport(celeba, fused), "bn-fold: 0 folded, 7 refused (7 already fused into the anchor)")
        // DCGAN phase d: G's BN in inference mode; g_bn1 folds through the reshape (which also
        // stops fusion), g_bn2 follows selu.
        let dcganD = try DCGAN().step(.discriminator, batch: 128, optimizer: nil)
        for pass in [unfused, fused] {
            XCTAssertEqual(try foldReport(dcganD, pass), "bn-fold: 1 folded, 1 refused (1 input is selu)")
        }
        // DCGAN phase g trains G's BN: batch statistics, left alone.
        XCTAssertEqual(try foldReport(try DCGAN().step(.generator, batch: 128, optimizer: nil), fused),
                       "bn-fold: 0 folded, 0 refused; 2 training-mode left alone")
    }

    func testFoldedZooModelsMatchUnfolded() throws {
        var withGradients = StepOptions()
        withGradients.gradientOutputs = true
        // The standard pipeline through compileGraph, against SINTER_DISABLE=bn-fold: DCGAN phase d
        // folds g_bn1 whether or not the code generator fuses.
        let dcgan = DCGAN(widthDivisor: 4)
        var lines = try assertFoldingPreservesResults(
            try dcgan.step(.discriminator, batch: 32, optimizer: RMSprop(), noise: .input, options: withGradients),
            pipeline: PassPipeline(), rtol: 1e-4, persistent: false, "dcgan-w4 phase d step")
        XCTAssertEqual(lines["bn-fold"], "bn-fold: 1 folded, 1 refused (1 input is selu)")

        // Everything legal folded (profitable or not), to check the rewrite on every BN of CelebA.
        let celeba = CelebADCGAN(widthDivisor: 8)
        lines = try assertFoldingPreservesResults(
            try celeba.step(.generator, batch: 4, optimizer: nil, noise: .input), "celeba-dcgan-w8 forward")
        XCTAssertEqual(lines["bn-fold"], "bn-fold: 7 folded, 0 refused")
        // Phase d trains D only: G's BNs fold whole; D's fold their normalisation, as gamma's
        // gradient reads it (D runs twice: fakes and reals).
        lines = try assertFoldingPreservesResults(
            try celeba.step(.discriminator, batch: 4, optimizer: celebAOptimizer, noise: .input, options: withGradients),
            rtol: 1e-4, persistent: false, "celeba-dcgan-w8 phase d step")
        XCTAssertEqual(lines["bn-fold"], "bn-fold: 10 folded, 0 refused")

        lines = try assertFoldingPreservesResults(
            try vaeStep(VAE(widthDivisor: 4), batch: 4, optimizer: nil, noise: .input), "vae-w4 forward")
        XCTAssertEqual(lines["bn-fold"], "bn-fold: 0 folded, 6 refused (6 input is relu)")
    }

    // MARK: - decompose

    func testDecomposeSharesAReduceSumAndKeepsLoneMeans() throws {
        let graph = try traceForward(name: "sums", models: []) { builder in
            let x = builder.input("x", [4, 5, 6])
            let mean = x.mean(axes: [-1])          // before its sum: the later sum is merged into it
            let sum = x.sum(axes: [2])
            let lone = x.mean(axes: [0, 1])         // no sum over [0, 1]: kept
            let other = x.sum(axes: [0], keepDims: true)
            let meanKept = x.mean(axes: [0], keepDims: false)  // keepdims differs: kept
            return [("mean", mean), ("sum", sum), ("lone", lone), ("other", other), ("mean0", meanKept)]
        }
        let (decomposed, report) = try Decompose().run(graph)
        XCTAssertEqual(report, "decompose: 1 reduce_mean -> reduce_sum*1/n (1 sharing a reduce_sum), 2 kept (no reduce_sum to share)")
        XCTAssertEqual(count(graph, .reduceMean), 3)
        XCTAssertEqual(count(graph, .reduceSum), 2)
        XCTAssertEqual(count(decomposed, .reduceMean), 2)
        XCTAssertEqual(count(decomposed, .reduceSum), 2, "the mean's sum and the existing sum are one node")
        let meanNode = decomposed[decomposed.output(named: "mean")!]
        XCTAssertEqual(meanNode.op, .mul)
        XCTAssertEqual(meanNode.operands[0], decomposed.output(named: "sum"))
        XCTAssertEqual(decomposed[meanNode.operands[1]].attrs.float("value", default: 0), Double(Float(1.0 / 6)))
        try assertFoldingPreservesResults(graph, pipeline: PassPipeline(), baseline: ["decompose"], "decompose")
        try assertFoldingPreservesResults(graph, pipeline: pipeline(folding: fused, decompose: Decompose(reduceMean: .always)),
                                          baseline: ["decompose"], "decompose, every mean")

        // `.always` rewrites every floating-point mean.
        let (all, allReport) = try Decompose(reduceMean: .always).run(graph)
        XCTAssertEqual(allReport, "decompose: 3 reduce_mean -> reduce_sum*1/n (1 sharing a reduce_sum)")
        XCTAssertEqual(count(all, .reduceMean), 0)
        XCTAssertEqual(count(all, .reduceSum), 4)
    }

    func testDecomposeLeavesTheZooAlone() throws {
        // No zoo graph reduces one tensor with both a sum and a mean over the same axes.
        for entry in Zoo.entries {
            for train in [false, true] {
                let graph = try entry.trace(2, train)
                let (optimized, reports) = try optimizeGraph(graph, options: options())
                let line = try XCTUnwrap(reports.first { $0.pass == "decompose" }?.line)
                XCTAssertTrue(line.hasPrefix("decompose: 0 reduce_mean -> reduce_sum*1/n"), "\(entry.name): \(line)")
                XCTAssertEqual(count(optimized, .reduceMean), count(graph, .reduceMean), entry.name)
            }
        }
    }

    // MARK: - The pipeline

    func testStandardPipelineOrder() {
        XCTAssertEqual(PassPipeline().names, ["canonicalize", "decompose", "bn-fold", "reshape-elim", "cleanup"])
    }

    /// An input nothing reads stays: the compiled program's inputs are the graph's, so a caller
    /// feeding it (labels of an evaluation graph that only outputs predictions) is not refused.
    func testCanonicalizeKeepsInputsThatNothingReads() throws {
        let graph = try traceForward(name: "unused", models: []) { builder in
            let x = builder.input("x", [2])
            _ = builder.input("labels", [2], dtype: .i32)
            return [("y", x.relu())]
        }
        let (optimized, _) = try optimizeGraph(graph, options: CompileOptions())
        XCTAssertEqual(optimized.inputs.compactMap { optimized[$0].sourceName }, ["x", "labels"])
        let executable = try compileGraph(graph, options: CompileOptions())
        XCTAssertEqual(executable.inputNames, ["x", "labels"])
        let out = try executable.run(["x": HostTensor(shape: [2], floats: [-1, 2]), "labels": HostTensor(shape: [2], int32s: [0, 1])])
        XCTAssertEqual(out["y"]?.floats, [0, 2])
    }

    /// A misspelt SINTER_DISABLE is an error naming the passes there are, not a pass left on.
    func testDisablingAnUnknownPassIsAnErrorListingThePasses() throws {
        let graph = try traceForward(name: "tiny", models: []) { builder in [("y", builder.input("x", [2]).relu())] }
        let options = CompileOptions.fromEnvironment(["SINTER_DISABLE": "decompos, fusion"])
        XCTAssertThrowsError(try optimizeGraph(graph, options: options)) { error in
            let message = "\(error)"
            XCTAssert(message.contains("unknown passes 'decompos' (did you mean 'decompose'?), 'fusion';"), message)
            XCTAssert(message.contains("the graph passes are: canonicalize, decompose, bn-fold, reshape-elim, cleanup"), message)
            XCTAssert(message.contains("SINTER_NO_FUSE=1"), message)
        }
        XCTAssertThrowsError(try compileProgram(graph, options: options))
        XCTAssertNoThrow(try optimizeGraph(graph, options: CompileOptions.fromEnvironment(["SINTER_DISABLE": "decompose"])))
    }

    func testEveryPassCanBeDisabledAndReportsOneLine() throws {
        let graph = try CelebADCGAN(widthDivisor: 8).step(.generator, batch: 4, optimizer: nil)
        let names = PassPipeline().names
        for name in names {
            let (_, reports) = try optimizeGraph(graph, options: options(disabling: [name]))
            XCTAssertEqual(reports.map(\.pass), names)
            for report in reports {
                XCTAssertFalse(report.line.contains("\n"), report.line)
                XCTAssertTrue(report.line.hasPrefix("\(report.pass): "), report.line)
                XCTAssertEqual(report.skipped, report.pass == name)
                if report.pass == name {
                    XCTAssertEqual(report.line, "\(name): disabled")
                    XCTAssertEqual(report.nodesBefore, report.nodesAfter)
                }
            }
        }
        // All off: the graph comes out as it went in.
        let (untouched, reports) = try optimizeGraph(graph, options: options(disabling: Set(names)))
        XCTAssertEqual(untouched.text, graph.text)
        XCTAssertTrue(reports.allSatisfy(\.skipped))
        // SINTER_DISABLE reaches the pipeline.
        let fromEnvironment = CompileOptions.fromEnvironment(["SINTER_DISABLE": "decompose, bn-fold"])
        XCTAssertEqual(fromEnvironment.disabledPasses, ["decompose", "bn-fold"])
        let (_, envReports) = try optimizeGraph(graph, options: fromEnvironment)
        XCTAssertEqual(envReports.filter(\.skipped).map(\.pass), ["decompose", "bn-fold"])
    }

    func testDumpAfterEachPassSeesTheFoldedGraph() throws {
        // DCGAN's head (Dense -> Reshape -> BN) folds with and without fusion.
        let dense = Dense(3 * 3 * 6, name: "head")
        let norm = BatchNorm(name: "head_bn")
        let graph = try traceForward(name: "head", models: []) { builder in
            [("y", norm(dense(builder.input("z", [16, 8])).reshaped([16, 3, 3, 6])))]
        }
        var options = options()
        var seen: [(String, Int)] = []
        options.afterPass = { report, graph in seen.append((report.pass, graph.nodes.filter { $0.op == .sub && $0.type.rank > 1 }.count)) }
        _ = try optimizeGraph(graph, options: options)
        XCTAssertEqual(seen.map(\.0), PassPipeline().names)
        // The BN's `z - mean` over the activation is there until bn-fold, gone after it.
        XCTAssertEqual(seen.map(\.1), [1, 1, 0, 0, 0])
    }
}

import Foundation
import Sinter
import XCTest

/// The Winograd strategies (Codegen/sinter_winograd.h, Docs/strategies.md "Winograd"), each
/// forced, against an f64 reference computed here on awkward shapes (sizes that are not
/// multiples of the tile, 1x1 images, one or three channels, batches, same and valid padding),
/// with a fused bias + relu epilogue; the data gradient through the compiled C against finite
/// differences in f64; 1 and 2 threads bit-equal; and what the cost rule picks.
final class WinogradTests: XCTestCase {
    private static let strategies = ["winograd-f2", "winograd-f4"]
    /// The error bound each strategy is held to: a multiple of u * S, u = 2^-24 the f32 rounding
    /// unit and S the largest sum of the magnitudes of one output's terms (Docs/strategies.md,
    /// "Winograd"; a transform mixes a whole tile, so the bound is normwise, not per element).
    /// Measured errors are several times smaller; a wrong transform is off by the terms themselves.
    private static let bound = ["gemm-window": 16.0, "winograd-f2": 16.0, "winograd-f4": 256.0]
    private static let unit = 1.0 / Double(1 << 24)

    /// The largest error of `got` in units of u * S; fails when it is past the strategy's bound.
    private func error(_ got: [Double], _ want: [Double], _ magnitude: [Double], _ strategy: String, _ what: String) -> Double {
        XCTAssertEqual(got.count, want.count, what)
        let scale = Self.unit * max(magnitude.max() ?? 0, Double(Float.leastNormalMagnitude))
        let worst = zip(got, want).map { abs($0 - $1) / scale }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, Self.bound[strategy]!, "\(strategy), \(what): max error in units of u x the largest magnitude")
        return worst
    }

    /// x [n, h, w, ci], w [3, 3, ci, co], and the padding.
    private struct Shape: CustomStringConvertible {
        var n, h, w, ci, co: Int
        var padding: Padding
        var description: String { "x [\(n),\(h),\(w),\(ci)], w [3,3,\(ci),\(co)], \(padding.rawValue)" }
        var outH: Int { padding == .same ? h : h - 2 }
        var outW: Int { padding == .same ? w : w - 2 }
        var pad: Int { padding == .same ? 1 : 0 }
    }

    private static let shapes = [
        Shape(n: 2, h: 7, w: 9, ci: 3, co: 5, padding: .same),
        Shape(n: 1, h: 1, w: 1, ci: 1, co: 4, padding: .same),
        Shape(n: 3, h: 5, w: 6, ci: 1, co: 3, padding: .valid),
        Shape(n: 1, h: 6, w: 3, ci: 3, co: 1, padding: .valid),
        Shape(n: 2, h: 10, w: 11, ci: 19, co: 17, padding: .same),
    ]

    /// The environment's options (so `SINTER_CHECK_BOUNDS=1` runs these tests in the checking
    /// build) with `strategies` forced.
    private func options(_ strategies: [String: String]) -> CompileOptions {
        var options = CompileOptions.fromEnvironment()
        options.codegen.strategies = strategies
        return options
    }

    private func random(_ count: Int, seed: UInt64) -> [Double] {
        var generator = SplitMix(seed: seed)
        return (0..<count).map { _ in generator.nextUniform() * 2 - 1 }
    }

    /// y[b,i,j,o] = sum x[b, i+a-pad, j+c-pad, k] w[a,c,k,o] in f64, and the sum of the terms'
    /// magnitudes (what a rounding error is proportional to).
    private func reference(_ s: Shape, x: [Double], w: [Double]) -> (y: [Double], magnitude: [Double]) {
        var y: [Double] = [], magnitude: [Double] = []
        for b in 0..<s.n { for i in 0..<s.outH { for j in 0..<s.outW { for o in 0..<s.co {
            var sum = 0.0, size = 0.0
            for a in 0..<3 { for c in 0..<3 {
                let r = i + a - s.pad, q = j + c - s.pad
                guard r >= 0, r < s.h, q >= 0, q < s.w else { continue }
                for k in 0..<s.ci {
                    let term = x[((b * s.h + r) * s.w + q) * s.ci + k] * w[((a * 3 + c) * s.ci + k) * s.co + o]
                    sum += term
                    size += abs(term)
                }
            } }
            y.append(sum)
            magnitude.append(size)
        } } } }
        return (y, magnitude)
    }

    func testForcedWinogradMatchesAnF64ReferenceWithAFusedEpilogue() throws {
        for s in Self.shapes {
            let x = random(s.n * s.h * s.w * s.ci, seed: 1), w = random(9 * s.ci * s.co, seed: 2), bias = random(s.co, seed: 3)
            let (conv, magnitude) = reference(s, x: x, w: w)
            let builder = GraphBuilder(name: "winograd_conv")
            let y = relu(conv2d(builder.input("x", [s.n, s.h, s.w, s.ci]), builder.input("w", [3, 3, s.ci, s.co]), padding: s.padding)
                         + builder.input("bias", [s.co]))
            try builder.graph.addOutput("y", y.id)
            let graph = try builder.finish()
            let feeds = ["x": HostTensor(shape: [s.n, s.h, s.w, s.ci], floats: x.map(Float.init)),
                         "w": HostTensor(shape: [3, 3, s.ci, s.co], floats: w.map(Float.init)),
                         "bias": HostTensor(shape: [s.co], floats: bias.map(Float.init))]
            for strategy in Self.strategies {
                let plan = try ExecutionPlan(try optimizeGraph(graph).0, options: options(["conv2d": strategy]).codegen)
                let kernel = try XCTUnwrap(plan.kernels.first { $0.kind == .conv2d })
                XCTAssertEqual(kernel.strategyName, strategy, kernel.reason)
                XCTAssertEqual(kernel.kernel.nodes.count, 3, "conv2d + add + relu fused (\(s))")
                let got = try XCTUnwrap(try compileGraph(graph, options: options(["conv2d": strategy])).run(feeds)["y"]).doubles
                let want = conv.indices.map { max(0, conv[$0] + Double(Float(bias[$0 % s.co]))) }
                let terms = magnitude.indices.map { magnitude[$0] + abs(Double(Float(bias[$0 % s.co]))) }
                print("winograd: \(strategy) conv2d \(s): max error \(error(got, want, terms, strategy, "\(s)")) u S")
            }
        }
    }

    /// conv2d_input_grad alone (the data gradient, also Conv2DTranspose with stride 1) against
    /// the f64 sum dx[b,h,w,k] = sum dy[b, h+pad-a, w+pad-c, o] w[a,c,k,o].
    func testForcedWinogradDataGradientMatchesAnF64Reference() throws {
        for s in Self.shapes {
            let dy = random(s.n * s.outH * s.outW * s.co, seed: 4), w = random(9 * s.ci * s.co, seed: 5)
            let (dx, magnitude) = dataGradientReference(s, dy: dy, w: w)
            for strategy in Self.strategies {
                let got = try dataGradient(s, dy: dy, w: w, strategy: strategy)
                print("winograd: \(strategy) conv2d_input_grad \(s): max error \(error(got, dx, magnitude, strategy, "\(s)")) u S")
            }
        }
    }

    /// dx[b,h,w,k] = sum dy[b, h+pad-a, w+pad-c, o] w[a,c,k,o] in f64, and the terms' magnitudes.
    private func dataGradientReference(_ s: Shape, dy: [Double], w: [Double]) -> (dx: [Double], magnitude: [Double]) {
        var dx = [Double](repeating: 0, count: s.n * s.h * s.w * s.ci), magnitude = dx
        for b in 0..<s.n { for i in 0..<s.outH { for j in 0..<s.outW { for a in 0..<3 { for c in 0..<3 {
            let r = i + a - s.pad, q = j + c - s.pad
            guard r >= 0, r < s.h, q >= 0, q < s.w else { continue }
            for k in 0..<s.ci { for o in 0..<s.co {
                let term = dy[((b * s.outH + i) * s.outW + j) * s.co + o] * w[((a * 3 + c) * s.ci + k) * s.co + o]
                dx[((b * s.h + r) * s.w + q) * s.ci + k] += term
                magnitude[((b * s.h + r) * s.w + q) * s.ci + k] += abs(term)
            } }
        } } } } }
        return (dx, magnitude)
    }

    /// conv2d_input_grad alone in f32 (dy rounded to f32), computed by `strategy`.
    private func dataGradient(_ s: Shape, dy: [Double], w: [Double], strategy: String) throws -> [Double] {
        let graph = Graph(name: "winograd_input_grad")
        let at = SourceLocation(file: "WinogradTests.swift", line: 0)
        func input(_ name: String, _ shape: [Int]) throws -> Int {
            try graph.add(.input, [], Attributes(["name": .string(name)]), type: TensorType(.f32, shape), at: at)
        }
        let result = try graph.add(.conv2dInputGrad, [try input("dy", [s.n, s.outH, s.outW, s.co]), try input("w", [3, 3, s.ci, s.co])],
                                   Attributes(["strides": .ints([1, 1]), "pads": .ints([s.pad, s.pad, s.pad, s.pad])]),
                                   type: TensorType(.f32, [s.n, s.h, s.w, s.ci]), at: at)
        try graph.addOutput("dx", result)
        let feeds = ["dy": HostTensor(shape: [s.n, s.outH, s.outW, s.co], floats: dy.map(Float.init)),
                     "w": HostTensor(shape: [3, 3, s.ci, s.co], floats: w.map(Float.init))]
        let executable = try compileGraph(graph, options: options(["conv2d_input_grad": strategy]))
        XCTAssertEqual(executable.program.info.kernels.first?.strategy, strategy, "\(s)")
        return try XCTUnwrap(try executable.run(feeds)["dx"]).doubles
    }

    /// conv2d alone in f32, computed by `strategy`.
    private func forward(_ s: Shape, x: [Double], w: [Double], strategy: String) throws -> [Double] {
        let builder = GraphBuilder(name: "winograd_forward")
        let y = conv2d(builder.input("x", [s.n, s.h, s.w, s.ci]), builder.input("w", [3, 3, s.ci, s.co]), padding: s.padding)
        try builder.graph.addOutput("y", y.id)
        let executable = try compileGraph(try builder.finish(), options: options(["conv2d": strategy]))
        XCTAssertEqual(executable.program.info.kernels.first?.strategy, strategy, "\(s)")
        return try XCTUnwrap(try executable.run(["x": HostTensor(shape: [s.n, s.h, s.w, s.ci], floats: x.map(Float.init)),
                                                 "w": HostTensor(shape: [3, 3, s.ci, s.co], floats: w.map(Float.init))])["y"]).doubles
    }

    /// The errors Docs/strategies.md quotes: a VGG-like layer (ReLU activations, He-normal
    /// weights, 64 -> 64 channels, 2 x 24 x 24) and its data gradient (normal dy), each strategy
    /// against the f64 result of the same f32-rounded operands: max |error| / max |result| and
    /// the error in units of u * S (see `bound`).
    func testErrorsOnAVGGLikeLayer() throws {
        let s = Shape(n: 2, h: 24, w: 24, ci: 64, co: 64, padding: .same)
        var generator = SplitMix(seed: 14)
        let x = generator.normals(s.n * s.h * s.w * s.ci).map { Double(Float(max($0, 0))) }
        let w = generator.normals(9 * s.ci * s.co).map { Double(Float($0 * (2.0 / Double(9 * s.ci)).squareRoot())) }
        let dy = generator.normals(s.n * s.h * s.w * s.co).map { Double(Float($0)) }
        let (y, magnitude) = reference(s, x: x, w: w)
        let (dx, dxMagnitude) = dataGradientReference(s, dy: dy, w: w)
        for strategy in ["gemm-window"] + Self.strategies {
            for (what, got, want, size) in [("conv2d", try forward(s, x: x, w: w, strategy: strategy), y, magnitude),
                                            ("conv2d_input_grad", try dataGradient(s, dy: dy, w: w, strategy: strategy), dx, dxMagnitude)] {
                let relative = zip(got, want).map { abs($0 - $1) }.max()! / want.map(Swift.abs).max()!
                let inUnits = error(got, want, size, strategy, "VGG-like \(what)")
                print("winograd: VGG-like \(what) \(s) \(strategy): max |error| / max |y| = "
                      + String(format: "%.2e, %.1f u S", relative, inUnits))
            }
        }
    }

    /// Gradients of sum(relu(conv2d(x, w) + bias) * dy) in f64 through the compiled C, with the
    /// forward and the data gradient computed by each Winograd strategy.
    func testGradientsThroughWinogradMatchFiniteDifferences() throws {
        for s in [Shape(n: 2, h: 5, w: 7, ci: 3, co: 2, padding: .same), Shape(n: 1, h: 6, w: 5, ci: 2, co: 3, padding: .valid)] {
            for strategy in Self.strategies {
                let program = try VJPProgram(name: "winograd_grad", dtype: .f64, wrt: ["x", "w", "bias"],
                                             options: options(["conv2d": strategy, "conv2d_input_grad": strategy])) { b in
                    let y = relu(conv2d(b.input("x", [s.n, s.h, s.w, s.ci]), b.input("w", [3, 3, s.ci, s.co]), padding: s.padding) + b.input("bias", [s.co]))
                    return GoldenOpGraph(outputs: [("y", y)])
                }
                let strategies = program.executable.program.info.kernels.filter { ["conv2d", "conv2d_input_grad"].contains($0.ops.first) }.map(\.strategy)
                XCTAssertEqual(strategies, [strategy, strategy], "\(s)")
                let feeds = ["x": HostTensor(shape: [s.n, s.h, s.w, s.ci], doubles: random(s.n * s.h * s.w * s.ci, seed: 6)),
                             "w": HostTensor(shape: [3, 3, s.ci, s.co], doubles: random(9 * s.ci * s.co, seed: 7)),
                             "bias": HostTensor(shape: [s.co], doubles: random(s.co, seed: 8)),
                             "dy": HostTensor(shape: [s.n, s.outH, s.outW, s.co], doubles: random(s.n * s.outH * s.outW * s.co, seed: 9))]
                for name in ["x", "w", "bias"] {
                    if let mismatch = try finiteDifferenceMismatch(program, feeds: feeds, wrt: name) { XCTFail("\(strategy), \(s): \(mismatch)") }
                }
            }
        }
    }

    /// One compiled library run as two processes, OMP_NUM_THREADS=1 and 2: the forward and the
    /// data gradient (both F(4x4,3x3), four scratch slots shared by the threads) give the same bits.
    func testOneAndTwoThreadsGiveTheSameBits() throws {
        let s = Shape(n: 2, h: 13, w: 11, ci: 20, co: 24, padding: .same)
        let builder = GraphBuilder(name: "winograd_threads")
        let y = relu(conv2d(builder.input("x", [s.n, s.h, s.w, s.ci]), builder.input("w", [3, 3, s.ci, s.co])) + builder.input("bias", [s.co]))
        try builder.graph.addOutput("y", y.id)
        let directory = try SinterProcess.temporaryDirectory("winograd-threads")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ir = directory.appendingPathComponent("conv.ir").path, inputs = directory.appendingPathComponent("in.safetensors").path
        let cotangents = directory.appendingPathComponent("dy.safetensors").path
        try builder.graph.text.write(toFile: ir, atomically: true, encoding: .utf8)
        try Safetensors.write(["x": HostTensor(shape: [s.n, s.h, s.w, s.ci], floats: random(s.n * s.h * s.w * s.ci, seed: 10).map(Float.init)),
                               "w": HostTensor(shape: [3, 3, s.ci, s.co], floats: random(9 * s.ci * s.co, seed: 11).map(Float.init)),
                               "bias": HostTensor(shape: [s.co], floats: random(s.co, seed: 12).map(Float.init))], to: inputs)
        try Safetensors.write(["dy": HostTensor(shape: [s.n, s.h, s.w, s.co], floats: random(s.n * s.h * s.w * s.co, seed: 13).map(Float.init))],
                              to: cotangents)
        var outputs: [[String: HostTensor]] = []
        for threads in ["1", "2"] {
            let out = directory.appendingPathComponent("out\(threads).safetensors").path
            let result = try SinterProcess.run(["run", ir, "--inputs", inputs, "--cotangents", cotangents, "--out", out],
                                               environment: ["OMP_NUM_THREADS": threads, "XDG_CACHE_HOME": directory.appendingPathComponent("cache").path,
                                                             "SINTER_STRATEGY": "conv2d:winograd-f4,conv2d_input_grad:winograd-f4"], in: directory)
            XCTAssertEqual(result.status, 0, result.err)
            outputs.append(try Safetensors.read(path: out))
        }
        let plan = try ExecutionPlan(try optimizeGraph(builder.graph).0, options: CodegenOptions(strategies: ["conv2d": "winograd-f4"]))
        XCTAssertGreaterThan(try XCTUnwrap(plan.kernels.first { $0.kind == .conv2d }).scratchBytes, 0)
        for name in ["y", "grad.x", "grad.w", "grad.bias"] {
            let one = try XCTUnwrap(outputs[0][name], name).floats, two = try XCTUnwrap(outputs[1][name], name).floats
            XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern), "\(name) differs between 1 and 2 threads")
        }
    }

    /// The cost rule: what it picks for the conv autoencoder's shapes and why, what it refuses.
    func testTheCostRulePicksByShape() throws {
        func decision(_ op: Op, x: [Int], w: [Int], strides: [Int] = [1, 1], pads: [Int] = [1, 1, 1, 1], dtype: DType = .f32) throws -> PlannedKernel {
            let graph = Graph(name: "winograd_rule")
            let at = SourceLocation(file: "WinogradTests.swift", line: 0)
            let oh = (x[1] + pads[0] + pads[1] - w[0]) / strides[0] + 1, ow = (x[2] + pads[2] + pads[3] - w[1]) / strides[1] + 1
            let a = try graph.add(.input, [], Attributes(["name": .string("a")]), type: TensorType(dtype, op == .conv2d ? x : [x[0], oh, ow, w[3]]), at: at)
            let b = try graph.add(.input, [], Attributes(["name": .string("w")]), type: TensorType(dtype, w), at: at)
            let type = op == .conv2d ? TensorType(dtype, [x[0], oh, ow, w[3]]) : TensorType(dtype, x)
            let conv = try graph.add(op, [a, b], Attributes(["strides": .ints(strides), "pads": .ints(pads)]), type: type, at: at)
            try graph.addOutput("y", conv)
            return try XCTUnwrap(try ExecutionPlan(graph, options: CodegenOptions()).kernels.first)
        }
        // One input channel: the transforms cost more than the 9 multiply-adds per output they replace.
        XCTAssertEqual(try decision(.conv2d, x: [128, 28, 28, 1], w: [3, 3, 1, 64]).strategyName, "gemm-window")
        // 64 -> 128 channels: forward F(2x2,3x3), never F(4x4,3x3) unless forced; the data gradient F(4x4,3x3).
        let forward = try decision(.conv2d, x: [128, 14, 14, 64], w: [3, 3, 64, 128])
        XCTAssertEqual(forward.strategyName, "winograd-f2", forward.reason)
        XCTAssertTrue(forward.reason.contains("x cheaper than gemm-window (F(2x2,3x3): ") && forward.reason.contains("not winograd-f4 (only when forced)"), forward.reason)
        let backward = try decision(.conv2dInputGrad, x: [128, 14, 14, 64], w: [3, 3, 64, 128])
        XCTAssertEqual(backward.strategyName, "winograd-f4", backward.reason)
        // The rule's basis against an independent count: F(4,3) on 14 x 14 covers 16 x 16 in
        // 4 x 4 tiles of 36 products per channel pair, plus the transforms (sinter_winograd.h).
        let tiles = 128.0 * 16, gemm = tiles * 36 * 64 * 128
        let inputTransform: Double = tiles * 128 * Double(2 * 6 * 21 + 72)
        let outputTransform: Double = tiles * 64 * Double((6 + 4) * 13 + 36 + 16)
        let filterTransform: Double = 128 * 64 * Double((3 + 6) * 13 + 9 + 36)
        let transforms = inputTransform + outputTransform + filterTransform
        let taps = Double(14 * 3 - 2)  // valid taps summed over the rows (or columns) of a padded 14
        let direct: Double = 128 * taps * taps * 64 * 128
        XCTAssertTrue(backward.reason.contains(String(format: "%.1fx fewer operations than the direct sum", direct / (gemm + transforms))), backward.reason)
        for (w, strides) in [([5, 5, 8, 8], [1, 1]), ([3, 3, 8, 8], [2, 2])] {
            let other = try decision(.conv2d, x: [2, 16, 16, 8], w: w, strides: strides)
            XCTAssertEqual(other.strategyName, "gemm-window")
            XCTAssertTrue(other.reason.contains("winograd-f2 needs a 3x3 kernel with stride 1, not \(w[0])x\(w[1]) stride \(strides[0])x\(strides[1])"), other.reason)
        }
    }
}

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

    private func options(_ strategies: [String: String]) -> CompileOptions {
        var options = CompileOptions()
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
            for strategy in Self.strategies {
                let executable = try compileGraph(graph, options: options(["conv2d_input_grad": strategy]))
                XCTAssertEqual(executable.program.info.kernels.first?.strategy, strategy, "\(s)")
                let got = try XCTUnwrap(try executable.run(feeds)["dx"]).doubles
                print("winograd: \(strategy) conv2d_input_grad \(s): max error \(error(got, dx, magnitude, strategy, "\(s)")) u S")
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
}

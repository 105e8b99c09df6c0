import Foundation
import Sinter
import XCTest

/// One and two steps of Adam, RMSprop and SGD (with momentum and an exponential-decay schedule),
/// run as compiled graph effects, against the formulas of seed-models §1 computed here in f64.
final class OptimizerTests: XCTestCase {
    let start: [Double] = [0.5, -1.25, 2.0]
    let gradients: [[Double]] = [[0.3, -0.02, 4.0], [-1.5, 0.7, 0.001]]

    /// Runs two steps of loss = sum(p * c): the gradient of p is the input c.
    func runTwoSteps(_ optimizer: any Optimizer) throws -> [[Double]] {
        let graph = try traceStep(name: "opt", models: [], optimizer: optimizer, options: StepOptions()) { builder in
            let p = builder.persistent("p", [3], initializer: "zeros", trainable: true, at: SourceLocation(file: #fileID, line: #line))
            return StepOutputs(loss: (p * builder.input("c", [3])).sum())
        }
        let executable = try compileGraph(graph)
        try executable.setPersistent("p", HostTensor(shape: [3], doubles: start))
        var trajectory: [[Double]] = []
        for g in gradients {
            _ = try executable.run(["c": HostTensor(shape: [3], doubles: g)])
            trajectory.append(try executable.persistent("p").doubles)
        }
        XCTAssertEqual(try executable.persistent("opt.iterations").doubles, [2])
        return trajectory
    }

    func assertTrajectory(_ got: [[Double]], _ expected: [[Double]], file: StaticString = #filePath, line: UInt = #line) {
        for (step, (g, e)) in zip(got, expected).enumerated() {
            for i in g.indices {
                XCTAssertEqual(g[i], e[i], accuracy: 1e-6 * max(1, Swift.abs(e[i])), "step \(step + 1) element \(i)", file: file, line: line)
            }
        }
    }

    func testAdamMatchesTheEpsilonHatFormula() throws {
        let (lr, b1, b2, eps) = (0.01, 0.9, 0.999, 1e-7)
        var p = start, m = [0.0, 0, 0], v = [0.0, 0, 0]
        var expected: [[Double]] = []
        for (t, g) in gradients.enumerated() {
            let step = Double(t + 1)
            let alpha = lr * (1 - Foundation.pow(b2, step)).squareRoot() / (1 - Foundation.pow(b1, step))
            for i in 0..<3 {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                p[i] -= alpha * m[i] / (v[i].squareRoot() + eps)
            }
            expected.append(p)
        }
        assertTrajectory(try runTwoSteps(Adam(learningRate: lr)), expected)
    }

    /// `clip` bounds the param right after each update (the Gatys image's clip to [0, 255]): the
    /// first step (about -lr*sign(g)) takes (0.5, -1.25, 2.0) to (0.49, -1.24, 1.99); with clip
    /// -1...1.5 the last two end at the bounds, and 0.49 is left alone.
    func testAdamClipBoundsTheUpdatedParam() throws {
        let free = try runTwoSteps(Adam(learningRate: 0.01))
        let clipped = try runTwoSteps(Adam(learningRate: 0.01, clip: -1...1.5))
        XCTAssertEqual(clipped[0][0], free[0][0], accuracy: 1e-7)
        XCTAssertEqual(clipped[0][1], -1)
        XCTAssertEqual(clipped[0][2], 1.5)
        XCTAssertLessThan(free[0][1], -1.2)
        XCTAssertGreaterThan(free[0][2], 1.9)
        for step in clipped { XCTAssert(step.allSatisfy { (-1...1.5).contains($0) }, "\(step)") }
    }

    func testRMSpropKeepsEpsilonInsideTheRoot() throws {
        let (lr, rho, eps) = (0.01, 0.9, 1e-7)
        var p = start, v = [0.0, 0, 0]
        var expected: [[Double]] = []
        for g in gradients {
            for i in 0..<3 {
                v[i] = rho * v[i] + (1 - rho) * g[i] * g[i]
                p[i] -= lr * g[i] / (v[i] + eps).squareRoot()
            }
            expected.append(p)
        }
        assertTrajectory(try runTwoSteps(RMSprop(learningRate: lr)), expected)
    }

    func testSGDWithMomentumAndExponentialDecay() throws {
        let (lr, momentum, rate, steps) = (0.1, 0.9, 0.5, 1.0)
        var p = start, velocity = [0.0, 0, 0]
        var expected: [[Double]] = []
        for (iteration, g) in gradients.enumerated() {
            let lrT = lr * Foundation.pow(rate, Double(iteration) / steps)  // first update uses lr
            for i in 0..<3 {
                velocity[i] = momentum * velocity[i] - lrT * g[i]
                p[i] += velocity[i]
            }
            expected.append(p)
        }
        let sgd = SGD(learningRate: lr, momentum: momentum, decay: ExponentialDecay(decayRate: rate, decaySteps: steps))
        assertTrajectory(try runTwoSteps(sgd), expected)
    }
}

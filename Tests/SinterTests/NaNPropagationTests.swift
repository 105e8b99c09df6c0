import Foundation
import Sinter
import XCTest

/// NaN and +-Inf through the compiled C, against TensorFlow's semantics (TF 2.x on CPU):
/// - relu, relu6, leaky_relu, clip_by_value are built from cwiseMax/cwiseMin and propagate NaN:
///   relu(NaN) = NaN, relu(-inf) = 0, relu(inf) = inf; relu6(inf) = 6, relu6(-inf) = 0;
///   leaky_relu(-inf) = -inf; clip_by_value(inf, -1, 1) = 1, clip_by_value(-inf, -1, 1) = -1.
/// - tf.maximum / tf.minimum use Eigen's scalar_max_op/scalar_min_op with PropagateNaN: a NaN on
///   either side gives NaN; maximum(-inf, 1) = 1, minimum(inf, 1) = 1.
/// - tf.reduce_max uses MaxReducer<T, PropagateNaN>: a NaN anywhere in the reduced run gives NaN;
///   the max of only -inf is -inf.
/// - tf.nn.max_pool of a window holding a NaN is NaN.
/// - ReluGrad is `gradients * (features > 0)` on relu's output: 0 where the output is NaN.
/// C's plain `x > 0 ? x : 0` (and fmaxf/fminf) drop NaN, which these tests catch.
final class NaNPropagationTests: XCTestCase {
    let nan = Float.nan, inf = Float.infinity

    /// Builds `y = op(x)` (x: f32 `shape`), compiles it fused and unfused, and returns both results.
    func run(_ shape: [Int], _ values: [Float], extra: [String: HostTensor] = [:],
             _ body: (GraphBuilder, Tensor) -> Tensor) throws -> [[Float]] {
        var results: [[Float]] = []
        for fuse in [true, false] {
            let builder = GraphBuilder(name: "nan", dtype: .f32, training: false)
            let y = body(builder, builder.input("x", shape))
            if let error = builder.firstError { throw error }
            try builder.graph.addOutput("y", y.id)
            let graph = try builder.finish()
            var options = CompileOptions()
            options.codegen.fuse = fuse
            let executable = try compileGraph(graph, options: options)
            var feeds = extra
            feeds["x"] = HostTensor(shape: shape, floats: values)
            results.append(try executable.run(feeds)["y"]!.floats)
        }
        return results
    }

    /// Elementwise equality where NaN equals NaN.
    func assertSame(_ got: [[Float]], _ expected: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for (k, values) in got.enumerated() {
            let same = values.count == expected.count && zip(values, expected).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
            XCTAssert(same, "\(what) (\(k == 0 ? "fused" : "unfused")): got \(values), expected \(expected)", file: file, line: line)
        }
    }

    var specials: [Float] { [nan, inf, -inf, -2, 0, 3, 7] }

    func testReluFamilyPropagatesNaN() throws {
        assertSame(try run([7], specials) { $1.relu() }, [nan, inf, 0, 0, 0, 3, 7], "relu")
        assertSame(try run([7], specials) { $1.relu6() }, [nan, 6, 0, 0, 0, 3, 6], "relu6")
        assertSame(try run([7], specials) { $1.leakyRelu(0.5) }, [nan, inf, -inf, -1, 0, 3, 7], "leaky_relu")
        assertSame(try run([7], specials) { $1.clipped(-1, 1) }, [nan, 1, -1, -1, 0, 1, 1], "clip_by_value")
        // An elementwise chain (fused into one loop) keeps the NaN too.
        assertSame(try run([7], specials) { ($1 * 2).relu() + 1 }, [nan, inf, 1, 1, 1, 7, 15], "relu in a fused chain")
    }

    func testMaximumAndMinimumPropagateNaNFromEitherSide() throws {
        let other = HostTensor(shape: [4], floats: [1, nan, 1, 1])
        let x: [Float] = [nan, 1, -inf, inf]
        let maxima = try run([4], x, extra: ["b": other]) { b, x in maximum(x, b.input("b", [4])) }
        assertSame(maxima, [nan, nan, 1, inf], "maximum")
        let minima = try run([4], x, extra: ["b": other]) { b, x in minimum(x, b.input("b", [4])) }
        assertSame(minima, [nan, nan, -inf, 1], "minimum")
        // Against a constant (inlined as a literal).
        assertSame(try run([4], x) { b, x in maximum(x, b.constant(0)) }, [nan, 1, 0, inf], "maximum with a constant")
        assertSame(try run([4], x) { b, x in minimum(b.constant(0), x) }, [nan, 0, -inf, 0], "minimum with a constant first")
    }

    func testReduceMaxPropagatesNaN() throws {
        // Innermost axis reduced: rows [1, NaN, 3, 2], [-inf, -inf, -inf, -inf], [NaN, 0, 0, 0].
        let rows: [Float] = [1, nan, 3, 2, -inf, -inf, -inf, -inf, nan, 0, 0, 0]
        assertSame(try run([3, 4], rows) { $1.max(axes: [1]) }, [nan, -inf, nan], "reduce_max over the inner axis")
        // Outer axis reduced (rows added into a tile of accumulators). Columns of the 4x3 view:
        // [1, 2, -inf, 0], [NaN, -inf, -inf, 0], [3, -inf, NaN, 0].
        assertSame(try run([4, 3], rows) { $1.max(axes: [0]) }, [2, nan, nan], "reduce_max over the outer axis")
        // With a fused prologue (the reduction reads x + 1 computed in registers).
        assertSame(try run([3, 4], rows) { ($1 + 1).max(axes: [1]) }, [nan, -inf, nan], "reduce_max of a fused prologue")
        assertSame(try run([4, 3], rows) { ($1 + 1).max(axes: [0]) }, [3, nan, nan], "reduce_max (outer) of a fused prologue")
        assertSame(try run([12], rows) { $1.max() }, [nan], "reduce_max of everything")
    }

    func testMaxPoolOfAWindowWithNaNIsNaN() throws {
        // One 4x4 image, 2x2 windows: NaN in the last cell of the first window, +inf in the second,
        // -inf everywhere in the third, finite values in the fourth.
        let image: [Float] = [1, 2, inf, 0,
                              3, nan, 5, 6,
                              -inf, -inf, 1, 2,
                              -inf, -inf, 4, 3]
        assertSame(try run([1, 4, 4, 1], image) { maxPool($1, 2) }, [nan, inf, -inf, 4], "max_pool")
    }

    /// Sinter's rule (not checked against TF's CPU MaxPoolGrad): dy goes to the element the
    /// forward value came from, so to the first NaN of a window that has one.
    func testMaxPoolGradientGoesToTheNaNTheForwardPicked() throws {
        let builder = GraphBuilder(name: "poolgrad", dtype: .f32, training: false)
        let x = builder.input("x", [1, 2, 2, 1])
        let y = maxPool(x, 2)
        try builder.graph.addOutput("y", y.id)
        let dy = builder.input("dy", [1, 1, 1, 1])
        let grads = try vjp(in: builder.graph, outputs: [(y.id, dy.id)], wrt: [x.id])
        try builder.graph.addOutput("dx", grads[0])
        let executable = try compileGraph(try builder.finish())
        let results = try executable.run(["x": HostTensor(shape: [1, 2, 2, 1], floats: [5, 1, nan, 2]),
                                          "dy": HostTensor(shape: [1, 1, 1, 1], floats: [1])])
        XCTAssert(results["y"]!.floats[0].isNaN)
        XCTAssertEqual(results["dx"]!.floats, [0, 0, 1, 0])
    }

    func testReluGradientAtNaNIsZeroAsTFReluGrad() throws {
        let builder = GraphBuilder(name: "relugrad", dtype: .f32, training: false)
        let x = builder.input("x", [4])
        let y = x.relu()
        try builder.graph.addOutput("y", y.id)
        let dy = builder.input("dy", [4])
        let grads = try vjp(in: builder.graph, outputs: [(y.id, dy.id)], wrt: [x.id])
        try builder.graph.addOutput("dx", grads[0])
        let executable = try compileGraph(try builder.finish())
        let results = try executable.run(["x": HostTensor(shape: [4], floats: [nan, -1, 2, inf]),
                                          "dy": HostTensor(shape: [4], floats: [1, 1, 1, 1])])
        XCTAssert(results["y"]!.floats[0].isNaN, "relu(NaN) = NaN")
        XCTAssertEqual(results["dx"]!.floats, [0, 0, 1, 1], "ReluGrad = dy * (y > 0)")
    }
}

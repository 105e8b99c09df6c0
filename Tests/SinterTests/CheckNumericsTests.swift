import Foundation
import Sinter
import XCTest

/// `--check-numerics` (CodegenOptions.checkNumerics, CheckBuild.swift): like
/// tf.debugging.enable_check_numerics, the checking build stops at the first op whose output holds
/// NaN or Inf and names the op, its Swift source line, the tensor and the element.
final class CheckNumericsTests: XCTestCase {
    /// y = relu(log(x - 1) * 0) + 2: log(0) = -Inf mid-graph where x == 1, then -Inf * 0 = NaN.
    func logGraph() throws -> (graph: Graph, logLine: Int) {
        let builder = GraphBuilder(name: "lognan", dtype: .f32, training: false)
        let x = builder.input("x", [4])
        let shifted = x - 1
        let logged = shifted.log(); let logLine = #line
        let y = (logged * 0).relu() + 2
        try builder.graph.addOutput("y", y.id)
        return (try builder.finish(), logLine)
    }

    func options(checkNumerics: Bool) -> CompileOptions {
        var options = CompileOptions()
        options.codegen.checkNumerics = checkNumerics
        return options
    }

    let feeds = ["x": HostTensor(shape: [4], floats: [3, 2, 1, 5])]

    func testTheCheckingBuildNamesTheOpThatFirstProducedInfAndItsSourceLine() throws {
        let (graph, logLine) = try logGraph()
        let executable = try compileGraph(graph, options: options(checkNumerics: true))
        XCTAssertThrowsError(try executable.run(feeds)) { error in
            let text = "\(error)"
            XCTAssert(text.contains("check-numerics: op log"), text)
            XCTAssert(text.contains("SinterTests/CheckNumericsTests.swift:\(logLine)"), text)
            XCTAssert(text.contains("produced -Inf at element 2 of %"), text)
            XCTAssert(text.contains("f32[4]"), text)
        }
        // Finite inputs run through the same checking build without complaint.
        let fine = try executable.run(["x": HostTensor(shape: [4], floats: [3, 2, 4, 5])])
        XCTAssertEqual(fine["y"]?.floats, [2, 2, 2, 2])
    }

    func testTheNormalBuildRunsSilentlyAndIsADifferentProgram() throws {
        let (graph, _) = try logGraph()
        let normal = try compileProgram(graph, options: options(checkNumerics: false))
        let checked = try compileProgram(graph, options: options(checkNumerics: true))
        XCTAssertNil(normal.program.checks)
        XCTAssertNotNil(checked.program.checks)
        XCTAssertFalse(normal.program.source.contains("sinter_check"))
        let cache = try KernelCache.fromEnvironment()
        XCTAssertNotEqual(cache.key(for: normal.program), cache.key(for: checked.program), "a separate cache entry")
        let y = try compileGraph(graph, options: options(checkNumerics: false)).run(feeds)["y"]!.floats
        XCTAssertEqual(y[0], 2)
        XCTAssert(y[2].isNaN, "relu(NaN) + 2 = NaN, as TF: got \(y[2])")
    }

    func testZeroOverZeroIsNamedAsTheDivision() throws {
        let builder = GraphBuilder(name: "divnan", dtype: .f32, training: false)
        let x = builder.input("x", [2, 3])
        let centred = x - x.mean(axes: [1], keepDims: true)
        let ratio = divide(centred, centred); let divLine = #line
        try builder.graph.addOutput("ratio", ratio.sum().id)
        let executable = try compileGraph(try builder.finish(), options: options(checkNumerics: true))
        // Row 1 is constant: its centred values are 0 and 0/0 = NaN at flat element 3.
        XCTAssertThrowsError(try executable.run(["x": HostTensor(shape: [2, 3], floats: [1, 2, 4, 7, 7, 7])])) { error in
            let text = "\(error)"
            XCTAssert(text.contains("op div"), text)
            XCTAssert(text.contains("CheckNumericsTests.swift:\(divLine)"), text)
            XCTAssert(text.contains("produced NaN at element 3"), text)
        }
    }

    func testAnUpdateThatWritesNaNIntoAParameterIsNamed() throws {
        // w <- w - 0.1 * x: the update (an effect) writes into the parameter block.
        let builder = GraphBuilder(name: "update", dtype: .f32, training: true)
        let x = builder.input("x", [3])
        let w = builder.persistent("w", [3], initializer: "zeros", trainable: false, at: SourceLocation(file: "Update.swift", line: 7))
        builder.updateState("w", w - x * 0.1)
        let graph = try builder.finish()
        let executable = try compileGraph(graph, options: options(checkNumerics: true))
        // The subtraction already produces NaN, before the assign: the first op is named.
        XCTAssertThrowsError(try executable.run(["x": HostTensor(shape: [3], floats: [1, .nan, 2])])) { error in
            XCTAssert("\(error)".contains("produced NaN at element 1"), "\(error)")
        }
        XCTAssertNoThrow(try executable.run(["x": HostTensor(shape: [3], floats: [1, 1, 2])]))
        XCTAssertEqual(try executable.persistent("w").floats, [-0.1, -0.1, -0.2])
    }
}

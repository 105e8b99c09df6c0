import Foundation
import Sinter
import SinterModels
import XCTest

/// The DSL: parameter naming by property path, shape errors pointing at the user's line,
/// BatchNorm state updates, dropout modes, parameter initialisation.
final class DSLTests: XCTestCase {
    struct TwoLayers: Module {
        let first = Dense(4, activation: .relu)
        let second = Dense(2)
        let stack = Sequential { Dense(3); Dense(1) }
    }

    func testParametersAreNamedByPropertyPath() throws {
        let model = TwoLayers()
        let graph = try traceForward(name: "two", models: [model]) { builder in
            let x = builder.input("x", [5, 6])
            return [("y", model.stack(model.second(model.first(x))))]
        }
        let names = graph.params.compactMap { graph[$0].sourceName }
        XCTAssertEqual(names, ["first.kernel", "first.bias", "second.kernel", "second.bias",
                               "stack.0.kernel", "stack.0.bias", "stack.1.kernel", "stack.1.bias"])
        XCTAssertEqual(graph[graph.source(named: "first.kernel")!].type, TensorType(.f32, [6, 4]))
    }

    func testShapeMismatchNamesTheOpTheShapesAndTheSourceLine() throws {
        let model = TwoLayers()
        let mismatchLine = #line + 4
        XCTAssertThrowsError(try traceForward(name: "bad", models: [model]) { builder in
            let x = builder.input("x", [5, 6])
            let y = model.first(x)
            let wrong = matmul(y, builder.input("w", [3, 2]))
            return [("y", wrong)]
        }) { error in
            let message = "\(error)"
            XCTAssert(message.contains("DSLTests.swift:\(mismatchLine)"), message)
            XCTAssert(message.contains("matmul"), message)
            XCTAssert(message.contains("[5,4]") && message.contains("[3,2]"), message)
        }
    }

    func testOnlyTheFirstErrorIsReported() throws {
        let firstLine = #line + 3
        XCTAssertThrowsError(try traceForward(name: "bad", models: []) { builder in
            let x = builder.input("x", [2, 3])
            let a = x + builder.input("y", [4])
            let b = a.reshaped([7])
            return [("b", b)]
        }) { error in
            XCTAssert("\(error)".contains("DSLTests.swift:\(firstLine)"), "\(error)")
            XCTAssert("\(error)".contains("do not broadcast"), "\(error)")
        }
    }

    /// Operators cannot take #line defaults; they read their caller's line from the call stack,
    /// so a mismatched `h + r` is reported at the `+`, not at the call before it.
    func testAMismatchedOperatorIsReportedAtItsOwnLine() throws {
        var plusLine = 0
        XCTAssertThrowsError(try traceForward(name: "bad", models: []) { builder in
            let h = builder.input("h", [2, 3])
            let r = builder.input("r", [2, 4])

            plusLine = #line + 1
            let y = h + r
            return [("y", y)]
        }) { error in
            XCTAssert("\(error)".hasPrefix("\(#fileID):\(plusLine): error: add:"), "\(error)")
        }
        var scaledLine = 0
        XCTAssertThrowsError(try traceForward(name: "bad", models: []) { builder in
            let h = builder.input("h", [2, 3])
            let r = builder.input("r", [4])
            let doubled = h * 2.0

            scaledLine = #line + 1
            return [("y", 1.0 - doubled / r)]
        }) { error in
            XCTAssert("\(error)".hasPrefix("\(#fileID):\(scaledLine): error: div:"), "\(error)")
        }
    }

    func testOperatorNodesCarryTheirOwnLines() throws {
        var lines: [String: Int] = [:]
        let graph = try traceForward(name: "lines", models: []) { builder in
            let x = builder.input("x", [3])

            lines["neg"] = #line + 1
            let negated = -x

            lines["scaled"] = #line + 1
            let scaled = 0.5 * negated
            return [("y", scaled)]
        }
        let y = graph[try XCTUnwrap(graph.output(named: "y"))]
        XCTAssertEqual(y.op, .mul)
        XCTAssertEqual(y.location, SourceLocation(file: #fileID, line: lines["scaled"]!))
        XCTAssertEqual(graph[y.operands[0]].location, SourceLocation(file: #fileID, line: lines["scaled"]!), "the constant")
        XCTAssertEqual(graph[y.operands[1]].op, .neg)
        XCTAssertEqual(graph[y.operands[1]].location, SourceLocation(file: #fileID, line: lines["neg"]!))
    }

    /// Inside a DSL composite an operator reports the composite's caller.
    func testAnOperatorInsideALossIsReportedAtTheLossCall() throws {
        var lossLine = 0
        XCTAssertThrowsError(try traceForward(name: "bad", models: []) { builder in
            let p = builder.input("p", [2, 3])
            let t = builder.input("t", [2, 4])

            lossLine = #line + 1
            return [("loss", binaryCrossEntropyOnProbabilities(p, target: t))]
        }) { error in
            XCTAssert("\(error)".hasPrefix("\(#fileID):\(lossLine): error:"), "\(error)")
        }
    }

    /// A layer of a model not passed in `models:` has no name: the message says which functions
    /// name layers and which models this trace was given.
    func testALayerOfAModelNotPassedToTheStepNamesTheFunctionsAndTheModelsGiven() throws {
        let passed = TwoLayers(), forgotten = TwoLayers()
        var line = 0
        XCTAssertThrowsError(try traceStep(name: "bad", models: [passed], optimizer: nil) { builder in
            let x = builder.input("x", [5, 6])

            line = #line + 1
            return StepOutputs(loss: forgotten.first(passed.first(x)).mean())
        }) { error in
            let message = "\(error)"
            XCTAssert(message.hasPrefix("\(#fileID):\(line): error: Dense: layer has no name"), message)
            XCTAssert(message.contains("`models:` of traceStep or traceForward"), message)
            XCTAssert(message.contains("this trace was given: TwoLayers"), message)
        }
    }

    func testBatchNormTrainingUpdatesMovingStatisticsAndInferenceDoesNot() throws {
        let bn = BatchNorm(name: "bn")
        let training = try traceForward(name: "bn", models: [], training: true) { builder in
            [("y", bn(builder.input("x", [4, 3])))]
        }
        let assigned = training.effects.map { training[training[$0].operands[0]].sourceName }
        XCTAssertEqual(assigned, ["bn.moving_mean", "bn.moving_variance"])
        let inference = try traceForward(name: "bn", models: [], training: false) { builder in
            [("y", bn(builder.input("x", [4, 3])))]
        }
        XCTAssert(inference.effects.isEmpty)
        let executable = try compileGraph(training)
        try executable.initializeParameters(seed: 0)
        let x = HostTensor(shape: [4, 3], floats: [1, 2, 3, 3, 2, 1, 5, 5, 5, 7, 1, 3])
        _ = try executable.run(["x": x])
        // moving_mean = 0.99*0 + 0.01*batch mean
        let mean = try executable.persistent("bn.moving_mean").floats
        XCTAssertEqual(mean[0], 0.01 * 4, accuracy: 1e-6)
        XCTAssertEqual(mean[1], 0.01 * 2.5, accuracy: 1e-6)
    }

    func testDropoutIsActiveOnlyInTraining() throws {
        let dropout = Dropout(0.5)
        let training = try traceForward(name: "drop", models: [], training: true) { builder in
            [("y", dropout(builder.input("x", [1000])))]
        }
        let executable = try compileGraph(training)
        let ones = HostTensor(shape: [1000], floats: [Float](repeating: 1, count: 1000))
        let first = try executable.run(["x": ones])["y"]!.floats
        let second = try executable.run(["x": ones])["y"]!.floats
        let kept = first.filter { $0 != 0 }
        XCTAssert(kept.allSatisfy { $0 == 2 }, "kept values are scaled by 1/(1-rate)")
        XCTAssert(kept.count > 400 && kept.count < 600, "about half kept, got \(kept.count)")
        XCTAssertNotEqual(first, second, "every run draws a new mask")
        let inference = try traceForward(name: "drop", models: [], training: false) { builder in
            [("y", dropout(builder.input("x", [1000])))]
        }
        XCTAssertEqual(try compileGraph(inference).run(["x": ones])["y"]!.floats, ones.floats)
    }

    func testAutoencoderHasTheReferenceParameterCountAndDeterministicInit() throws {
        let graph = try autoencoderStep(ConvAutoencoder(), batch: 2, optimizer: nil)
        let count = graph.params.map { graph[$0].type.count }.reduce(0, +)
        XCTAssertEqual(count, 739_073)  // seed-models §13
        let a = try compileGraph(graph), b = try compileGraph(graph)
        try a.initializeParameters(seed: 7)
        try b.initializeParameters(seed: 7)
        XCTAssertEqual(try a.persistent("enc2.kernel"), try b.persistent("enc2.kernel"))
        try b.initializeParameters(seed: 8)
        XCTAssertNotEqual(try a.persistent("enc2.kernel"), try b.persistent("enc2.kernel"))
        let limit = Float((6.0 / Double(9 * 64 + 9 * 128)).squareRoot())
        XCTAssert(try a.persistent("enc2.kernel").floats.allSatisfy { Swift.abs($0) <= limit }, "glorot-uniform bound")
        XCTAssert(try a.persistent("enc2.bias").floats.allSatisfy { $0 == 0 })
    }

    func testPaddingFollowsTensorFlow() {
        XCTAssert(Padding.same.pads(size: 28, kernel: 3, stride: 2) == (0, 1))
        XCTAssert(Padding.same.pads(size: 14, kernel: 5, stride: 2) == (1, 2))
        XCTAssert(Padding.same.pads(size: 64, kernel: 4, stride: 2) == (1, 1))
        XCTAssert(Padding.same.pads(size: 7, kernel: 3, stride: 1) == (1, 1))
        XCTAssertEqual(Padding.valid.transposedSize(size: 1, kernel: 4, stride: 1), 4)
        XCTAssertEqual(Padding.same.transposedSize(size: 7, kernel: 3, stride: 2), 14)
    }
}

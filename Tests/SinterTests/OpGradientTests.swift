import Foundation
import Sinter
import XCTest

/// Gradient checks in f64, through the compiled C, for the IR ops and attribute variants the
/// golden cases do not reach. Together with GoldenOpTests every differentiable op is covered;
/// `testEveryDifferentiableOpIsChecked` keeps it that way.
final class OpGradientTests: XCTestCase {
    struct Check {
        let name: String
        let inputs: [(String, [Int])]
        /// Ops this check exercises (for the coverage test).
        let ops: [Op]
        let build: ([String: Tensor]) -> [(String, Tensor)]
        /// Inputs are shifted away from kinks: values drawn in ±(0.2...1.2).
        var positive = false
    }

    static let checks: [Check] = [
        Check(name: "unary", inputs: [("x", [2, 3])], ops: [.neg, .rsqrt, .sqrt, .log, .relu6, .sign, .sigmoid, .selu], build: { t in
            let x = t["x"]!
            return [("neg", -x), ("rsqrt", x.abs().rsqrt()), ("relu6", (x * 4).relu6()), ("sign", x.sign() * x),
                    ("selu", x.selu()), ("sigmoid", x.sigmoid())]
        }),
        Check(name: "binary", inputs: [("a", [2, 3]), ("b", [3])], ops: [.add, .sub, .mul, .div, .maximum, .minimum, .pow], build: { t in
            let a = t["a"]!, b = t["b"]!
            let pow = a.builder.node(.pow, [a.abs() + 0.5, b], at: SourceLocation(file: #fileID, line: #line))
            return [("sum", a + b), ("diff", a - b), ("prod", a * b), ("quot", a / (b.abs() + 0.5)),
                    ("max", maximum(a, b)), ("min", minimum(a, b)), ("pow", pow)]
        }),
        Check(name: "compare-select", inputs: [("a", [2, 3]), ("b", [2, 3])], ops: [.greater, .greaterEqual, .less, .lessEqual, .equal, .select], build: { t in
            let a = t["a"]!, b = t["b"]!
            let location = SourceLocation(file: #fileID, line: #line)
            let masks = [Op.greater, .greaterEqual, .less, .lessEqual, .equal].map { a.builder.node($0, [a, b], at: location) }
            return [("select", select(masks[0], a * 2, b * 3)), ("masked", masks[1] * a + masks[2] * b + masks[3] * a + masks[4] * b)]
        }),
        Check(name: "reduce", inputs: [("x", [2, 3, 4])], ops: [.reduceSum, .reduceMean, .reduceMax], build: { t in
            let x = t["x"]!
            return [("sum", x.sum(axes: [1])), ("mean", x.mean(axes: [0, 2], keepDims: true)), ("max", x.max(axes: [2])),
                    ("maxall", x.max())]
        }),
        Check(name: "movement", inputs: [("x", [2, 3, 4])], ops: [.broadcastTo, .slice, .pad, .reverse, .transpose, .reshape, .concat], build: { t in
            let x = t["x"]!
            return [("bcast", x.reshaped([2, 1, 3, 4]).broadcast(to: [2, 2, 3, 4])),
                    ("slice", x.slice(begin: [0, 1, 1], end: [2, 3, 4])),
                    ("pad", x.padded([(0, 0), (1, 2), (0, 1)])),
                    ("reflect", x.padded([(0, 0), (2, 1), (1, 2)], mode: .reflect)),
                    ("reverse", x.reversed(axes: [1, 2])),
                    ("transpose", x.transposed([2, 0, 1])),
                    ("concat", concat([x, x * 2], axis: 1))]
        }),
        Check(name: "matmul", inputs: [("a", [3, 4]), ("b", [4, 5]), ("p", [2, 4, 3]), ("q", [2, 5, 4])], ops: [.matmul], build: { t in
            let a = t["a"]!, b = t["b"]!, p = t["p"]!, q = t["q"]!
            return [("ab", matmul(a, b)), ("aTbT", matmul(b, a, transposeA: true, transposeB: true)),
                    ("batched", matmul(p, q, transposeA: true, transposeB: true)), ("batched2", matmul(q, p))]
        }),
        Check(name: "windows", inputs: [("x", [2, 7, 6, 3])], ops: [.maxPool, .avgPool, .resizeBilinear], build: { t in
            let x = t["x"]!
            return [("maxsame", maxPool(x, 3, strides: 2, padding: .same)), ("avgvalid", avgPool(x, 2, strides: 2)),
                    ("up", resizeBilinear(x, height: 9, width: 13)), ("down", resizeBilinear(x, height: 4, width: 3))]
        }),
        Check(name: "conv-ops", inputs: [("x", [2, 6, 5, 3]), ("w", [3, 3, 3, 4]), ("dy", [2, 3, 3, 4])],
              ops: [.conv2d, .conv2dInputGrad, .conv2dFilterGrad], build: { t in
            let x = t["x"]!, w = t["w"]!, dy = t["dy"]!
            let location = SourceLocation(file: #fileID, line: #line)
            let attrs = Attributes(["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])])
            let dx = x.builder.node(.conv2dInputGrad, [dy, w], attrs, type: x.type, at: location)
            let dw = x.builder.node(.conv2dFilterGrad, [x, dy], attrs, type: w.type, at: location)
            return [("conv", conv2d(x, w, strides: (2, 2), padding: .valid)), ("dx", dx), ("dw", dw)]
        }),
        Check(name: "window-grads", inputs: [("dy", [2, 3, 3, 2]), ("g", [2, 4, 5, 2])], ops: [.avgPoolGrad, .resizeBilinearGrad], build: { t in
            let dy = t["dy"]!, g = t["g"]!
            let location = SourceLocation(file: #fileID, line: #line)
            let pool = dy.builder.node(.avgPoolGrad, [dy], Attributes(["window": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]),
                                       type: TensorType(.f64, [2, 6, 6, 2]), at: location)
            let resize = g.builder.node(.resizeBilinearGrad, [g], type: TensorType(.f64, [2, 3, 7, 2]), at: location)
            return [("pool", pool), ("resize", resize)]
        }),
        Check(name: "casts-and-activations", inputs: [("x", [3, 4])], ops: [.cast, .leakyRelu, .clip, .softplus, .tanh, .exp, .square, .abs, .relu], build: { t in
            let x = t["x"]!
            let roundTrip = x.cast(.f32).cast(.f64)
            return [("cast", roundTrip * 0 + x.cast(.f64)), ("leaky", x.leakyRelu(0.3)), ("clip", x.clipped(-0.5, 0.7)),
                    ("soft", x.softplus()), ("tanh", x.tanh()), ("exp", x.exp()), ("sq", x.square()), ("abs", x.abs()),
                    ("relu", x.relu())]
        }),
    ]

    func testEveryOpGradientAgainstFiniteDifferencesInF64() throws {
        var failures: [String] = []
        for (index, check) in Self.checks.enumerated() {
            var generator = SplitMix(seed: UInt64(index + 1))
            var feeds: [String: HostTensor] = [:]
            for (name, shape) in check.inputs {
                // Values in ±(0.2...1.2): away from relu/abs/clip kinks at 0 and from ties.
                let values = (0..<shape.reduce(1, *)).map { _ -> Double in
                    let magnitude = 0.2 + generator.nextUniform()
                    return generator.nextUniform() < 0.5 ? -magnitude : magnitude
                }
                feeds[name] = HostTensor(shape: shape, doubles: values)
            }
            do {
                let program = try VJPProgram(name: "check_\(check.name)".replacingOccurrences(of: "-", with: "_"), dtype: .f64,
                                             wrt: check.inputs.map(\.0)) { builder in
                    var tensors: [String: Tensor] = [:]
                    for (name, shape) in check.inputs { tensors[name] = builder.input(name, shape) }
                    return GoldenOpGraph(outputs: check.build(tensors))
                }
                for (name, tensor) in program.opGraph.outputs {
                    feeds["d\(name)"] = HostTensor(shape: tensor.shape, doubles: generator.normals(tensor.type.count))
                }
                for (name, _) in check.inputs {
                    if let message = try finiteDifferenceMismatch(program, feeds: feeds, wrt: name, probes: 40) {
                        failures.append("\(check.name): \(message)")
                    }
                }
            } catch {
                failures.append("\(check.name): \(error)")
            }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
    }

    /// Ops the golden cases reach (through the DSL functions GoldenOps uses).
    static let goldenOps: [Op] = [.conv2d, .conv2dInputGrad, .matmul, .maxPool, .avgPool, .resizeBilinear, .reshape,
                                  .broadcastTo, .transpose, .concat, .slice, .pad, .reduceSum, .reduceMean]

    /// Every op whose gradient status is "yes" appears in some check.
    func testEveryDifferentiableOpIsChecked() {
        let covered = Set(Self.checks.flatMap(\.ops) + Self.goldenOps)
        let missing = Op.allCases.filter { gradientStatus(of: $0) == "yes" && !covered.contains($0) }
        XCTAssert(missing.isEmpty, "ops with a gradient rule but no gradient check: \(missing.map(\.rawValue))")
    }
}

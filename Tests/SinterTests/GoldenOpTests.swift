import Foundation
import Sinter
import XCTest

/// Every op case of the TensorFlow golden data, through the compiled C: forward outputs,
/// vector-Jacobian products and BatchNorm statistics must match within the README's tolerance;
/// then the same graph in f64 is checked against central finite differences.
final class GoldenOpTests: XCTestCase {
    static func opCases() throws -> [GoldenCase] {
        try GoldenData.cases(kind: "op")
    }

    /// The gradient names a case expects (`grad.x` -> `x`).
    static func wrtNames(_ goldenCase: GoldenCase) -> [String] {
        goldenCase.tensors(role: .expectedGrad).compactMap(\.wrt)
    }

    func testEveryGoldenOpCaseMatchesTensorFlow() throws {
        let cases = try Self.opCases()
        XCTAssertGreaterThanOrEqual(cases.count, 55, "the golden op cases were not all found")
        var failures: [String] = []
        for goldenCase in cases {
            do {
                let data = try goldenCase.load()
                let program = try VJPProgram(name: goldenCase.name.replacingOccurrences(of: "-", with: "_"), dtype: .f32,
                                             training: goldenCase.attrBool("training") ?? true,
                                             wrt: Self.wrtNames(goldenCase)) { try GoldenOps.build(goldenCase, $0) }
                let results = try program.run(data)
                for info in goldenCase.tensors where info.role == .expectedOutput || info.role == .expectedGrad {
                    // batch_mean / batch_variance are intermediate values Sinter does not output;
                    // they are covered by new_moving_mean / new_moving_variance.
                    if info.name == "batch_mean" || info.name == "batch_variance" { continue }
                    guard let got = results[info.name], let expected = data[info.name] else {
                        failures.append("\(goldenCase.name): missing \(info.name)")
                        continue
                    }
                    if let message = closeMismatch(got, expected, tolerance: goldenTolerance(info), name: "\(goldenCase.name) \(info.name)") {
                        failures.append(message)
                    }
                }
            } catch {
                failures.append("\(goldenCase.name): \(error)")
            }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
    }

    /// Every golden op graph, built in f64, against central finite differences of
    /// sum(y * dy) with respect to every differentiated input.
    func testEveryGoldenOpGradientAgainstFiniteDifferencesInF64() throws {
        var failures: [String] = []
        for goldenCase in try Self.opCases() {
            do {
                let data = try goldenCase.load().mapValues { $0.converted(to: .f64) }
                let wrt = Self.wrtNames(goldenCase)
                let program = try VJPProgram(name: goldenCase.name.replacingOccurrences(of: "-", with: "_") + "_f64", dtype: .f64,
                                             training: goldenCase.attrBool("training") ?? true,
                                             wrt: wrt) { try GoldenOps.build(goldenCase, $0) }
                for name in wrt {
                    if let message = try finiteDifferenceMismatch(program, feeds: data, wrt: name) {
                        failures.append("\(goldenCase.name): \(message)")
                    }
                }
            } catch {
                failures.append("\(goldenCase.name): \(error)")
            }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
    }
}

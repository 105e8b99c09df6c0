import Foundation
import Sinter
import SinterModels
import XCTest

/// One whole training step of the conv autoencoder (seed-models §5), traced from Graphs/, compiled
/// and run on TensorFlow's weights and batch: loss, outputs, every gradient and the Adam step.
final class AutoencoderGoldenTests: XCTestCase {
    func checkAutoencoderCase(_ name: String, widthDivisor: Int, input: String) throws {
        let goldenCase = try GoldenData.case(named: name)
        let data = try goldenCase.load()
        var options = StepOptions()
        options.gradientOutputs = true
        let model = ConvAutoencoder(widthDivisor: widthDivisor)
        let graph = try traceStep(name: "ae_golden", models: [model], optimizer: Adam(), options: options) { builder in
            let x = builder.input("x", [2, 28, 28, 1])
            let modelInput = input == "x" ? x : builder.input(input, [2, 28, 28, 1])
            let out = model(modelInput)
            return StepOutputs(loss: binaryCrossEntropy(out, target: x), [("out", out), ("out_logits", out.operands[0])])
        }
        let executable = try compileGraph(graph)
        try executable.loadPersistent(data, requireAll: false)
        for slot in executable.program.persistent where slot.trainable {
            XCTAssertNotNil(data[slot.name], "golden file lacks param \(slot.name)")
        }
        let inputs = Set(executable.inputNames)
        let results = try executable.run(data.filter { inputs.contains($0.key) })
        for info in goldenCase.tensors where info.role == .expectedOutput || info.role == .expectedGrad {
            guard let got = results[info.name] else {
                if !info.name.hasPrefix("act.") { XCTFail("no output \(info.name)") }
                continue
            }
            assertClose(got, data[info.name]!, info: info, context: name)
        }
        // Adam's first step is about lr*sign(g): compare tightly only where the gradient is
        // clearly non-zero (golden README, "Optimizer steps need care").
        for info in goldenCase.tensors(role: .expectedStep) {
            guard let param = info.name.split(separator: ".", maxSplits: 1).last.map(String.init) else { continue }
            let got = try executable.persistent(param).doubles
            let expected = data[info.name]!.doubles
            let gradInfo = goldenCase.tensor("grad.\(param)")!
            let grad = data["grad.\(param)"]!.doubles
            let threshold = 10 * (gradInfo.ref64MaxAbsDiff ?? 0)
            for i in got.indices {
                let tight = Swift.abs(grad[i]) > threshold
                let tolerance = tight ? 1e-6 + 1e-6 * Swift.abs(expected[i]) : 1e-3 + 1e-6
                if Swift.abs(got[i] - expected[i]) > tolerance {
                    XCTFail("\(name) step.\(param)[\(i)]: got \(got[i]), expected \(expected[i]) (grad \(grad[i]))")
                    break
                }
            }
        }
    }

    func testAutoencoderStepMatchesTensorFlow() throws {
        try checkAutoencoderCase("model-autoencoder-w3", widthDivisor: 3, input: "x")
    }

    func testDenoisingAutoencoderStepMatchesTensorFlow() throws {
        try checkAutoencoderCase("model-denoising-autoencoder-w4", widthDivisor: 4, input: "noisy")
    }
}

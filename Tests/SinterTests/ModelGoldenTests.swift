import Foundation
import Sinter
import SinterModels
import XCTest

/// Whole training steps of the zoo models against TensorFlow (golden README, "Models"): each case
/// runs through `evalStep` (what `sinter eval` does) on the stored weights and inputs, and every
/// expected tensor is compared: loss, outputs (including `act.<layer>`), every gradient, every
/// optimizer step and the updated BatchNorm moving statistics. GAN cases check both phases, each
/// from the same stored params.
final class ModelGoldenTests: XCTestCase {
    func testVAEWithTrainingModeBatchNormMatchesTensorFlow() throws {
        try checkModelCase("model-vae-bn-train-w2", model: "vae", bn: .train, widthDivisor: 2)
    }

    func testVAEWithInferenceModeBatchNormMatchesTensorFlow() throws {
        try checkModelCase("model-vae-bn-infer", model: "vae", bn: .infer)
    }

    func testCVAEMatchesTensorFlow() throws {
        try checkModelCase("model-cvae", model: "cvae")
    }

    func testDCGANBothPhasesMatchTensorFlow() throws {
        let checked = try checkModelCase("model-dcgan-w4", model: "dcgan", widthDivisor: 4)
        // The graph builds the labels itself (fakes first): they must be the golden ones.
        XCTAssertEqual(checked.data["d.labels"]?.doubles, [0, 0, 1, 1])
        XCTAssertEqual(checked.data["g.labels"]?.doubles, [1, 1])
    }

    /// A golden file may be given as the inputs whole (weights and results too), but a name the
    /// step does not know is refused with the inputs it takes.
    func testAMisspeltEvalInputIsAnErrorNamingTheInputs() throws {
        var data = try GoldenData.case(named: "model-denoising-autoencoder-w4").load()
        data["nosie"] = data["noise"]
        XCTAssertThrowsError(try evalStep(model: "denoising-autoencoder", weights: data, inputs: data, widthDivisor: 4)) { error in
            let message = "\(error)"
            XCTAssert(message.contains("takes no input 'nosie' (did you mean 'noise'?); its inputs are x, noise"), message)
        }
    }

    func testCelebADCGANBothPhasesMatchTensorFlow() throws {
        try checkModelCase("model-celeba-dcgan-w16", model: "celeba-dcgan", bn: .train, widthDivisor: 16)
    }

    /// Gatys NST (seed-models §2) on VGG-19 / 8 with random weights: the style and content targets
    /// (computed in their own forward graph), the Gram matrices, the three loss terms, the image's
    /// gradient and one clipped Adam step (lr 20) from the content image.
    func testGatysStyleTransferStepMatchesTensorFlow() throws {
        let checked = try checkModelCase("model-nst-vgg19-w8", model: "nst", widthDivisor: 8)
        // image = content, so the content term is exactly 0; the total variation is a sum of
        // integer differences, so it is exact too.
        XCTAssertEqual(checked.results["content_loss"]?.doubles, [0])
        XCTAssertEqual(checked.results["tv"]?.doubles, checked.data["tv"]?.doubles)
    }

    /// The same with a noisy image, so the content term and its gradient are not zero.
    func testGatysStyleTransferFromAPerturbedImageMatchesTensorFlow() throws {
        let checked = try checkModelCase("model-nst-vgg19-w8-perturbed", model: "nst", widthDivisor: 8)
        XCTAssertGreaterThan(checked.results["content_loss"]?.doubles.first ?? 0, 1000)
        let stepped = try XCTUnwrap(checked.results["step.image"]).doubles
        XCTAssert(stepped.allSatisfy { (0...255).contains($0) }, "step.image left [0, 255]")
    }

    /// The denoising case once more, with `noisy = clip(x + 0.5*noise, 0, 1)` computed in the graph
    /// from `x` and `noise` (AutoencoderGoldenTests feeds the stored `noisy`).
    func testDenoisingAutoencoderWithInGraphNoiseMatchesTensorFlow() throws {
        let checked = try checkModelCase("model-denoising-autoencoder-w4", model: "denoising-autoencoder", widthDivisor: 4)
        assertClose(checked.results["noisy"]!, checked.data["noisy"]!, tolerance: 1e-7, name: "noisy")
    }

    // MARK: - The check

    /// Runs `model` on the case's weights and inputs and compares every expected tensor (fails
    /// when the file is absent). Returns the case's tensors and `evalStep`'s results.
    @discardableResult
    func checkModelCase(_ name: String, model: String, bn: BNMode? = nil, widthDivisor: Int = 1,
                        file: StaticString = #filePath, line: UInt = #line) throws
        -> (data: [String: HostTensor], results: [String: HostTensor]) {
        let goldenCase = try GoldenData.case(named: name)
        let data = try goldenCase.load()
        let results = try evalStep(model: model, weights: data, inputs: data, bn: bn, widthDivisor: widthDivisor)
        var worst: [(ratio: Double, name: String)] = []
        for info in goldenCase.tensors where info.isExpected {
            guard let got = results[info.name] else {
                XCTFail("\(name): evalStep gave no \(info.name)", file: file, line: line)
                continue
            }
            let expected = data[info.name]!
            let message: String?
            let ratio: Double
            if info.role == .expectedStep, let gradInfo = goldenCase.tensor(gradientName(ofStep: info.name)) {
                (message, ratio) = stepMismatch(got, expected, before: data[info.of ?? ""] ?? expected, grad: data[gradInfo.name]!,
                                                ourGrad: results[gradInfo.name], gradInfo: gradInfo, info: info,
                                                optimizer: optimizerSettings(goldenCase, tensor: info.name), context: name)
            } else {
                // Outputs, gradients and BN moving statistics.
                let tolerance = goldenTolerance(info)
                message = closeMismatch(got, expected, tolerance: tolerance, name: "\(name): \(info.name)")
                ratio = maxAbsDifference(got, expected) / tolerance
            }
            if let message { XCTFail(message, file: file, line: line) }
            worst.append((ratio, info.name))
        }
        let summary = worst.sorted { $0.ratio > $1.ratio }.prefix(4)
            .map { String(format: "%@ %.3g", $0.name, $0.ratio) }.joined(separator: ", ")
        print("\(name): \(worst.count) tensors checked; worst |got - expected| / tolerance: \(summary)")
        return (data, results)
    }

    /// `d.step.d1.kernel` -> `d.grad.d1.kernel`, `step.mu.bias` -> `grad.mu.bias`.
    func gradientName(ofStep name: String) -> String {
        guard let range = name.range(of: "step.") else { return name }
        return name.replacingCharacters(in: range, with: "grad.")
    }

    /// `attrs.optimizer.step`, or `.d` / `.g` for a GAN phase's tensor.
    func optimizerSettings(_ goldenCase: GoldenCase, tensor: String) -> [String: Any] {
        let all = goldenCase.attrs["optimizer"] as? [String: Any] ?? [:]
        let key = tensor.hasPrefix("d.") ? "d" : tensor.hasPrefix("g.") ? "g" : "step"
        return all[key] as? [String: Any] ?? [:]
    }

    /// The golden README's optimizer-step check, element by element:
    ///
    /// * where |grad| > 10*ref64_max_abs_diff(grad) (a gradient clearly above float32 noise), tight:
    ///   1e-3*lr, plus a few float32 ulps of the param, plus how far the gradient difference (our
    ///   gradient vs TensorFlow's, itself checked against its own tolerance) moves the step:
    ///   |d step / d g| * |g_ours - g_tf|. That last term matters where |g| is near the optimizer's
    ///   epsilon scale (Adam's first step is lr*g/(|g| + 3.16e-6)).
    /// * elsewhere, loose: the param may move anywhere one step can take it, p0 +- lr for Adam and
    ///   p0 +- lr/sqrt(1-rho) for RMSprop.
    ///
    /// Returns the failure message and the worst |diff|/tolerance over the tight elements.
    func stepMismatch(_ got: HostTensor, _ expected: HostTensor, before: HostTensor, grad: HostTensor, ourGrad: HostTensor?,
                      gradInfo: TensorInfo, info: TensorInfo, optimizer: [String: Any], context: String) -> (String?, Double) {
        guard got.shape == expected.shape, before.shape == expected.shape, grad.shape == expected.shape else {
            return ("\(context): \(info.name): shape \(got.shape) != expected \(expected.shape)", .infinity)
        }
        let lr = learningRate(optimizer["learning_rate"])
        let epsilon = (optimizer["epsilon"] as? NSNumber)?.doubleValue ?? 1e-7
        let isRMSprop = optimizer["type"] as? String == "RMSprop"
        let rho = (optimizer["rho"] as? NSNumber)?.doubleValue ?? 0.9
        let beta2 = (optimizer["beta_2"] as? NSNumber)?.doubleValue ?? 0.999
        /// |d step / d g| of the first step at gradient g.
        func sensitivity(_ g: Double) -> Double {
            if isRMSprop { return lr * epsilon / Foundation.pow((1 - rho) * g * g + epsilon, 1.5) }
            let c = epsilon / (1 - beta2).squareRoot()
            return lr * c / ((Swift.abs(g) + c) * (Swift.abs(g) + c))
        }
        let loose = (isRMSprop ? lr / (1 - rho).squareRoot() : lr) * 1.001 + 1e-7
        let threshold = 10 * (gradInfo.ref64MaxAbsDiff ?? 0)
        let g = got.doubles, e = expected.doubles, p0 = before.doubles, gradient = grad.doubles
        let ours = ourGrad?.doubles ?? gradient
        var worstRatio = 0.0, failure: String?, bad = 0
        for i in g.indices {
            let tight = Swift.abs(gradient[i]) > threshold
            let diff: Double, tolerance: Double
            if tight {
                let gradientDifference = Swift.abs(ours[i] - gradient[i])
                let slope = sensitivity(Swift.min(Swift.abs(ours[i]), Swift.abs(gradient[i])))
                tolerance = 1e-3 * lr + 3e-7 * Swift.abs(e[i]) + 1.5 * slope * gradientDifference
                diff = Swift.abs(g[i] - e[i])
                worstRatio = max(worstRatio, diff / tolerance)
            } else {
                tolerance = loose + 3e-7 * Swift.abs(p0[i])
                diff = Swift.abs(g[i] - p0[i])
            }
            if g[i].isNaN || diff > tolerance {
                bad += 1
                if failure == nil {
                    failure = "\(context): \(info.name)[\(i)]: got \(g[i]), expected \(e[i]), before the step \(p0[i]) "
                        + "(\(tight ? "tight" : "loose") check: |diff| \(diff) > \(tolerance); grad \(gradient[i]), ours \(ours[i]))"
                }
            }
        }
        return (failure.map { "\($0); \(bad) of \(g.count) elements out of tolerance" }, worstRatio)
    }

    /// A number, or the first step's rate of a schedule the case spells as
    /// "ExponentialDecay(20.0, ...)" (the NST cases); Keras's 1e-3 when absent.
    func learningRate(_ value: Any?) -> Double {
        if let number = value as? NSNumber { return number.doubleValue }
        if let text = value as? String, text.hasPrefix("ExponentialDecay("),
           let first = text.dropFirst("ExponentialDecay(".count).split(separator: ",").first,
           let rate = Double(first.trimmingCharacters(in: .whitespaces)) {
            return rate
        }
        return 1e-3
    }

    func maxAbsDifference(_ a: HostTensor, _ b: HostTensor) -> Double {
        guard a.shape == b.shape else { return .infinity }
        return zip(a.doubles, b.doubles).reduce(0) { max($0, Swift.abs($1.0 - $1.1)) }
    }
}

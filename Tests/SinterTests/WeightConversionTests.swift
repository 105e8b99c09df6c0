import Sinter
import XCTest

/// `sinter convert-weights` on small crafted sources (Sinter/WeightConversion.swift,
/// WeightLayouts.swift): the three layouts map onto Keras names and HWIO kernels, a wheel member
/// is found, and a file that does not fit gets one error listing every problem. The VGG-19 table
/// itself is checked against the numbers of seed-models §2.
final class WeightConversionTests: XCTestCase {
    /// Two convs: 3->2 channels 1x2 kernels, then 2->4 3x3.
    let spec = ModelWeightSpec(model: "tiny", layers: [
        .init(name: "block1_conv1", kind: .conv2d(kh: 1, kw: 2, input: 3, output: 2), torchvisionIndex: 0),
        .init(name: "block1_conv2", kind: .conv2d(kh: 3, kw: 3, input: 2, output: 4), torchvisionIndex: 2),
    ], ignoredPrefixes: ["classifier."], knownMembers: ["pkg/tiny_q.bin"], attribution: "test weights")

    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Kernel values in OIHW order: element (o,i,h,w) = 1000o + 100i + 10h + w, so a transposition
    /// error shows.
    func oihw(_ o: Int, _ i: Int, _ kh: Int, _ kw: Int) -> [Float] {
        var v: [Float] = []
        for a in 0..<o { for b in 0..<i { for h in 0..<kh { for w in 0..<kw { v.append(Float(1000 * a + 100 * b + 10 * h + w)) } } } }
        return v
    }

    func hwio(_ o: Int, _ i: Int, _ kh: Int, _ kw: Int) -> HostTensor {
        var v: [Float] = []
        for h in 0..<kh { for w in 0..<kw { for b in 0..<i { for a in 0..<o { v.append(Float(1000 * a + 100 * b + 10 * h + w)) } } } }
        return HostTensor(shape: [kh, kw, i, o], floats: v)
    }

    var expected: [String: HostTensor] {
        ["block1_conv1.kernel": hwio(2, 3, 1, 2), "block1_conv1.bias": HostTensor(shape: [2], floats: [0.5, -0.5]),
         "block1_conv2.kernel": hwio(4, 2, 3, 3), "block1_conv2.bias": HostTensor(shape: [4], floats: [1, 2, 3, 4])]
    }

    var torchvision: [String: HostTensor] {
        ["features.0.weight": HostTensor(shape: [2, 3, 1, 2], floats: oihw(2, 3, 1, 2)), "features.0.bias": HostTensor(shape: [2], floats: [0.5, -0.5]),
         "features.2.weight": HostTensor(shape: [4, 2, 3, 3], floats: oihw(4, 2, 3, 3)), "features.2.bias": HostTensor(shape: [4], floats: [1, 2, 3, 4]),
         "classifier.0.weight": HostTensor(shape: [1, 1], floats: [9])]
    }

    /// pastiche's layout: a table of the distinct values and uint8 indexes into it.
    func quantised(_ name: String, _ values: [Float], shape: [Int]) -> [String: HostTensor] {
        let table = Array(Set(values)).sorted()
        let indexes = values.map { UInt8(table.firstIndex(of: $0)!) }
        return ["\(name)_W_q": HostTensor(storage: .u8, shape: shape, bytes: indexes),
                "\(name)_W_table": HostTensor(shape: [256], floats: table + [Float](repeating: 0, count: 256 - table.count))]
    }

    var pastiche: [String: HostTensor] {
        quantised("block1_conv1", oihw(2, 3, 1, 2), shape: [2, 3, 1, 2]).merging(quantised("block1_conv2", oihw(4, 2, 3, 3), shape: [4, 2, 3, 3])) { a, _ in a }
            .merging(["block1_conv1_b": HostTensor(shape: [2], floats: [0.5, -0.5]), "block1_conv2_b": HostTensor(shape: [4], floats: [1, 2, 3, 4])]) { a, _ in a }
    }

    func testTorchvisionZipCheckpointMapsToHWIO() throws {
        let path = try write(try PickleWriter.zipCheckpoint(torchvision), "tv.pth")
        let result = try WeightConversion.convert(path: path, spec: spec)
        XCTAssertEqual(result.layout, .torchvision)
        XCTAssertEqual(result.format, "zip torch.save")
        XCTAssertEqual(result.tensors, expected)
        XCTAssertEqual(result.parameterCount, 12 + 2 + 72 + 4)
        XCTAssertNil(result.member)
        XCTAssertTrue(result.summary(source: path, out: "o.safetensors").contains { $0.hasPrefix("  note: torchvision's VGG was trained on RGB input") })
    }

    func testPasticheLegacyFileInsideAWheelIsDequantised() throws {
        let wheel = try ZipWriter.encode([.init(name: "pkg/__init__.py", data: [], deflate: true),
                                          .init(name: "pkg/other.bin", data: [1, 2], deflate: false),
                                          .init(name: "pkg/tiny_q.bin", data: PickleWriter.legacyCheckpoint(pastiche), deflate: true)])
        let path = try write(wheel, "tiny-1.0-py3-none-any.whl")
        let result = try WeightConversion.convert(path: path, spec: spec)
        XCTAssertEqual(result.layout, .pastiche)
        XCTAssertEqual(result.format, "legacy torch.save")
        XCTAssertEqual(result.member?.name, "pkg/tiny_q.bin")
        XCTAssertEqual(result.member?.sha256, SHA256.hex(PickleWriter.legacyCheckpoint(pastiche)))
        XCTAssertFalse(result.memberHashPinned)
        XCTAssertEqual(result.fileSHA256, SHA256.hex(wheel))
        XCTAssertEqual(result.tensors, expected)
        XCTAssertEqual(result.metadata["source_member"], "pkg/tiny_q.bin")
        XCTAssertEqual(WeightConversion.describe(result.fileSHA256), "not a file Sinter knows; converted as found")
    }

    func testKerasSafetensorsPassThrough() throws {
        let path = try write(try Safetensors.encode(expected), "keras.safetensors")
        let result = try WeightConversion.convert(path: path, spec: spec)
        XCTAssertEqual(result.layout, .keras)
        XCTAssertEqual(result.tensors, expected)
    }

    func testOneErrorListsMissingUnexpectedAndMisshaped() throws {
        var bad = torchvision
        bad["features.2.bias"] = nil
        bad["features.0.weight"] = HostTensor(shape: [2, 3, 2, 1], floats: oihw(2, 3, 2, 1))
        bad["features.40.weight"] = HostTensor(shape: [1], floats: [0])
        let path = try write(PickleWriter.legacyCheckpoint(bad), "bad.pth")
        XCTAssertThrowsError(try WeightConversion.convert(path: path, spec: spec)) { error in
            XCTAssertEqual("\(error)", "\(path): does not map onto tiny (torchvision layout): missing 1: features.2.bias; unexpected 1: features.40.weight; mis-shaped 1: features.0.weight is [2,3,2,1], expected [2,3,1,2]")
        }
    }

    func testUnknownNamesAndWheelsWithoutWeights() throws {
        let path = try write(try Safetensors.encode(["dense.w": HostTensor(shape: [1], floats: [1])]), "odd.safetensors")
        XCTAssertThrowsError(try WeightConversion.convert(path: path, spec: spec)) { error in
            XCTAssertEqual("\(error)", "\(path): has none of the tiny parameters in a known layout (expected names like block1_conv1.kernel (keras), block1_conv1_W_q (pastiche), features.0.weight (torchvision)); it has 1 tensors: dense.w")
        }
        let wheel = try write(try ZipWriter.encode([.init(name: "a.bin", data: [], deflate: false), .init(name: "b.pth", data: [], deflate: false)]), "two.whl")
        XCTAssertThrowsError(try WeightConversion.convert(path: wheel, spec: spec)) { error in
            XCTAssertEqual("\(error)", "\(wheel): holds 2 weights files (a.bin, b.pth); choose one with --member")
        }
        XCTAssertThrowsError(try WeightConversion.convert(path: wheel, spec: spec, member: "c.bin")) { error in
            XCTAssertEqual("\(error)", "\(wheel): has no member 'c.bin' (2 members: a.bin, b.pth)")
        }
    }

    func testQuantisedIndexOutsideTheTableIsRefused() throws {
        var bad = pastiche
        bad["block1_conv1_W_table"] = HostTensor(shape: [3], floats: [0, 1, 2])
        let path = try write(PickleWriter.legacyCheckpoint(bad), "q.bin")
        XCTAssertThrowsError(try WeightConversion.convert(path: path, spec: spec)) { error in
            XCTAssertTrue("\(error)".contains("'block1_conv1_W_q' holds index 3, outside its 3-entry table"), "\(error)")
        }
    }

    func testVGG19TableMatchesKerasIncludeTopFalse() throws {
        let vgg = try ModelWeightTable.spec(named: "vgg19")
        XCTAssertEqual(vgg.layers.count, 16)
        XCTAssertEqual(vgg.parameterCount, 20_024_384)
        XCTAssertEqual(vgg.layers.map(\.name), (1...5).flatMap { b in (1...(b <= 2 ? 2 : 4)).map { "block\(b)_conv\($0)" } })
        XCTAssertEqual(vgg.layers.compactMap(\.torchvisionIndex), [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34])
        let shapes = Dictionary(uniqueKeysWithValues: vgg.parameters.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["block1_conv1.kernel"], [3, 3, 3, 64])
        XCTAssertEqual(shapes["block3_conv1.kernel"], [3, 3, 128, 256])
        XCTAssertEqual(shapes["block5_conv4.kernel"], [3, 3, 512, 512])
        XCTAssertEqual(shapes["block5_conv4.bias"], [512])
        // The truncated extractor of §2 (to block5_conv2) has 15,304,768 of them.
        let extractor = vgg.parameters.filter { !["block5_conv3", "block5_conv4"].contains(String($0.name.prefix(12))) }
        XCTAssertEqual(extractor.reduce(0) { $0 + $1.shape.reduce(1, *) }, 15_304_768)
        XCTAssertThrowsError(try ModelWeightTable.spec(named: "vgg16")) { error in
            XCTAssertEqual("\(error)", "runtime error: convert-weights: no weight table for model 'vgg16'; known: vgg19")
        }
    }
}

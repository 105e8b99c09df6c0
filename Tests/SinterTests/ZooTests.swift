import Foundation
import Sinter
import SinterModels
import XCTest

/// The model zoo (Graphs/): every model's parameter count equals seed-models §13, every Zoo entry
/// traces (forward and training step, each GAN phase), and GAN phases train one network each.
final class ZooTests: XCTestCase {
    /// (total, non-trainable) elements of the model's params and BN statistics in `graph`, for the
    /// params `owned` selects (all when nil). Optimizer slots and the RNG counter are not counted.
    func parameterCount(_ graph: Graph, owned: ((String) -> Bool)? = nil) -> (total: Int, nonTrainable: Int) {
        var total = 0, nonTrainable = 0
        for id in graph.persistent {
            let node = graph[id]
            guard let name = node.sourceName, owned?(name) ?? true else { continue }
            if node.op == .state {
                guard name.hasSuffix(".moving_mean") || name.hasSuffix(".moving_variance") else { continue }
                nonTrainable += node.type.count
            }
            total += node.type.count
        }
        return (total, nonTrainable)
    }

    func assertCount(_ graph: Graph, owned: ((String) -> Bool)? = nil, total: Int, nonTrainable: Int = 0,
                     _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let counted = parameterCount(graph, owned: owned)
        XCTAssertEqual(counted.total, total, "\(what): total parameters", file: file, line: line)
        XCTAssertEqual(counted.nonTrainable, nonTrainable, "\(what): non-trainable parameters", file: file, line: line)
    }

    func testDenseAutoencoderParameterCounts() throws {
        assertCount(try firstAutoencoderStep(FirstAutoencoder(), batch: 2, optimizer: nil), total: 17, "§4 Lab 1")
        assertCount(try denseAutoencoderStep(DenseAutoencoder(), batch: 2, optimizer: nil), total: 50_992, "§4 Lab 2")
        assertCount(try deepAutoencoderStep(DeepAutoencoder(), batch: 2, optimizer: nil), total: 222_384, "§4 Lab 3")
    }

    func testConvAutoencoderParameterCounts() throws {
        assertCount(try autoencoderStep(ConvAutoencoder(), batch: 2, optimizer: nil), total: 739_073, "§5 conv AE")
        assertCount(try denoisingAutoencoderStep(ConvAutoencoder(), batch: 2, optimizer: nil), total: 739_073, "§6 denoising AE")
    }

    func testVAEParameterCounts() throws {
        for bn in BNMode.allCases {
            let graph = try vaeStep(VAE(), batch: 2, optimizer: nil, bn: bn)
            assertCount(graph, total: 160_121, nonTrainable: 6_696, "§7 VAE (bn \(bn))")
            let encoder = { (name: String) in name.hasPrefix("enc_") || name.hasPrefix("mu.") || name.hasPrefix("logvar.") }
            assertCount(graph, owned: encoder, total: 82_104, nonTrainable: 232, "§7 VAE encoder")
            assertCount(graph, owned: { $0.hasPrefix("dec_") }, total: 78_017, nonTrainable: 6_464, "§7 VAE decoder")
        }
    }

    func testCVAEParameterCounts() throws {
        let graph = try cvaeStep(CVAE(), batch: 2, optimizer: nil)
        assertCount(graph, total: 69_989, "§8 CVAE")
        assertCount(graph, owned: { $0.hasPrefix("enc_") }, total: 28_036, "§8 CVAE encoder")
        assertCount(graph, owned: { $0.hasPrefix("dec_") }, total: 41_953, "§8 CVAE decoder")
    }

    func testGANParameterCounts() throws {
        let gan = GAN()
        let graph = try gan.step(.generator, batch: 2, optimizer: nil)
        assertCount(graph, owned: ownsParameter(gan.generator), total: 111_568, "§9 G")
        assertCount(graph, owned: ownsParameter(gan.discriminator), total: 108_801, "§9 D")
    }

    func testDCGANParameterCounts() throws {
        let gan = DCGAN()
        let graph = try gan.step(.generator, batch: 2, optimizer: nil)
        assertCount(graph, owned: ownsParameter(gan.generator), total: 414_209, nonTrainable: 384, "§10 G")
        assertCount(graph, owned: ownsParameter(gan.discriminator), total: 212_865, "§10 D")
    }

    func testCelebADCGANParameterCounts() throws {
        let gan = CelebADCGAN()
        let graph = try gan.step(.discriminator, batch: 2, optimizer: nil)
        assertCount(graph, owned: ownsParameter(gan.generator), total: 3_808_003, nonTrainable: 1_920, "§11 G")
        assertCount(graph, owned: ownsParameter(gan.discriminator), total: 2_767_425, nonTrainable: 1_792, "§11 D")
    }

    func testWidthDivisorGivesTheGoldenShapes() throws {
        let graph = try CelebADCGAN(widthDivisor: 8).step(.generator, batch: 2, optimizer: nil)
        func shape(_ name: String) -> [Int]? { graph.source(named: name).map { graph[$0].type.shape } }
        XCTAssertEqual(shape("g1.kernel"), [4, 4, 64, 128])
        XCTAssertEqual(shape("g5.kernel"), [4, 4, 3, 8])
        XCTAssertEqual(shape("d4.kernel"), [4, 4, 32, 64])
        XCTAssertEqual(shape("d5.kernel"), [4, 4, 64, 1])
        XCTAssertNil(shape("g1.bias"))
    }

    func testEveryZooEntryTracesItsStepsAndGANPhasesTrainOneNetwork() throws {
        let names = Zoo.entries.map(\.name)
        for expected in ["dense-autoencoder", "deep-autoencoder", "autoencoder", "denoising-autoencoder", "vae", "cvae",
                         "gan", "dcgan", "celeba-dcgan"] {
            XCTAssert(names.contains(expected), "Zoo lacks \(expected)")
        }
        for entry in Zoo.entries {
            for train in [false, true] {
                let graph = try entry.trace(2, train)
                try graph.verify()
                XCTAssertNotNil(graph.output(named: "loss"), entry.name)
            }
            if ["gan", "dcgan", "celeba-dcgan"].contains(entry.name) {
                XCTAssertEqual(entry.phases.map(\.name), ["discriminator", "generator"], entry.name)
            } else {
                XCTAssert(entry.phases.isEmpty, entry.name)
            }
            for phase in entry.phases {
                let graph = try phase.trace(2, true)
                try graph.verify()
                // The phase's optimizer slots belong to its own network only (G's names start with
                // "g", D's with "d" in every GAN of the zoo), under its own prefix.
                let slots = graph.states.compactMap { graph[$0].sourceName }.filter { $0.hasPrefix("opt") }
                XCTAssert(!slots.isEmpty, "\(entry.name) \(phase.name): no optimizer state")
                for slot in slots where !slot.hasSuffix(".iterations") {
                    let parts = slot.split(separator: ".", maxSplits: 2)
                    XCTAssertEqual(String(parts[0]), "opt_\(phase.prefix)", "\(entry.name) \(phase.name): \(slot)")
                    XCTAssert(parts[2].hasPrefix(phase.prefix), "\(entry.name) \(phase.name) trains \(parts[2])")
                }
            }
        }
    }

    /// Every Zoo model's training step compiles and runs at batch 2 from initialised weights, with
    /// its noise sampled in the graph; GAN phases hand their weights on (discriminator, then
    /// generator) and each moves only its own network.
    func testEveryZooModelTrainsOneStep() throws {
        var random = SplitMix(seed: 7)
        for entry in Zoo.entries where entry.name != "autoencoder" {  // AutoencoderGoldenTests runs it
            let traces = entry.phases.isEmpty ? [(name: "step", trace: entry.trace)] : entry.phases.map { ($0.name, $0.trace) }
            var previous: Executable?
            for (phase, trace) in traces {
                let executable = try compileGraph(try trace(2, true))
                if let previous { executable.copyPersistent(from: previous) } else { try executable.initializeParameters(seed: 1) }
                var feeds: [String: HostTensor] = [:]
                for slot in executable.program.inputs {
                    feeds[slot.name] = HostTensor(shape: slot.type.shape, doubles: (0..<slot.type.count).map { _ in random.nextUniform() })
                }
                let before = executable.persistentSnapshot()
                let loss = try executable.run(feeds)["loss"]!.doubles[0]
                XCTAssert(loss.isFinite, "\(entry.name) \(phase): loss \(loss)")
                let after = executable.persistentSnapshot()
                let moved = Set(before.keys.filter { before[$0] != after[$0] && !$0.hasPrefix("opt") && !$0.hasPrefix("rng.") })
                XCTAssert(!moved.isEmpty, "\(entry.name) \(phase): nothing was updated")
                if phase != "step" {
                    let prefix = phase == "discriminator" ? "d" : "g"
                    for name in moved where !name.contains(".moving_") {
                        XCTAssert(name.hasPrefix(prefix), "\(entry.name) \(phase) updated \(name)")
                    }
                }
                previous = executable
            }
        }
    }

    func testEvalRejectsBadArguments() throws {
        XCTAssertThrowsError(try evalStep(model: "nope", weights: [:], inputs: [:]))
        XCTAssertThrowsError(try evalStep(model: "vae", weights: [:], inputs: [:], phase: "generator"))
        XCTAssertThrowsError(try evalStep(model: "dcgan", weights: [:], inputs: [:], phase: "sideways"))
        XCTAssertThrowsError(try evalStep(model: "cvae", weights: [:], inputs: [:], bn: .train))
    }
}

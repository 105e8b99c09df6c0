import Foundation
import Sinter
import SinterModels
import XCTest

/// Every field of a checkpoint is checked against the trainer that restores it: crafted files
/// with a valid checksum get errors naming the file and the field (a bad `trainer.order` used to
/// index past the dataset), a refused restore leaves the trainer as it was, and a seeded fuzz of
/// re-sealed payloads only ever throws.
final class CheckpointValidationTests: XCTestCase {
    static let count = 12, batch = 4

    /// Indices the trainer handed to the data feed that lie outside the dataset (must stay empty).
    final class IndexAudit: @unchecked Sendable {
        private let lock = NSLock()
        private var bad: [Int] = []
        func record(_ indices: ArraySlice<Int>) -> [Int] {
            let outside = indices.filter { !(0..<CheckpointValidationTests.count).contains($0) }
            lock.lock(); bad += outside; lock.unlock()
            // Feed valid indices anyway: the audit, not a crash, reports the bug.
            return indices.map { min(max($0, 0), CheckpointValidationTests.count - 1) }
        }
        var outside: [Int] { lock.lock(); defer { lock.unlock() }; return bad }
    }

    let audit = IndexAudit()

    /// The MNIST dense autoencoder at 1/16 width (784-2-784) on 12 random images, batches of 4.
    func makeTrainer(seed: UInt64 = 7, datasetCount: Int = count) throws -> Trainer {
        var generator = SplitMix64(seed: 11)
        let pixels = (0..<(datasetCount * 784)).map { _ in Float(generator.next() % 256) / 255 }
        let data = ImageDataset(pixels: pixels, count: datasetCount, height: 28, width: 28, channels: 1)
        let model = DenseAutoencoder(widthDivisor: 16)
        let family = StepFamily { try denseAutoencoderStep(model, batch: $0, optimizer: Adam()) }
        let audit = self.audit
        let phase = TrainingPhase(name: "step", family: family) { indices in
            let safe = audit.record(indices)
            let x = data.batch(safe[...])
            return ["x": HostTensor(storage: x.storage, shape: [safe.count, 784], bytes: x.bytes)]
        }
        return try Trainer(model: "dense-autoencoder-w16", phases: [phase], datasetCount: datasetCount,
                           batchSize: Self.batch, seed: seed)
    }

    /// A checkpoint after 5 steps (second pass, mid-way: the order is a real permutation).
    func goodCheckpoint() throws -> Checkpoint {
        let trainer = try makeTrainer()
        for _ in 0..<5 { try trainer.runStep() }
        return trainer.checkpoint()
    }

    func int64Tensor(_ values: [Int64]) -> HostTensor {
        HostTensor(storage: .i64, shape: [values.count], bytes: values.withUnsafeBytes { Array($0) })
    }

    func words(_ tensor: HostTensor?) -> [Int64] {
        tensor?.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) } ?? []
    }

    /// Restoring `checkpoint` (sealed, so through the real decoder) fails naming the path and every fragment.
    func assertRefused(_ checkpoint: Checkpoint, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line) throws {
        let path = "/crafted/\(UUID().uuidString).sinter"
        let trainer = try makeTrainer()
        XCTAssertThrowsError(try trainer.restore(try Checkpoint.decode(try checkpoint.encoded(), path: path), path: path),
                             file: file, line: line) { error in
            XCTAssert(error is SinterError, "\(error)", file: file, line: line)
            let text = "\(error)"
            XCTAssert(text.contains(path), text, file: file, line: line)
            for fragment in fragments { XCTAssert(text.contains(fragment), "'\(fragment)' not in: \(text)", file: file, line: line) }
        }
    }

    func testGoodCheckpointRestores() throws {
        let good = try goodCheckpoint()
        let trainer = try makeTrainer()
        try trainer.restore(try Checkpoint.decode(try good.encoded(), path: "good"), path: "good")
        XCTAssertEqual(trainer.step, 5)
        try trainer.runStep()
        XCTAssertEqual(audit.outside, [])
        // The state before any step (empty order) is valid too.
        let fresh = try makeTrainer().checkpoint()
        XCTAssertEqual(fresh.tensors["trainer.order"]?.count, 0)
        try trainer.restore(try Checkpoint.decode(try fresh.encoded(), path: "fresh"), path: "fresh")
        XCTAssertEqual(trainer.step, 0)
    }

    func testDataOrderIsAPermutationOfTheDataset() throws {
        let good = try goodCheckpoint()
        var order = words(good.tensors["trainer.order"])
        XCTAssertEqual(order.count, Self.count)

        var outOfRange = good
        order[3] = 1_000_000
        outOfRange.tensors["trainer.order"] = int64Tensor(order)
        try assertRefused(outOfRange, "trainer.order", "entry 3 is 1000000", "permutation of 0..<12")

        var negative = good
        order[3] = -1
        negative.tensors["trainer.order"] = int64Tensor(order)
        try assertRefused(negative, "trainer.order", "entry 3 is -1")

        var duplicate = good
        order = words(good.tensors["trainer.order"])
        order[1] = order[0]
        duplicate.tensors["trainer.order"] = int64Tensor(order)
        try assertRefused(duplicate, "trainer.order", "entry 1", "permutation")

        var short = good
        short.tensors["trainer.order"] = int64Tensor(Array(words(good.tensors["trainer.order"]).prefix(5)))
        try assertRefused(short, "trainer.order", "5 entries", "12 images")

        var wrongType = good
        wrongType.tensors["trainer.order"] = HostTensor(shape: [Self.count], floats: (0..<Self.count).map(Float.init))
        try assertRefused(wrongType, "trainer.order", "F32")

        var missing = good
        missing.tensors["trainer.order"] = nil
        try assertRefused(missing, "trainer.order", "missing")
    }

    func testBatcherCountersAreInRangeAndConsistentWithTheStep() throws {
        let good = try goodCheckpoint()
        let state = words(good.tensors["trainer.batcher"])  // count, position, pass, generator
        func with(_ index: Int, _ value: Int64) -> Checkpoint {
            var changed = state
            changed[index] = value
            var checkpoint = good
            checkpoint.tensors["trainer.batcher"] = int64Tensor(changed)
            return checkpoint
        }
        try assertRefused(with(0, 13), "dataset of 13 images", "this one has 12")
        try assertRefused(with(1, 999), "trainer.batcher", "position 999")
        try assertRefused(with(1, -4), "trainer.batcher", "position -4")
        try assertRefused(with(1, 0), "trainer.batcher", "position 0")
        try assertRefused(with(2, -1), "trainer.batcher", "pass -1")
        try assertRefused(with(2, 6), "trainer.batcher", "pass 6 at step 5")

        var wrongShape = good
        wrongShape.tensors["trainer.batcher"] = int64Tensor(Array(state.prefix(3)))
        try assertRefused(wrongShape, "trainer.batcher", "I64[4]")

        // A step count the order cannot have come from.
        var tooEarly = good
        tooEarly.step = 0
        try assertRefused(tooEarly, "trainer.batcher", "at step 0")
        // An empty order is only the state before the first step.
        var emptyOrder = good
        emptyOrder.tensors["trainer.order"] = int64Tensor([])
        try assertRefused(emptyOrder, "trainer.batcher", "empty data order")
    }

    func testTensorsAreCheckedByNameDtypeShapeAndValue() throws {
        let good = try goodCheckpoint()
        let kernel = try XCTUnwrap(good.tensors["encoder.kernel"])
        XCTAssertEqual(kernel.shape, [784, 2])

        var wrongDtype = good
        wrongDtype.tensors["encoder.kernel"] = HostTensor(shape: kernel.shape, doubles: kernel.doubles)
        try assertRefused(wrongDtype, "encoder.kernel", "dtype F64", "f32[784,2]")

        var wrongShape = good
        wrongShape.tensors["encoder.kernel"] = HostTensor(shape: [784, 3], floats: [Float](repeating: 0, count: 784 * 3))
        try assertRefused(wrongShape, "encoder.kernel", "[784,3]")

        var notFinite = good
        var values = kernel.floats
        values[17] = .nan
        notFinite.tensors["encoder.kernel"] = HostTensor(shape: kernel.shape, floats: values)
        try assertRefused(notFinite, "encoder.kernel", "element 17 is nan")

        var missing = good
        missing.tensors["decoder.bias"] = nil
        try assertRefused(missing, "lacks 'decoder.bias'")

        var unknown = good
        unknown.tensors["encoder.extra"] = HostTensor(shape: [1], floats: [0])
        try assertRefused(unknown, "'encoder.extra'", "does not have")

        var wrongModel = good
        wrongModel.model = "vae"
        try assertRefused(wrongModel, "for model 'vae'")
    }

    func testOptimizerCounterIsConsistentWithTheStep() throws {
        let good = try goodCheckpoint()
        let name = try XCTUnwrap(good.tensors.keys.first { $0.hasSuffix(".iterations") })
        XCTAssertEqual(good.tensors[name], HostTensor(shape: [], int32s: [5]))
        for bad: Int32 in [-1, 6, .max] {
            var changed = good
            changed.tensors[name] = HostTensor(shape: [], int32s: [bad])
            try assertRefused(changed, name, "\(bad) optimizer updates at step 5")
        }
        var asFloat = good
        asFloat.tensors[name] = HostTensor(shape: [], floats: [.nan])
        try assertRefused(asFloat, name, "dtype F32")
    }

    /// Metadata fields are checked when the file is decoded, before any model is involved.
    func testMetadataFieldsAreChecked() throws {
        let good = try goodCheckpoint()
        func sealed(_ edit: (inout [String: String]) -> Void) throws -> [UInt8] {
            var meta = good.metadata
            meta["model"] = good.model
            meta["step"] = String(good.step)
            edit(&meta)
            return Checkpoint.seal(payload: try Safetensors.encode(good.tensors, metadata: meta))
        }
        func refused(_ bytes: [UInt8], _ fragments: String..., line: UInt = #line) {
            XCTAssertThrowsError(try Checkpoint.decode(bytes, path: "meta.sinter"), line: line) { error in
                let text = "\(error)"
                XCTAssert(text.contains("meta.sinter"), text, line: line)
                for fragment in fragments { XCTAssert(text.contains(fragment), "'\(fragment)' not in: \(text)", line: line) }
            }
        }
        XCTAssertNoThrow(try Checkpoint.decode(try sealed { _ in }, path: "meta.sinter"))
        refused(try sealed { $0["step"] = "-3" }, "field 'step'", "'-3'")
        refused(try sealed { $0["step"] = "five" }, "field 'step'", "'five'")
        refused(try sealed { $0["step"] = "99999999999999999999" }, "field 'step'")
        refused(try sealed { $0["step"] = nil }, "field 'step'", "missing")
        refused(try sealed { $0["model"] = nil }, "field 'model'", "missing")
        refused(try sealed { $0["model"] = "" }, "field 'model'")
        refused(try sealed { $0["model"] = "evil\u{1B}[2J" }, "field 'model'", "\\u{1B}")
        refused(try sealed { $0["model"] = String(repeating: "m", count: 5000) }, "field 'model'", "...")
        refused(try sealed { $0["seed"] = "-1" }, "field 'seed'")
        refused(try sealed { $0["batch"] = "0" }, "field 'batch'")
    }

    /// The library checks the file type before opening: a FIFO would block the read forever.
    func testReadRefusesWhatIsNotARegularFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        for (path, fragment) in [(fifo, "not a regular file"), (folder.path, "is a directory"), ("/dev/null", "not a regular file"),
                                 (folder.appendingPathComponent("missing").path, "no such checkpoint file")] {
            XCTAssertThrowsError(try Checkpoint.read(path: path)) { error in
                XCTAssert("\(error)".contains(path) && "\(error)".contains(fragment), "\(error)")
            }
        }
    }

    /// A refused restore changes nothing: the trainer continues exactly as if it had not been tried.
    func testRefusedRestoreLeavesTheTrainerAsItWas() throws {
        let reference = try makeTrainer()
        for _ in 0..<3 { try reference.runStep() }

        let trainer = try makeTrainer()
        for _ in 0..<2 { try trainer.runStep() }
        let before = trainer.checkpoint()
        // Valid weights from another run, but a data order for another dataset: refused after the
        // weights have been checked (the old code had loaded them by then).
        var other = try goodCheckpoint()
        var state = words(other.tensors["trainer.batcher"])
        state[0] = 99
        other.tensors["trainer.batcher"] = int64Tensor(state)
        XCTAssertThrowsError(try trainer.restore(other, path: "other.sinter"))
        // Good everything but one non-finite Adam slot.
        var slot = try goodCheckpoint()
        let name = try XCTUnwrap(slot.tensors.keys.sorted().last { $0.hasPrefix("opt") && slot.tensors[$0]!.storage == .f32 })
        var values = slot.tensors[name]!.floats
        values[0] = .infinity
        slot.tensors[name] = HostTensor(shape: slot.tensors[name]!.shape, floats: values)
        XCTAssertThrowsError(try trainer.restore(slot, path: "slot.sinter")) { XCTAssert("\($0)".contains(name), "\($0)") }

        let after = trainer.checkpoint()
        XCTAssertEqual(after.step, before.step)
        XCTAssertEqual(after.tensors, before.tensors, "a refused restore changed the trainer")
        try trainer.runStep()
        XCTAssertEqual(trainer.checkpoint().tensors, reference.checkpoint().tensors, "the trainer does not continue as before")
    }

    /// Seeded, bounded fuzz: mutate the payload of a real checkpoint, re-seal it with a valid
    /// checksum (so the mutations reach the field checks, not just the checksum), decode,
    /// restore and take a step. Every failure must be a thrown SinterError, and no step may
    /// hand the data feed an index outside the dataset. (120 iterations: sealing and decoding
    /// hash the payload, which dominates in a debug build.)
    func testFuzzedResealedCheckpointsOnlyThrow() throws {
        let good = try goodCheckpoint()
        let payload = try Checkpoint.unseal(try good.encoded(), path: "good")
        let headerLength = Int(payload[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) })
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(payload[8..<(8 + headerLength)])) as? [String: Any])
        // The data bytes of the trainer's state, where single-word edits make plausible orders.
        let stateRanges = ["trainer.order", "trainer.batcher"].compactMap { name -> Range<Int>? in
            guard let entry = header[name] as? [String: Any], let offsets = entry["data_offsets"] as? [Int] else { return nil }
            return (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1])
        }
        XCTAssertEqual(stateRanges.count, 2)
        let digits = (8..<(8 + headerLength)).filter { (48...57).contains(payload[$0]) }

        var random = SplitMix64(seed: 2024)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let trainer = try makeTrainer()
        var outcomes: [String: Int] = [:]
        for iteration in 0..<120 {
            var bytes = payload
            switch iteration % 4 {
            case 0:  // flip a few bytes anywhere
                for _ in 0...below(3) { bytes[below(bytes.count)] ^= UInt8(1 << below(8)) }
            case 1:  // change digits of the header: shapes, offsets, step, counters
                for _ in 0...below(2) { bytes[digits[below(digits.count)]] = UInt8(48 + below(10)) }
            case 2:  // a new 64-bit word in the data order or the batcher state
                let range = stateRanges[below(2)]
                let at = range.lowerBound + 8 * below(range.count / 8)
                let value: Int64 = [Int64(below(40)) - 8, Int64(bitPattern: random.next()), Int64(Self.count), -1][below(4)]
                withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { bytes[at + i] = b } }
            default:  // cut or extend
                if below(2) == 0 { bytes.removeLast(1 + below(min(64, bytes.count - 1))) } else { bytes += [UInt8](repeating: UInt8(below(256)), count: 1 + below(16)) }
            }
            let path = "fuzz-\(iteration).sinter"
            do {
                let checkpoint = try Checkpoint.decode(Checkpoint.seal(payload: bytes), path: path)
                try trainer.restore(checkpoint, path: path)
                outcomes["restored", default: 0] += 1
                // Weights that decode and check out may still diverge: a thrown error, not a crash.
                do { try trainer.runStep() } catch let error as SinterError {
                    XCTAssert("\(error)".contains("diverged"), "\(error)")
                }
            } catch let error as SinterError {
                XCTAssert("\(error)".contains(path), "\(error)")
                let kind = "\(error)".contains("checkpoint field") ? "field" : "other"
                outcomes[kind, default: 0] += 1
            } catch {
                XCTFail("iteration \(iteration): not a SinterError: \(error)")
            }
        }
        XCTAssertEqual(audit.outside, [], "a restored checkpoint made the trainer read outside the dataset")
        // The fuzz reached the field checks and also produced checkpoints good enough to train on.
        print("checkpoint fuzz outcomes: \(outcomes)")
        XCTAssertGreaterThan(outcomes["field", default: 0], 5, "\(outcomes)")
        XCTAssertGreaterThan(outcomes["restored", default: 0], 5, "\(outcomes)")
    }
}

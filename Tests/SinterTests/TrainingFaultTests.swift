import Foundation
import Sinter
import XCTest

/// `sinter train` under faults: a loss that goes NaN stops the run naming the step and keeps
/// the last good checkpoint and every loss row computed; kill -9 at any moment (often in the
/// middle of a checkpoint write) leaves a checkpoint that reads back and resumes; two processes
/// compiling one graph into one empty cache both succeed.
final class TrainingFaultTests: XCTestCase {
    var directory: URL!
    /// One kernel cache for the tests of this file, so each model compiles once.
    var cache: String { FileManager.default.temporaryDirectory.appendingPathComponent("sinter-training-fault-cache").path }

    override func setUpWithError() throws {
        directory = try SinterProcess.temporaryDirectory("training-fault")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func sinter(_ arguments: [String], cache: String? = nil) throws -> SinterProcess.Result {
        try SinterProcess.run(arguments, environment: ["XDG_CACHE_HOME": cache ?? self.cache], in: directory, timeout: 300)
    }

    /// `step,epoch,phase,loss` rows of a loss log.
    func lossRows(_ path: String) throws -> [(step: Int, loss: Double)] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "step,epoch,phase,loss")
        return try lines.dropFirst().map { line in
            let fields = line.split(separator: ",")
            guard fields.count == 4, let step = Int(fields[0]), let loss = Double(fields[3]) else {
                throw SinterError.parse(file: path, line: 0, message: "bad row '\(line)'")
            }
            return (step, loss)
        }
    }

    func testDivergingLossStopsTrainingAndKeepsTheLastGoodCheckpoint() throws {
        let out = directory.appendingPathComponent("run").path
        let common = ["train", "autoencoder", "--batch", "4", "--train-limit", "8", "--test-limit", "4", "--out", out]
        let good = try sinter(common + ["--steps", "2"])
        XCTAssertEqual(good.status, 0, good.err)
        let checkpointPath = out + "/checkpoint.sinter", csvPath = out + "/loss.csv"
        let savedBytes = try Data(contentsOf: URL(fileURLWithPath: checkpointPath))
        XCTAssertEqual(try Checkpoint.read(path: checkpointPath).step, 2)

        // An absurd learning rate: the weights blow up within a step or two.
        let diverged = try sinter(common + ["--steps", "6", "--lr", "1e30", "--resume", checkpointPath])
        XCTAssertNotEqual(diverged.status, 0, diverged.out)
        let message = diverged.err.split(separator: "\n").last { $0.hasPrefix("sinter:") }.map(String.init) ?? ""
        XCTAssert(message.contains("training diverged at step"), diverged.err)
        let stepText = message.components(separatedBy: "diverged at step ").last?.prefix { $0.isNumber } ?? ""
        let failedStep = try XCTUnwrap(Int(stepText), message)
        XCTAssert((3...8).contains(failedStep), message)
        XCTAssert(message.contains(checkpointPath) && message.contains(csvPath), message)
        XCTAssertFalse(diverged.err.contains("Fatal error") || diverged.err.contains("crashed"), diverged.err)

        // The checkpoint on disk is the last good one: step 2 untouched, or a later one with finite state.
        let kept = try Checkpoint.read(path: checkpointPath)
        XCTAssertLessThan(kept.step, failedStep)
        XCTAssertNil(kept.firstNonFiniteTensor(), "a NaN state was saved")
        if kept.step == 2 { XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: checkpointPath)), savedBytes) }
        // Every row computed before the failure is in loss.csv, flushed, and finite.
        let rows = try lossRows(csvPath)
        XCTAssertEqual(rows.map(\.step), Array(1..<failedStep), "\(rows)")
        XCTAssert(rows.allSatisfy { $0.loss.isFinite }, "\(rows)")
        // And training goes on from the kept checkpoint.
        let resumed = try sinter(common + ["--steps", "1", "--resume", checkpointPath])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertEqual(try Checkpoint.read(path: checkpointPath).step, kept.step + 1)
    }

    /// kill -9 at random moments of a run that checkpoints every 4 steps (so most kills land
    /// during or next to a checkpoint write): the checkpoint always reads back, the run resumes
    /// from it, and loss.csv ends up with each step exactly once.
    func testKillDuringCheckpointWritesNeverLosesTheCheckpoint() throws {
        let out = directory.appendingPathComponent("run").path
        let checkpointPath = out + "/checkpoint.sinter"
        let common = ["train", "dense-autoencoder", "--batch", "4", "--train-limit", "16", "--test-limit", "4", "--out", out]
        // Compile first, so the kills land in training rather than in cc.
        let warm = try sinter(common + ["--steps", "4"])
        XCTAssertEqual(warm.status, 0, warm.err)

        var random = SplitMix64(seed: 99)
        var lastStep = 4
        for round in 0..<4 {
            let (process, _, err) = try SinterProcess.start(common + ["--steps", "1000000", "--resume", checkpointPath],
                                                            environment: ["XDG_CACHE_HOME": cache], in: directory)
            // Wait until it trains (it prints "resumed"), then let it run a random 50-550 ms.
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning, Date() < deadline,
                  !((try? String(contentsOf: err, encoding: .utf8)) ?? "").contains("resumed") { usleep(10_000) }
            usleep(50_000 + UInt32(random.next() % 500_000))
            XCTAssert(process.isRunning, "round \(round): the run ended early: \((try? String(contentsOf: err, encoding: .utf8)) ?? "")")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal)

            let checkpoint = try Checkpoint.read(path: checkpointPath)
            XCTAssertGreaterThanOrEqual(checkpoint.step, lastStep, "round \(round): the checkpoint went back")
            lastStep = checkpoint.step
            let rows = try lossRows(out + "/loss.csv")
            XCTAssertGreaterThanOrEqual(rows.last?.step ?? 0, checkpoint.step, "round \(round): loss rows before the checkpoint were lost")
        }
        // A last resume trims rows written after the checkpoint: each step once, in order.
        let final = try sinter(common + ["--steps", "2", "--resume", checkpointPath])
        XCTAssertEqual(final.status, 0, final.err)
        XCTAssertEqual(try lossRows(out + "/loss.csv").map(\.step), Array(1...(lastStep + 2)))
        XCTAssertGreaterThan(lastStep, 4, "no kill landed after a checkpoint was written")
    }

    /// Two processes compile the same graph into one empty cache at the same time.
    func testTwoProcessesCompileIntoOneEmptyCacheAtOnce() throws {
        let ir = directory.appendingPathComponent("g.ir").path
        // A constant unique to this run so the graph is new to any cache.
        let scale = Double(UInt32.random(in: 1...1_000_000)) / 1000
        try "graph g {\n  %0 = input {name=\"x\"} : f32[4]\n  %1 = constant {value=\(scale)} : f32[]\n  %2 = mul(%0, %1) : f32[4]\n  output \"y\" = %2\n}\n"
            .write(toFile: ir, atomically: true, encoding: .utf8)
        let inputs = directory.appendingPathComponent("in.safetensors").path
        try Safetensors.write(["x": HostTensor(shape: [4], floats: [1, 2, 3, 4])], to: inputs)
        let emptyCache = directory.appendingPathComponent("cache").path
        let runs = try (0..<2).map { index in
            try SinterProcess.start(["run", ir, "--inputs", inputs, "--out", directory.appendingPathComponent("out\(index).safetensors").path],
                                    environment: ["XDG_CACHE_HOME": emptyCache], in: directory)
        }
        for (process, _, err) in runs {
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        }
        for index in 0..<2 {
            let y = try Safetensors.read(path: directory.appendingPathComponent("out\(index).safetensors").path)["y"]
            XCTAssertEqual(y?.floats, [1, 2, 3, 4].map { Float($0) * Float(scale) })
        }
    }
}

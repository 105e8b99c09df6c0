import Foundation
import XCTest

/// The built `sinter` executable run as a child process, with a deadline: a command that hangs
/// (a FIFO opened for reading) is killed and reported instead of stalling the suite.
enum SinterProcess {
    struct Result {
        var status: Int32
        var out: String
        var err: String
        var timedOut: Bool
    }

    /// `sinter` next to the test binary (`swift build` / `swift test` build it).
    static func binary() throws -> URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [testBinary.deletingLastPathComponent(), Bundle.main.bundleURL,
                          Bundle.main.bundleURL.deletingLastPathComponent()].map { $0.appendingPathComponent("sinter") }
        guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("the sinter executable is not built next to the tests (\(candidates[0].path)); run `swift build` first")
        }
        return url
    }

    /// Starts `sinter arguments` with output going to files (no pipe can fill up and block it).
    static func start(_ arguments: [String], environment: [String: String] = [:], in directory: URL) throws
        -> (process: Process, out: URL, err: URL) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let tag = UUID().uuidString
        let out = directory.appendingPathComponent(".stdout-\(tag)"), err = directory.appendingPathComponent(".stderr-\(tag)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL,
                    timeout: TimeInterval = 120) throws -> Result {
        let (process, out, err) = try start(arguments, environment: environment, in: directory)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = process.isRunning
        if timedOut { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        return Result(status: process.terminationStatus,
                      out: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      err: (try? String(contentsOf: err, encoding: .utf8)) ?? "", timedOut: timedOut)
    }

    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

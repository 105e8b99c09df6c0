import Foundation

/// Runs a program (a C compiler, a binary a test built) to the end and returns its exit status
/// with stdout and stderr together. One helper for every test that shells out.
enum Command {
    /// `executable` is a path, or a name looked up on PATH (through /usr/bin/env).
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil,
                    environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        if let directory { process.currentDirectoryURL = directory }
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `run` with the program and its arguments in one list.
    static func run(_ commandLine: [String]) throws -> (status: Int32, output: String) {
        try run(commandLine[0], Array(commandLine.dropFirst()))
    }
}

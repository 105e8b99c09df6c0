import Foundation
import SinterIR

/// The system C compiler that turns a generated translation unit into a shared library.
///
/// Which compiler: `SINTER_CC` if set, else the first of `cc`, `gcc`, `clang` on `PATH`. Its identity
/// (resolved path plus the first line of `--version`) goes into every cache key, so upgrading the
/// compiler or pointing `SINTER_CC` elsewhere never reuses a library built by another compiler.
///
/// Flags: `-O3 -march=native` (replaced wholesale by `SINTER_CFLAGS` when that is set, so users can
/// pick `-O1 -g` for debugging or drop `-march=native` for portable builds), then the flags the
/// runtime needs whatever the user asks for. Never `-ffast-math`: the numerics are compared against
/// Keras/TensorFlow and must keep IEEE semantics (NaN/Inf propagation, no reassociation surprises).
public struct CCompiler: Sendable, Equatable {
    /// Absolute path of the compiler executable (after the `PATH` search).
    public let path: String
    /// First line of `<path> --version`, e.g. `cc (Debian 12.2.0-14+deb12u1) 12.2.0`.
    public let versionLine: String
    /// Optimisation and target flags: `-O3 -march=native`, or the words of `SINTER_CFLAGS`.
    public let optimizationFlags: [String]
    /// Whether `-fopenmp` compiles and links with this compiler (probed once, cached on disk).
    public let supportsOpenMP: Bool

    public static let defaultOptimizationFlags = ["-O3", "-march=native"]
    /// Always passed: a position-independent shared object in C11. `-fno-strict-aliasing` because
    /// generated code views the byte arena and the parameter block through several element types.
    public static let requiredFlags = ["-fPIC", "-shared", "-std=c11", "-fno-strict-aliasing"]
    /// Linked after the source: libm for expf/logf/... (the library must not rely on the host
    /// process happening to have libm loaded).
    public static let libraries = ["-lm"]

    /// What identifies this compiler in cache keys: resolved path + first line of `--version`.
    public var identity: String { "\(path) | \(versionLine)" }

    /// Every flag except file names, in command order. This exact list goes into the cache key.
    public var flags: [String] {
        optimizationFlags + Self.requiredFlags + (supportsOpenMP ? ["-fopenmp"] : [])
    }

    /// Finds the compiler and probes it.
    /// - Parameters:
    ///   - environment: where `SINTER_CC`, `SINTER_CFLAGS` and `PATH` are read (tests pass their own).
    ///   - probeCacheDirectory: where the OpenMP probe result is remembered across processes; nil
    ///     probes in a temporary directory and remembers only for this process.
    public init(environment: [String: String],
                probeCacheDirectory: URL? = nil) throws {
        let searchPath = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        path = try Self.locate(environment: environment, searchPath: searchPath)
        versionLine = try Self.version(of: path, requestedViaEnvironment: environment["SINTER_CC"] != nil)
        if let custom = environment["SINTER_CFLAGS"] {
            optimizationFlags = custom.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        } else {
            optimizationFlags = Self.defaultOptimizationFlags
        }
        supportsOpenMP = Self.probeOpenMP(path: path, identity: "\(path) | \(versionLine)", cacheDirectory: probeCacheDirectory)
    }

    /// The argument list (without the executable) that builds `output` from `source`. Paths are
    /// used as given; the cache passes names relative to the build directory so the recorded
    /// command stays valid after the directory is renamed into place.
    public func arguments(source: String, includeDirectory: String, output: String) -> [String] {
        flags + ["-I", includeDirectory, "-o", output, source] + Self.libraries
    }

    /// Runs the compiler with `arguments` in `directory`. Throws only when the process cannot be
    /// started; a failing compile is reported through the result so the caller can word the error
    /// with the paths it knows.
    func run(_ arguments: [String], in directory: URL) throws -> ProcessResult {
        do {
            return try runProcess(path, arguments, in: directory)
        } catch {
            throw SinterError.compile(message: "cannot run the C compiler '\(path)': \(error)")
        }
    }

    // MARK: - Locating the compiler

    private static func locate(environment: [String: String], searchPath: String) throws -> String {
        if let requested = environment["SINTER_CC"], !requested.trimmingCharacters(in: .whitespaces).isEmpty {
            switch findExecutable(requested, searchPath: searchPath) {
            case let .found(path):
                return path
            case let .missing(reason):
                throw SinterError.compile(message: "SINTER_CC is set to '\(requested)', which cannot be run: \(reason). "
                    + "Point SINTER_CC at a C compiler (a path, or a name on PATH), or unset it to use cc, gcc or clang from PATH.")
            }
        }
        for name in ["cc", "gcc", "clang"] {
            if case let .found(path) = findExecutable(name, searchPath: searchPath) { return path }
        }
        throw SinterError.compile(message: "no C compiler found: looked for cc, gcc and clang on PATH (\(searchPath)). "
            + "Install one (e.g. apt-get install gcc) or set SINTER_CC to a compiler's path.")
    }

    private enum Lookup { case found(String), missing(String) }

    /// `name` with a slash is a path (relative to the current directory); otherwise it is searched
    /// on `searchPath`, like a shell would.
    private static func findExecutable(_ name: String, searchPath: String) -> Lookup {
        let fm = FileManager.default
        func check(_ candidate: String) -> String? {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: candidate, isDirectory: &isDirectory) else { return "no such file" }
            if isDirectory.boolValue { return "it is a directory" }
            guard fm.isExecutableFile(atPath: candidate) else { return "the file is not executable" }
            return nil
        }
        if name.contains("/") {
            let absolute = name.hasPrefix("/") ? name : fm.currentDirectoryPath + "/" + name
            if let reason = check(absolute) { return .missing(reason + " at '\(absolute)'") }
            return .found(URL(fileURLWithPath: absolute).standardizedFileURL.path)
        }
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + name
            if check(String(candidate)) == nil { return .found(String(candidate)) }
        }
        return .missing("no executable named '\(name)' on PATH (\(searchPath))")
    }

    // MARK: - Version and OpenMP probe (memoised per process)

    private static let memo = Memo()

    private static func version(of path: String, requestedViaEnvironment: Bool) throws -> String {
        if let known = memo.version(path) { return known }
        let origin = requestedViaEnvironment ? " (from SINTER_CC)" : ""
        let result: ProcessResult
        do {
            result = try runProcess(path, ["--version"], in: nil)
        } catch {
            throw SinterError.compile(message: "the C compiler '\(path)'\(origin) cannot be run: \(error)")
        }
        guard result.succeeded else {
            throw SinterError.compile(message: "the C compiler '\(path)'\(origin) cannot be run: "
                + "'\(path) --version' \(result.statusText)\n\(result.output)")
        }
        let line = result.output.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        memo.setVersion(path, line)
        return line
    }

    /// Compiles a tiny OpenMP program once per compiler: in memory for this process, on disk for
    /// later ones (the probe costs a compile, ~100 ms, which every cache hit would otherwise pay).
    private static func probeOpenMP(path: String, identity: String, cacheDirectory: URL?) -> Bool {
        let fm = FileManager.default
        let recordURL = cacheDirectory.map {
            $0.appendingPathComponent("probes").appendingPathComponent("openmp-\(SHA256.hex(identity).prefix(32)).txt")
        }
        if let known = memo.openMP(identity) {
            // Probed earlier in this process for another cache directory: record it here too.
            if let recordURL, !fm.fileExists(atPath: recordURL.path) {
                writeProbeRecord(recordURL, "\(known ? "yes" : "no")\n\(identity)\n(answer remembered from an earlier probe)\n")
            }
            return known
        }
        if let recordURL, let text = try? String(contentsOf: recordURL, encoding: .utf8),
           let answer = text.split(separator: "\n").first, answer == "yes" || answer == "no" {
            memo.setOpenMP(identity, answer == "yes")
            return answer == "yes"
        }
        let base = cacheDirectory ?? fm.temporaryDirectory
        let scratch = base.appendingPathComponent("tmp-probe-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: scratch) }
        var supported = false
        var output = ""
        do {
            try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
            let source = """
                #include <omp.h>
                int sinter_probe(int n) {
                    int total = 0;
                #pragma omp parallel for reduction(+:total)
                    for (int i = 0; i < n; i++) total += i;
                    return total + omp_get_max_threads();
                }
                """
            try source.write(to: scratch.appendingPathComponent("probe.c"), atomically: false, encoding: .utf8)
            let result = try runProcess(path, ["-fopenmp", "-fPIC", "-shared", "-o", "probe.so", "probe.c"], in: scratch)
            supported = result.succeeded
            output = result.output
        } catch {
            supported = false
            output = "\(error)"
        }
        memo.setOpenMP(identity, supported)
        if let recordURL { writeProbeRecord(recordURL, "\(supported ? "yes" : "no")\n\(identity)\n\(output)") }
        return supported
    }

    /// Written to a unique name and renamed, so a concurrent reader never sees half a record.
    private static func writeProbeRecord(_ url: URL, _ text: String) {
        let fm = FileManager.default
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent("tmp-\(UUID().uuidString)")
        try? fm.createDirectory(at: directory, withIntermediateDirectories: true)
        guard (try? text.write(to: temporary, atomically: false, encoding: .utf8)) != nil else { return }
        if rename(temporary.path, url.path) != 0 { try? fm.removeItem(at: temporary) }
    }

    /// Process-wide memo of `--version` lines and probe answers.
    private final class Memo: @unchecked Sendable {
        private let lock = NSLock()
        private var versions: [String: String] = [:]
        private var openMPAnswers: [String: Bool] = [:]

        func version(_ path: String) -> String? { lock.lock(); defer { lock.unlock() }; return versions[path] }
        func setVersion(_ path: String, _ line: String) { lock.lock(); versions[path] = line; lock.unlock() }
        func openMP(_ identity: String) -> Bool? { lock.lock(); defer { lock.unlock() }; return openMPAnswers[identity] }
        func setOpenMP(_ identity: String, _ answer: Bool) { lock.lock(); openMPAnswers[identity] = answer; lock.unlock() }
    }
}

// MARK: - Running processes

/// Exit status and combined stdout+stderr of a finished child process.
struct ProcessResult {
    var terminatedBySignal: Bool
    var status: Int32
    var output: String

    var succeeded: Bool { !terminatedBySignal && status == 0 }
    var statusText: String { terminatedBySignal ? "was killed by signal \(status)" : "exited with status \(status)" }
}

/// Runs an executable directly (no shell, so no quoting problems) and captures its output. stdout
/// and stderr share one pipe: that keeps the compiler's messages in the order a terminal would show
/// them, and a single pipe read to EOF cannot deadlock on the other pipe filling up.
func runProcess(_ executable: String, _ arguments: [String], in directory: URL?) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(terminatedBySignal: process.terminationReason == .uncaughtSignal,
                         status: process.terminationStatus,
                         output: String(decoding: data, as: UTF8.self))
}

/// A command line as a user would paste it into a shell (single-quoting words that need it).
func shellQuoted(_ words: [String]) -> String {
    words.map { word -> String in
        let safe = !word.isEmpty && word.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || "-_./=:,+@%".unicodeScalars.contains($0)
        }
        return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
}

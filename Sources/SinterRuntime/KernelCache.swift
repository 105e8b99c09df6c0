import Foundation
import SinterCodegen
import SinterIR

/// What happened when a program was compiled (or found in the cache).
public struct CompileReport: Sendable, Equatable {
    /// SHA-256 (hex) naming the library; see `KernelCache` for what goes into it.
    public var key: String
    /// The shared library to dlopen.
    public var libraryPath: String
    /// The directory holding `kernel.c`, `include/`, `kernel.so`, `command.txt`, `key.txt`.
    public var directory: String
    /// True when an existing library was reused and the C compiler did not run.
    public var cacheHit: Bool
    /// Wall time of the whole lookup-or-compile, in seconds.
    public var seconds: Double
    /// The compile command, shell-quoted, run inside `directory` (paths in it are relative).
    public var command: String
    /// One-line notices for the user (a damaged cache entry that was rebuilt); the library never
    /// prints them itself.
    public var notices: [String]

    public init(key: String, libraryPath: String, directory: String, cacheHit: Bool, seconds: Double, command: String,
                notices: [String] = []) {
        self.key = key
        self.libraryPath = libraryPath
        self.directory = directory
        self.cacheHit = cacheHit
        self.seconds = seconds
        self.command = command
        self.notices = notices
    }
}

/// A content-addressed store of compiled kernels, so rerunning a model skips the C compiler (a
/// big graph takes seconds to compile at -O3; a cache hit takes milliseconds).
///
/// Location: `$XDG_CACHE_HOME/sinter`, else `$HOME/.cache/sinter`. Entry layout:
///
///     <cache>/<key[0..2]>/<key>/kernel.c, include/<headers>, kernel.so, command.txt, key.txt, library.txt
///
/// `library.txt` holds the ABI and the size and SHA-256 of `kernel.so`; a hit is checked against
/// it before dlopen, and a damaged entry is removed and rebuilt (see `CacheEntryCheck`).
///
/// The key is the SHA-256 of `key.txt`, a readable description of everything that determines the
/// library: runtime ABI version, compiler identity, flags, CPU features (because of
/// `-march=native`), and the SHA-256 of the source and of every header. `sha256sum key.txt` in an
/// entry reproduces its key.
///
/// Concurrency: each compile happens in a private `<cache>/tmp-<uuid>` directory that is renamed
/// onto the final name in one `rename(2)`, so another process either sees a complete entry or none.
/// If two processes race, the loser throws its copy away and uses the winner's (same key, same
/// inputs, so the libraries are interchangeable).
///
/// `SINTER_NO_CACHE=1` compiles into a fresh directory under the system temporary directory every
/// time and never reads or writes the cache entries (the directory is left behind for inspection).
public final class KernelCache {
    /// Bumped whenever the runtime/generated-code contract changes, so old entries are not reused.
    public static let abiVersion = 1

    public let directory: URL
    public let compiler: CCompiler
    /// False under `SINTER_NO_CACHE=1`.
    public let cachingEnabled: Bool

    /// - Parameters:
    ///   - directory: the cache root; nil means `$XDG_CACHE_HOME/sinter` or `$HOME/.cache/sinter`.
    ///   - environment: read for the cache location, `SINTER_NO_CACHE` and the compiler settings
    ///     (tests pass their own instead of mutating the process environment).
    public init(directory: URL? = nil, environment: [String: String]) throws {
        let root = try directory ?? Self.defaultDirectory(environment: environment)
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw SinterError.file(path: root.path, message: "cannot create the kernel cache directory: \(error.localizedDescription)")
        }
        self.directory = root
        let noCache = environment["SINTER_NO_CACHE"].map { !["", "0", "false", "no"].contains($0.lowercased()) } ?? false
        cachingEnabled = !noCache
        compiler = try CCompiler(environment: environment, probeCacheDirectory: root)
    }

    public static func defaultDirectory(environment: [String: String]) throws -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("sinter")
        }
        if let home = environment["HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home).appendingPathComponent(".cache").appendingPathComponent("sinter")
        }
        throw SinterError.compile(message: "cannot place the kernel cache: neither XDG_CACHE_HOME nor HOME is set")
    }

    // MARK: - Key

    /// The readable text whose SHA-256 is the key (also stored as `key.txt`).
    public func keyDescription(for program: CProgram) -> String {
        var text = "sinter kernel cache key\n"
        text += "abi: \(Self.abiVersion)\n"
        text += "compiler: \(compiler.identity)\n"
        text += "flags: \(shellQuoted(compiler.flags + CCompiler.libraries))\n"
        text += "cpu: \(CPUFeatures.description)\n"
        text += "source: sha256 \(SHA256.hex(program.source)) (\(program.source.utf8.count) bytes)\n"
        // Sorted by name so dictionary order never changes the key. Names are written as Swift
        // string literals so no name can forge another line.
        for name in program.headers.keys.sorted() {
            let content = program.headers[name]!
            text += "header \(name.debugDescription): sha256 \(SHA256.hex(content)) (\(content.utf8.count) bytes)\n"
        }
        return text
    }

    public func key(for program: CProgram) -> String { SHA256.hex(keyDescription(for: program)) }

    /// Where the entry for `key` lives (whether or not it exists yet).
    public func entryDirectory(forKey key: String) -> URL {
        directory.appendingPathComponent(String(key.prefix(2))).appendingPathComponent(key)
    }

    // MARK: - Compile

    static let sourceName = "kernel.c"
    static let libraryName = "kernel.so"
    static let includeName = "include"

    /// Returns the library for `program`, compiling it if the cache does not hold it yet.
    public func compile(_ program: CProgram) throws -> CompileReport {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

        let description = keyDescription(for: program)
        let key = SHA256.hex(description)
        let arguments = compiler.arguments(source: Self.sourceName, includeDirectory: Self.includeName, output: Self.libraryName)
        let command = shellQuoted([compiler.path] + arguments)
        let fm = FileManager.default
        let final = entryDirectory(forKey: key)

        var notices: [String] = []
        if cachingEnabled {
            if fm.fileExists(atPath: final.appendingPathComponent(Self.libraryName).path) {
                guard let problem = CacheEntryCheck.problem(entry: final, libraryName: Self.libraryName, abi: Self.abiVersion) else {
                    return CompileReport(key: key, libraryPath: final.appendingPathComponent(Self.libraryName).path,
                                         directory: final.path, cacheHit: true, seconds: elapsed(), command: command)
                }
                notices.append("kernel cache entry \(final.path) is damaged (\(problem)); removed it and rebuilt it")
                discard(final)
            } else if fm.fileExists(atPath: final.path) {
                // An entry without a library was damaged by hand (rename never publishes half an
                // entry); clear it so the rename below can succeed.
                notices.append("kernel cache entry \(final.path) has no \(Self.libraryName); removed it and rebuilt it")
                discard(final)
            }
            removeStaleTemporaries()
        }

        let buildRoot = cachingEnabled ? directory : fm.temporaryDirectory
        let build = buildRoot.appendingPathComponent(cachingEnabled ? "tmp-\(UUID().uuidString)" : "sinter-nocache-\(UUID().uuidString)")
        try writeSources(program, description: description, command: command, into: build)
        let result = try compiler.run(arguments, in: build)
        guard result.succeeded else {
            throw failure(result, command: command, build: build, key: key)
        }
        do {
            try CacheEntryCheck.write(libraryIn: build, libraryName: Self.libraryName, abi: Self.abiVersion)
        } catch {
            try? fm.removeItem(at: build)
            throw error
        }

        guard cachingEnabled else {
            return CompileReport(key: key, libraryPath: build.appendingPathComponent(Self.libraryName).path,
                                 directory: build.path, cacheHit: false, seconds: elapsed(), command: command, notices: notices)
        }
        try? fm.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
        if rename(build.path, final.path) != 0 {
            let error = errno
            // Another process published the same key first: theirs is as good as ours.
            if fm.fileExists(atPath: final.appendingPathComponent(Self.libraryName).path) {
                try? fm.removeItem(at: build)
            } else {
                throw SinterError.file(path: final.path, message: "cannot move the compiled kernel into the cache: \(String(cString: strerror(error)))")
            }
        }
        return CompileReport(key: key, libraryPath: final.appendingPathComponent(Self.libraryName).path,
                             directory: final.path, cacheHit: false, seconds: elapsed(), command: command, notices: notices)
    }

    /// Takes a damaged entry out of the cache: first renamed aside in one step (so another process
    /// sees the entry or nothing, never half of it), then deleted. If what was renamed aside is
    /// sound after all (another process found the same damage and published a rebuilt entry in
    /// between), it is put back.
    private func discard(_ entry: URL) {
        let aside = directory.appendingPathComponent("tmp-damaged-\(UUID().uuidString)")
        guard rename(entry.path, aside.path) == 0 else {
            try? FileManager.default.removeItem(at: entry)
            return
        }
        if CacheEntryCheck.problem(entry: aside, libraryName: Self.libraryName, abi: Self.abiVersion) == nil,
           rename(aside.path, entry.path) == 0 {
            return
        }
        try? FileManager.default.removeItem(at: aside)
    }

    private func writeSources(_ program: CProgram, description: String, command: String, into build: URL) throws {
        let fm = FileManager.default
        let include = build.appendingPathComponent(Self.includeName)
        do {
            try fm.createDirectory(at: include, withIntermediateDirectories: true)
            try program.source.write(to: build.appendingPathComponent(Self.sourceName), atomically: false, encoding: .utf8)
            for (name, content) in program.headers {
                guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                    throw SinterError.compile(message: "header name '\(name)' is not a plain file name")
                }
                try content.write(to: include.appendingPathComponent(name), atomically: false, encoding: .utf8)
            }
            try (command + "\n").write(to: build.appendingPathComponent("command.txt"), atomically: false, encoding: .utf8)
            try description.write(to: build.appendingPathComponent("key.txt"), atomically: false, encoding: .utf8)
        } catch let error as SinterError {
            try? fm.removeItem(at: build)
            throw error
        } catch {
            try? fm.removeItem(at: build)
            throw SinterError.file(path: build.path, message: "cannot write the generated C: \(error.localizedDescription)")
        }
    }

    /// Builds the compile error. The build directory is kept (moved to `<cache>/failed/<key>` when
    /// caching, so it never looks like an entry) so the user can open the .c file and rerun the
    /// command.
    private func failure(_ result: ProcessResult, command: String, build: URL, key: String) -> SinterError {
        var kept = build
        if cachingEnabled {
            let fm = FileManager.default
            let failed = directory.appendingPathComponent("failed").appendingPathComponent(key)
            try? fm.createDirectory(at: failed.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? fm.removeItem(at: failed)
            if rename(build.path, failed.path) == 0 { kept = failed }
        }
        let source = kept.appendingPathComponent(Self.sourceName).path
        let output = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        return SinterError.compile(message: """
            the C compiler \(result.statusText) while building the generated code.
            command (run in \(kept.path)):
              \(command)
            generated source kept at: \(source)
            compiler output:
            \(output.isEmpty ? "(none)" : output)
            """)
    }

    /// Removes `tmp-*` build directories left by processes that died mid-compile (older than an
    /// hour, so a compile still running elsewhere is never touched).
    private func removeStaleTemporaries() {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory.path) else { return }
        let cutoff = Date().addingTimeInterval(-3600)
        for name in names where name.hasPrefix("tmp-") {
            let url = directory.appendingPathComponent(name)
            if let modified = (try? fm.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date, modified < cutoff {
                try? fm.removeItem(at: url)
            }
        }
    }
}

/// What the CPU offers, for the cache key: a library built with `-march=native` on one machine may
/// use instructions another machine lacks (a shared home directory across a cluster, say).
enum CPUFeatures {
    static let description: String = {
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") || $0.hasPrefix("Features") }) {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? String(line)
        }
        var name = utsname()
        guard uname(&name) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &name.machine) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }()
}

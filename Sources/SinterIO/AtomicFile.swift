import Foundation
import SinterIR
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Whole-file writes that either fully succeed or leave the target untouched.
public enum AtomicFile {
    /// Writes `bytes` to a temporary file next to `path` (same directory, hence same file system,
    /// so rename(2) is atomic), flushes it, then renames it over `path`. `beforeRename` is a test
    /// hook that runs with the temporary path once its contents are complete.
    /// Leftover temporaries of `path` (from a write that was killed) are removed first; see
    /// `removeStaleTemporaries`.
    public static func write(_ bytes: [UInt8], to path: String, beforeRename: ((String) throws -> Void)? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        removeStaleTemporaries(of: path)
        let tempPath = directory + "/" + temporaryPrefix(of: url.lastPathComponent) + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SinterError.file(path: path, message: "cannot create temporary file in \(directory): \(errnoText())")
        }
        var success = false
        defer {
            if !success { unlink(tempPath) }
        }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    // Large writes may be partial; loop until everything is on disk.
                    let n = systemWrite(fd, raw.baseAddress! + done, min(raw.count - done, 1 << 30))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SinterError.file(path: path, message: "cannot write: \(errnoText())")
                    }
                    done += n
                }
            }
            guard fsync(fd) == 0 else {
                throw SinterError.file(path: path, message: "cannot flush to disk: \(errnoText())")
            }
        }
        try beforeRename?(tempPath)
        guard rename(tempPath, path) == 0 else {
            throw SinterError.file(path: path, message: "cannot replace file: \(errnoText())")
        }
        success = true
    }

    /// Temporaries of `name` are `.<name>.tmp-<pid>-<random>`.
    static func temporaryPrefix(of name: String) -> String { "." + name + ".tmp-" }

    /// Removes temporaries of `path` left by a killed write: only names matching our own
    /// pattern for this target, whose writer process no longer exists (kill(pid, 0) fails with
    /// ESRCH), and that have not been modified for `staleAfter` seconds (so a writer on another
    /// machine sharing the directory, whose pid means nothing here, is given time). Best effort:
    /// anything that cannot be checked is left alone. Returns the paths removed.
    @discardableResult
    public static func removeStaleTemporaries(of path: String, staleAfter: TimeInterval = 60) -> [String] {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let prefix = temporaryPrefix(of: url.lastPathComponent)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        let now = Date().timeIntervalSince1970
        for name in names where name.hasPrefix(prefix) {
            let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, UInt32(parts[1]) != nil, pid != getpid() else { continue }
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let candidate = directory + "/" + name
            var info = stat()
            guard lstat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            guard now - TimeInterval(info.st_mtim.tv_sec) >= staleAfter else { continue }
            if unlink(candidate) == 0 { removed.append(candidate) }
        }
        return removed
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

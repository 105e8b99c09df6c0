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
    public static func write(_ bytes: [UInt8], to path: String, beforeRename: ((String) throws -> Void)? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let tempPath = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

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

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

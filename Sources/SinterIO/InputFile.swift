import Foundation
import SinterIR
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a whole input file safely: the path is checked with stat(2) before it is opened, so a
/// directory, FIFO (which would block forever), device (/dev/null, /dev/zero) or socket is refused
/// with one line naming the path and what was expected, and a file larger than `maxBytes` is
/// refused before anything is allocated.
public enum InputFile {
    /// The default cap on bytes read or decompressed from one input: 4 GiB, or the machine's
    /// physical memory when that is smaller.
    public static let defaultMaxBytes: Int = {
        let physical = ProcessInfo.processInfo.physicalMemory
        return Int(min(UInt64(4) << 30, physical > 0 ? physical : UInt64(4) << 30))
    }()

    /// Checks that `path` names a regular file and returns its size. `expected` says what the
    /// caller wanted ("a safetensors file", "a PNG image"), for the message.
    @discardableResult
    public static func checkRegularFile(_ path: String, expected: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno
            if reason == ENOENT { throw SinterError.file(path: path, message: "no such file") }
            if reason == ENOTDIR { throw SinterError.file(path: path, message: "a parent of this path is a file, not a directory (expected \(expected))") }
            throw SinterError.file(path: path, message: "cannot read (\(String(cString: strerror(reason)))); expected \(expected)")
        }
        let kind: String
        switch info.st_mode & S_IFMT {
        case S_IFREG: return Int(info.st_size)
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a FIFO (named pipe)"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        throw SinterError.file(path: path, message: "is \(kind), expected \(expected)")
    }

    /// The whole contents of the regular file at `path`, at most `maxBytes` long.
    public static func read(_ path: String, expected: String, maxBytes: Int = defaultMaxBytes) throws -> [UInt8] {
        let size = try checkRegularFile(path, expected: expected)
        guard size <= maxBytes else {
            throw SinterError.file(path: path, message: "is \(size) bytes, more than the limit of \(maxBytes) bytes for \(expected)")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw SinterError.file(path: path, message: "cannot open (\(String(cString: strerror(errno)))); expected \(expected)")
        }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { raw in Foundation.read(fd, raw.baseAddress! + done, size - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SinterError.file(path: path, message: "cannot read (\(String(cString: strerror(errno))))")
            }
            if n == 0 { break }  // The file shrank while we read it; keep what is there.
            done += n
        }
        if done < size { bytes.removeLast(size - done) }
        return bytes
    }
}

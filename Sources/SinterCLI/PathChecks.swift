import Foundation
import Sinter
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks on the files and folders named on the command line, made before anything is opened:
/// a FIFO would block a read forever, a device or a directory would give a Foundation error dump,
/// and an atomic write renames over whatever is at the path (as root, even /dev/null). Every
/// failure is one line naming the option, the path and what was expected.
enum PathChecks {
    /// What is at a path, from stat(2) (which follows symbolic links).
    enum Kind: Equatable {
        case missing, regularFile, directory, fifo, characterDevice, blockDevice, socket, other
        /// A path through a regular file (`notes.txt/sub`): stat's ENOTDIR.
        case underFile(String)
        case unreachable(String)

        var text: String {
            switch self {
            case .missing: return "does not exist"
            case .regularFile: return "a regular file"
            case .directory: return "a directory"
            case .fifo: return "a FIFO (named pipe)"
            case .characterDevice: return "a character device"
            case .blockDevice: return "a block device"
            case .socket: return "a socket"
            case .other: return "not a regular file"
            case let .underFile(file): return "inside \(file), which is a file, not a folder"
            case let .unreachable(reason): return "not reachable (\(reason))"
            }
        }
    }

    static func kind(_ path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else {
            switch errno {
            case ENOENT: return .missing
            case ENOTDIR:
                var ancestor = URL(fileURLWithPath: path).deletingLastPathComponent()
                while ancestor.path != "/" {
                    if case .regularFile = kind(ancestor.path) { return .underFile(ancestor.path) }
                    ancestor.deleteLastPathComponent()
                }
                return .unreachable(String(cString: strerror(ENOTDIR)))
            default: return .unreachable(String(cString: strerror(errno)))
            }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        case S_IFIFO: return .fifo
        case S_IFCHR: return .characterDevice
        case S_IFBLK: return .blockDevice
        case S_IFSOCK: return .socket
        default: return .other
        }
    }

    static func error(_ option: String, _ path: String, _ message: String) -> SinterError {
        .file(path: path, message: "\(option): \(message)")
    }

    /// An existing, readable regular file; `expected` says what it should hold ("a checkpoint").
    static func inputFile(_ path: String, option: String, expected: String) throws {
        guard !path.isEmpty else { throw error(option, "''", "empty path; expected \(expected)") }
        switch kind(path) {
        case .regularFile: break
        case .missing: throw error(option, path, "no such file; expected \(expected)")
        case .directory: throw error(option, path, "is a directory; expected \(expected)")
        case .underFile, .unreachable: throw error(option, path, "is \(kind(path).text); expected \(expected)")
        case let other: throw error(option, path, "is \(other.text), not a regular file; expected \(expected)")
        }
        guard access(path, R_OK) == 0 else {
            throw error(option, path, "cannot be read (\(String(cString: strerror(errno)))); expected \(expected)")
        }
    }

    /// An existing directory (a dataset folder).
    static func inputDirectory(_ path: String, option: String, expected: String) throws {
        guard !path.isEmpty else { throw error(option, "''", "empty path; expected \(expected)") }
        switch kind(path) {
        case .directory: break
        case .missing: throw error(option, path, "no such directory; expected \(expected)")
        case .underFile, .unreachable: throw error(option, path, "is \(kind(path).text); expected \(expected)")
        case let other: throw error(option, path, "is \(other.text), not a directory; expected \(expected)")
        }
    }

    /// A file Sinter may create or replace: nothing but a regular file is at the path, and its
    /// folder exists and can be written in (tested by creating a file there, which also catches
    /// read-only mounts and /proc, where root's access(2) says yes).
    static func outputFile(_ path: String, option: String) throws {
        guard !path.isEmpty else { throw error(option, "''", "empty path; expected a file to write") }
        switch kind(path) {
        case .missing, .regularFile: break
        case .directory: throw error(option, path, "is a directory; expected a file to write")
        case .underFile, .unreachable: throw error(option, path, "is \(kind(path).text); expected a file to write")
        case let other: throw error(option, path, "is \(other.text); expected a regular file to write (Sinter replaces it atomically)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        switch kind(folder) {
        case .directory: try probeWritable(folder, option: option, for: path)
        case .missing: throw error(option, path, "folder \(folder) does not exist")
        case let other: throw error(option, path, "\(folder) is \(other.text), not a folder")
        }
    }

    /// A folder Sinter writes into, created (with its parents) if needed.
    static func outputDirectory(_ path: String, option: String) throws {
        guard !path.isEmpty else { throw error(option, "''", "empty path; expected a folder to write into") }
        switch kind(path) {
        case .directory:
            try probeWritable(path, option: option, for: path)
            return
        case .missing: break
        case let other: throw error(option, path, "is \(other.text); expected a folder to write into")
        }
        // The nearest existing ancestor must be a folder we can write in.
        var ancestor = URL(fileURLWithPath: path).deletingLastPathComponent()
        while kind(ancestor.path) == .missing, ancestor.path != "/" { ancestor.deleteLastPathComponent() }
        switch kind(ancestor.path) {
        case .directory: try probeWritable(ancestor.path, option: option, for: path)
        case let other: throw error(option, path, "cannot create the folder: \(ancestor.path) is \(other.text), not a folder")
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw Self.error(option, path, "cannot create the folder: \(oneLineDescription(error))")
        }
    }

    /// Creates and removes a file in `folder`: the one reliable test that a write there works.
    private static func probeWritable(_ folder: String, option: String, for path: String) throws {
        let probe = folder + "/.sinter-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw error(option, path, folder == path ? "cannot write in this folder (\(reason))" : "cannot write in \(folder) (\(reason))")
        }
        close(fd)
        unlink(probe)
    }

    /// The whole of a UTF-8 text file (an IR file), checked as `inputFile` first.
    static func readText(_ path: String, option: String, expected: String) throws -> String {
        try inputFile(path, option: option, expected: expected)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Self.error(option, path, "cannot read: \(oneLineDescription(error))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let offset = firstInvalidUTF8Offset(data) ?? 0
            throw error(option, path, "is not UTF-8 text (invalid byte at offset \(offset) of \(data.count)); expected \(expected)")
        }
        return text
    }

    /// Where the first byte that breaks UTF-8 sits (lead byte, continuation bytes, overlong
    /// forms and surrogates are not told apart: the offset is what a user needs).
    static func firstInvalidUTF8Offset(_ data: Data) -> Int? {
        let bytes = [UInt8](data)
        var i = 0
        while i < bytes.count {
            let lead = bytes[i]
            let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
            guard length > 0, i + length <= bytes.count,
                  bytes[(i + 1)..<(i + length)].allSatisfy({ $0 >> 6 == 0b10 }) else { return i }
            i += length
        }
        return nil
    }
}

/// One line for any error: Sinter's own message as it is, and for a Foundation (Cocoa or POSIX)
/// error the path it names and the system's reason, instead of the userInfo dictionary.
func oneLineDescription(_ error: Error) -> String {
    if let sinter = error as? SinterError { return sinter.description }
    let ns = error as NSError
    let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    var reason: String?
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(underlying.code)))
    } else if ns.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(ns.code)))
    }
    let text = reason ?? ns.localizedDescription
    let line = (path.map { "\($0): " } ?? "") + text
    return line.split(whereSeparator: \.isNewline).joined(separator: " ")
}

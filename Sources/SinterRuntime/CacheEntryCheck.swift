import Foundation
import SinterIR

/// The integrity record of one kernel cache entry, `library.txt`: the ABI the library was built
/// for and the size and SHA-256 of `kernel.so`. It is written into the private build directory
/// before the directory is renamed into place, so it is published atomically with the library,
/// and checked on every cache hit BEFORE dlopen: a truncated or altered library (a full disk, a
/// bad sector, a hand edit, a planted file) is never loaded, because loading runs its
/// constructors. A damaged entry is removed and rebuilt, with a notice in `CompileReport.notices`.
enum CacheEntryCheck {
    static let fileName = "library.txt"

    struct Record: Equatable {
        var abi: Int
        var bytes: Int
        var sha256: String

        var text: String { "sinter kernel library\nabi: \(abi)\nbytes: \(bytes)\nsha256: \(sha256)\n" }

        init(abi: Int, bytes: Int, sha256: String) {
            self.abi = abi
            self.bytes = bytes
            self.sha256 = sha256
        }

        /// nil unless `text` is exactly the four lines `text` writes.
        init?(parsing text: String) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard lines.count == 5, lines[0] == "sinter kernel library", lines[4].isEmpty,
                  lines[1].hasPrefix("abi: "), let abi = Int(lines[1].dropFirst(5)),
                  lines[2].hasPrefix("bytes: "), let bytes = Int(lines[2].dropFirst(7)),
                  lines[3].hasPrefix("sha256: ") else { return nil }
            let digest = String(lines[3].dropFirst(8))
            guard digest.count == 64, digest.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
            self.init(abi: abi, bytes: bytes, sha256: digest)
        }
    }

    /// The record of the library at `library` as it is now (nil when it cannot be read).
    static func record(ofLibrary library: URL, abi: Int) -> Record? {
        guard let data = try? Data(contentsOf: library) else { return nil }
        return Record(abi: abi, bytes: data.count, sha256: SHA256.hex(data))
    }

    /// Writes the record of `directory`'s library next to it.
    static func write(libraryIn directory: URL, libraryName: String, abi: Int) throws {
        let library = directory.appendingPathComponent(libraryName)
        guard let record = record(ofLibrary: library, abi: abi) else {
            throw SinterError.file(path: library.path, message: "cannot read the library the C compiler just wrote")
        }
        do {
            try record.text.write(to: directory.appendingPathComponent(fileName), atomically: false, encoding: .utf8)
        } catch {
            throw SinterError.file(path: directory.appendingPathComponent(fileName).path,
                                   message: "cannot write the kernel cache record: \(error.localizedDescription)")
        }
    }

    /// Why the entry in `directory` must not be loaded, or nil when its library is the one its
    /// record describes, built for `abi`.
    static func problem(entry directory: URL, libraryName: String, abi: Int) -> String? {
        let recordURL = directory.appendingPathComponent(fileName)
        guard let text = try? String(contentsOf: recordURL, encoding: .utf8) else {
            return "\(fileName) is missing or unreadable"
        }
        guard let stored = Record(parsing: text) else { return "\(fileName) is malformed" }
        guard stored.abi == abi else { return "it was built for ABI \(stored.abi), this runtime uses ABI \(abi)" }
        let library = directory.appendingPathComponent(libraryName)
        guard let actual = record(ofLibrary: library, abi: abi) else { return "\(libraryName) is unreadable" }
        guard actual.bytes == stored.bytes else {
            return "\(libraryName) has \(actual.bytes) bytes, \(fileName) says \(stored.bytes) (truncated or replaced)"
        }
        guard actual.sha256 == stored.sha256 else { return "the SHA-256 of \(libraryName) does not match \(fileName) (altered)" }
        return nil
    }
}

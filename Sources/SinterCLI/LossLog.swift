import Foundation
import Sinter
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// `loss.csv` (`step,epoch,phase,loss`), appended row by row with write(2) as training goes, so
/// a run that stops (an error, a diverged loss, kill -9) keeps every row it computed; flushed to
/// disk (fsync) with each checkpoint. On resume, rows after the checkpoint's step (written
/// after it by a run that then died) are dropped so the log and the checkpoint agree.
final class LossLog {
    static let header = "step,epoch,phase,loss\n"
    let path: String
    private let fd: Int32
    /// Rows in the file (those kept from before a resume included).
    private(set) var rows = 0

    init(path: String, resumingAt step: Int?) throws {
        self.path = path
        let existing = PathChecks.kind(path)
        guard existing == .missing || existing == .regularFile else {
            throw SinterError.file(path: path, message: "is \(existing.text); expected the loss log (a regular file)")
        }
        let continuing = step != nil && existing == .regularFile
        var keptRows = 0
        if let step, continuing {
            let text = try PathChecks.readText(path, option: "--resume", expected: "the loss log (\(Self.header.dropLast()))")
            var kept = Self.header
            for line in text.split(separator: "\n").dropFirst() {
                guard let rowStep = line.split(separator: ",").first.flatMap({ Int($0) }) else { continue }
                if rowStep <= step { kept += line + "\n"; keptRows += 1 }
            }
            try AtomicFile.write(Array(kept.utf8), to: path)
        }
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (continuing ? O_APPEND : O_TRUNC), 0o644)
        guard fd >= 0 else {
            throw SinterError.file(path: path, message: "cannot open the loss log: \(String(cString: strerror(errno)))")
        }
        rows = keptRows
        if !continuing { try write(Self.header) }
    }

    deinit { close(fd) }

    func append(step: Int, epoch: Int, phase: String, loss: Double) throws {
        try write("\(step),\(epoch),\(phase),\(loss)\n")
        rows += 1
    }

    /// On disk for good (called with every checkpoint).
    func sync() throws {
        guard fsync(fd) == 0 else {
            throw SinterError.file(path: path, message: "cannot flush the loss log to disk: \(String(cString: strerror(errno)))")
        }
    }

    private func write(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SinterError.file(path: path, message: "cannot write the loss log: \(String(cString: strerror(errno)))")
            }
            bytes = bytes.dropFirst(n)
        }
    }
}

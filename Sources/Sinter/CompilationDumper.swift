import Foundation
import SinterCodegen
import SinterIO
import SinterIR
import SinterRuntime

/// Writes everything one compile did into a folder, like XLA's dump directory
/// (`SINTER_DUMP=<dir>`): `<dir>/<graph>-<key>/` with
/// `00-traced.ir`, `NN-after-<pass>.ir`, `passes.txt`, `kernels.txt`, `plan.txt`, `memory.txt`,
/// `memory.svg`, `kernel.c`, `summary.json`, `graph.dot`, `command.txt` and `key.txt`.
public struct CompilationDumper {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The graph's name as one path component: a name from an IR file may hold `/`, `..`,
    /// control bytes or thousands of characters, and must not choose where the dump goes.
    public static func folderName(_ graphName: String) -> String {
        let safe = String(graphName.unicodeScalars.prefix(64).map { scalar -> Character in
            let c = Character(scalar)
            return scalar.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-") ? c : "_"
        })
        return safe.isEmpty ? "graph" : safe
    }

    @discardableResult
    public func write(_ compilation: Compilation, report: CompileReport) throws -> String {
        let folder = "\(directory)/\(Self.folderName(compilation.optimized.name))-\(report.key.prefix(12))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func put(_ name: String, _ text: String) throws {
            do { try text.write(toFile: "\(folder)/\(name)", atomically: true, encoding: .utf8) } catch {
                throw SinterError.file(path: "\(folder)/\(name)", message: "cannot write dump: \(error.localizedDescription)")
            }
        }
        try put("00-traced.ir", compilation.traced.text)
        for (index, stage) in compilation.stages.enumerated() {
            try put(String(format: "%02d-after-%@.ir", index + 1, stage.report.pass), stage.graph.text)
        }
        try put("passes.txt", compilation.reportLines.joined(separator: "\n") + "\n")
        try put("kernels.txt", compilation.kernelsText)
        try put("plan.txt", compilation.plan.text)
        try put("memory.txt", memoryTable(compilation.program.info.memory, top: 20))
        try put("memory.svg", memorySVG(compilation.program.info.memory))
        try put("kernel.c", compilation.program.source)
        try put("summary.json", compilation.summaryJSON)
        try put("graph.dot", graphDOT(compilation.optimized))
        let cacheEntry = report.directory
        for name in ["command.txt", "key.txt"] {
            if let text = try? String(contentsOfFile: "\(cacheEntry)/\(name)", encoding: .utf8) { try put(name, text) }
        }
        return folder
    }
}

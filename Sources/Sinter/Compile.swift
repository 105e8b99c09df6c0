import Foundation
import SinterCodegen
import SinterIR
import SinterPasses
import SinterRuntime

/// How compileGraph runs: which passes, and where to dump what it did.
public struct CompileOptions {
    /// Graph passes switched off by name (also `SINTER_DISABLE=a,b`).
    public var disabledPasses: Set<String> = []
    /// Called with each pass's report and the graph after it.
    public var afterPass: ((PassReport, Graph) throws -> Void)?
    /// `SINTER_DUMP=<dir>`: write every stage of every compile there (see `CompilationDumper`).
    public var dumpDirectory: String?
    /// Fusion, memory planning, scheduling, profiling (`SINTER_NO_FUSE`, `SINTER_NO_PLAN`, ...).
    public var codegen = CodegenOptions.fromEnvironment()
    /// Most bytes a compiled graph's buffers may take (`SINTER_MAX_BYTES`, e.g. `512M`); nil:
    /// physical memory. See `MemoryGuard`.
    public var memoryLimit: Int?
    /// `SINTER_MAX_BYTES` as given when it is not a byte count (compileGraph refuses it).
    var invalidMemoryLimit: String?
    /// Why `SINTER_STRATEGY` or `SINTER_SPLIT_WORK` could not be read (compileProgram refuses it).
    var invalidStrategy: String?

    public init() {}

    /// `memoryLimit`, or an error when `SINTER_MAX_BYTES` was given but is not a byte count. For
    /// callers that compile a CProgram themselves (`sinter bench`) as well as `compileGraph`.
    public func checkedMemoryLimit() throws -> Int? {
        if let text = invalidMemoryLimit {
            throw SinterError.runtime(message: "SINTER_MAX_BYTES='\(SinterError.excerpt(text.utf8, limit: 40))' is not a byte count (expected e.g. 1073741824, 512M or 8G)")
        }
        return memoryLimit
    }

    /// `invalidStrategy` (a bad `SINTER_STRATEGY` or `SINTER_SPLIT_WORK`) as an error, for callers that emit C themselves (`sinter bench`) as well
    /// as `compileProgram`.
    public func checkStrategies() throws {
        if let invalidStrategy { throw SinterError.runtime(message: invalidStrategy) }
    }

    /// Options from the environment: `SINTER_DISABLE` (comma-separated pass names), `SINTER_DUMP`,
    /// `SINTER_CHECK_NUMERICS=1` and `SINTER_CHECK_BOUNDS=1` (checking builds),
    /// `SINTER_STRATEGY=conv2d:gemm-window,matmul:loops` (kernel strategies, Docs/strategies.md),
    /// `SINTER_SPLIT_WORK=N` (the work from which a kernel splits over threads, Docs/performance.md).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> CompileOptions {
        var options = CompileOptions()
        if let list = environment["SINTER_DISABLE"] {
            options.disabledPasses = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        if let directory = environment["SINTER_DUMP"], !directory.isEmpty { options.dumpDirectory = directory }
        options.codegen = CodegenOptions.fromEnvironment(environment)
        // The checking builds (CheckBuild.swift): also `--check-numerics` / `--check-bounds`.
        options.codegen.checkNumerics = environmentFlag(environment, "SINTER_CHECK_NUMERICS")
        options.codegen.checkBounds = environmentFlag(environment, "SINTER_CHECK_BOUNDS")
        if let text = environment["SINTER_STRATEGY"], !text.isEmpty {
            do {
                options.codegen.strategies = try CodegenOptions.parseStrategies(text)
            } catch SinterError.runtime(let message) {
                options.invalidStrategy = "SINTER_STRATEGY: \(message)"
            } catch {
                options.invalidStrategy = "SINTER_STRATEGY: \(error)"
            }
        }
        if let text = environment["SINTER_SPLIT_WORK"], !text.isEmpty {
            if let work = Int(text.trimmingCharacters(in: .whitespaces)), work >= 0 {
                options.codegen.splitWork = work
            } else {
                options.invalidStrategy = "SINTER_SPLIT_WORK='\(SinterError.excerpt(text.utf8, limit: 40))' is not a count of element operations "
                    + "(expected a whole number >= 0, e.g. \(CodegenOptions.defaultSplitWork))"
            }
        }
        if let text = environment["SINTER_MAX_BYTES"], !text.isEmpty {
            options.memoryLimit = MemoryGuard.parseByteCount(text)
            if options.memoryLimit == nil { options.invalidMemoryLimit = text }
        }
        return options
    }
}

/// Verifies `graph` and runs the graph passes on it.
public func optimizeGraph(_ graph: Graph, options: CompileOptions = .fromEnvironment()) throws -> (Graph, [PassReport]) {
    try graph.verify()
    let pipeline = PassPipeline(passes: PassPipeline.standardPasses(epilogueFusion: options.codegen.fuse),
                                disabled: options.disabledPasses)
    return try pipeline.run(graph) { report, graph in try options.afterPass?(report, graph) }
}

/// Graph -> verified -> passes -> C -> compiled (cached) -> loaded. The one call most users need.
public func compileGraph(_ graph: Graph, options: CompileOptions = .fromEnvironment()) throws -> Executable {
    let memoryLimit = try options.checkedMemoryLimit()
    let compilation = try compileProgram(graph, options: options)
    let executable = try Runtime.compile(compilation.program, memoryLimit: memoryLimit)
    for notice in executable.report.notices {
        FileHandle.standardError.write(Data("sinter: \(notice)\n".utf8))
    }
    if let directory = options.dumpDirectory {
        try CompilationDumper(directory: directory).write(compilation, report: executable.report)
    }
    return executable
}

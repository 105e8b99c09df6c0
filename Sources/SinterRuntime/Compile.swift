import Foundation
import SinterCodegen

/// The front door: C program in, runnable executable out, through the kernel cache.
/// (Graph -> CProgram is `emitC` in SinterCodegen; the caller does that step.)
public enum Runtime {
    /// Compiles (or fetches from the cache) and loads `program`, configured from the process
    /// environment (`SINTER_CC`, `SINTER_CFLAGS`, `SINTER_NO_CACHE`, `XDG_CACHE_HOME`).
    public static func compile(_ program: CProgram) throws -> Executable {
        try compile(program, cache: KernelCache())
    }

    /// Same, with an explicit cache (tests, or callers that compile many programs and want to
    /// resolve the compiler once).
    public static func compile(_ program: CProgram, cache: KernelCache) throws -> Executable {
        let report = try cache.compile(program)
        return try Executable(program: program, report: report)
    }
}

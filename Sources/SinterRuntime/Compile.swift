import Foundation
import SinterCodegen

/// The front door: C program in, runnable executable out, through the kernel cache.
/// (Graph -> CProgram is `emitC` in SinterCodegen; the caller does that step.)
public enum Runtime {
    /// Compiles (or fetches from the cache) and loads `program`, configured from the process
    /// environment (`SINTER_CC`, `SINTER_CFLAGS`, `SINTER_NO_CACHE`, `XDG_CACHE_HOME`).
    /// `memoryLimit`: see `MemoryGuard` (nil: physical memory).
    public static func compile(_ program: CProgram, memoryLimit: Int? = nil) throws -> Executable {
        try MemoryGuard.check(program, limit: memoryLimit)
        return try compile(program, cache: KernelCache(), memoryLimit: memoryLimit)
    }

    /// Same, with an explicit cache (tests, or callers that compile many programs and want to
    /// resolve the compiler once). A program that cannot fit is refused before the C compiler runs.
    public static func compile(_ program: CProgram, cache: KernelCache, memoryLimit: Int? = nil) throws -> Executable {
        try MemoryGuard.check(program, limit: memoryLimit)
        let report = try cache.compile(program)
        return try Executable(program: program, report: report, memoryLimit: memoryLimit)
    }
}

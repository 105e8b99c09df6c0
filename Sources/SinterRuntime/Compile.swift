import Foundation
import SinterCodegen

/// The front door: C program in, runnable executable out, through the kernel cache.
/// (Graph -> CProgram is `emitC` in SinterCodegen; the caller does that step.)
public enum Runtime {
    /// Compiles (or fetches from `cache`) and loads `program`. A program that cannot fit is
    /// refused before the C compiler runs. (The umbrella `Sinter` adds `compile(_:memoryLimit:)`,
    /// with the cache the process environment names.)
    public static func compile(_ program: CProgram, cache: KernelCache, memoryLimit: Int? = nil) throws -> Executable {
        try MemoryGuard.check(program, limit: memoryLimit)
        let report = try cache.compile(program)
        return try Executable(program: program, report: report, memoryLimit: memoryLimit)
    }
}

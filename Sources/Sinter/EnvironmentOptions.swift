import Foundation
import SinterCodegen
import SinterRuntime

/// The process environment, read here and in the CLI only: the modules below the umbrella take
/// their settings as values (CodegenOptions, a KernelCache's `environment:` dictionary), so a
/// library user who passes options gets exactly those, whatever the environment says.

/// A variable set to anything but empty, 0, false or no.
func environmentFlag(_ environment: [String: String], _ name: String) -> Bool {
    environment[name].map { !["", "0", "false", "no"].contains($0.lowercased()) } ?? false
}

extension CodegenOptions {
    /// `SINTER_NO_FUSE=1` switches fusion off; `SINTER_NO_PLAN=1` memory planning,
    /// `SINTER_NO_SCHEDULE=1` the scheduling pass.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> CodegenOptions {
        CodegenOptions(fuse: !environmentFlag(environment, "SINTER_NO_FUSE"),
                       plan: !environmentFlag(environment, "SINTER_NO_PLAN"),
                       schedule: !environmentFlag(environment, "SINTER_NO_SCHEDULE"))
    }
}

extension KernelCache {
    /// The cache the environment names: `$XDG_CACHE_HOME/sinter` (or `~/.cache/sinter`),
    /// `SINTER_NO_CACHE`, and the compiler settings `SINTER_CC`, `SINTER_CFLAGS`, `PATH`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KernelCache {
        try KernelCache(environment: environment)
    }
}

extension Runtime {
    /// Compiles (or fetches from the cache the environment names) and loads `program`.
    /// `memoryLimit`: see `MemoryGuard` (nil: physical memory).
    public static func compile(_ program: CProgram, memoryLimit: Int? = nil) throws -> Executable {
        try MemoryGuard.check(program, limit: memoryLimit)
        return try compile(program, cache: KernelCache.fromEnvironment(), memoryLimit: memoryLimit)
    }
}

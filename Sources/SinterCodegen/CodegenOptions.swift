import Foundation
import SinterIR
import SinterPasses

/// How `emitC` generates code. The defaults come from the environment, so every caller of
/// `compileGraph` honours `SINTER_NO_FUSE=1` without plumbing.
public struct CodegenOptions: Sendable, Equatable {
    /// Fuse nodes into kernels (Docs/fusion.md). Off: one kernel per materialised node.
    public var fuse: Bool
    /// Emit `#define SINTER_PROFILE 1` so the library times every kernel (Docs/abi.md,
    /// "Profiling"). The source differs, so the cache key does too.
    public var profile: Bool
    /// Plan the arena (Docs/memory.md): liveness, in-place reuse, best-fit offsets. Off
    /// (`SINTER_NO_PLAN=1`): the naive plan, one region per buffer, and node order.
    public var plan: Bool
    /// Reorder the pure kernels for a lower peak of live bytes (with `plan`; off:
    /// `SINTER_NO_SCHEDULE=1`).
    public var schedule: Bool
    /// The checking build of `--check-numerics` (CheckBuild.swift): every kernel's output is
    /// scanned for NaN/Inf and the first one stops the run with an error naming the op and its
    /// source line. Fusion is off in this build, so every op writes its own buffer.
    public var checkNumerics: Bool
    /// The checking build of `--check-bounds`: guard zones of `guardBytes` around every arena
    /// buffer, filled before and verified after each kernel that writes the buffer.
    public var checkBounds: Bool
    /// Kernel strategies forced per op kind (`["conv2d": "gemm-window", "matmul": "loops"]`);
    /// kinds not named get the strategy their cost rule picks (StrategyRegistry.swift,
    /// Docs/strategies.md). An unknown kind or name is an error listing the choices; a forced
    /// strategy that cannot compute a kernel leaves that kernel to the cost rule, with the
    /// reason in the plan. The umbrella module reads `SINTER_STRATEGY` into it
    /// (`parseStrategies`).
    public var strategies: [String: String]
    /// The work (element operations, Threading.swift) from which a kernel's parallel loops split
    /// over the OpenMP threads; smaller kernels run on the calling thread with no parallel region.
    /// 0: every kernel that has a parallel loop splits; `Int.max`: none does. The umbrella module
    /// reads `SINTER_SPLIT_WORK` into it.
    public var splitWork: Int

    /// Bytes of each guard zone in a `checkBounds` build (a multiple of the arena alignment).
    public static let guardBytes = 64

    public init(fuse: Bool = true, profile: Bool = false, plan: Bool = true, schedule: Bool = true,
                checkNumerics: Bool = false, checkBounds: Bool = false, strategies: [String: String] = [:],
                splitWork: Int = CodegenOptions.defaultSplitWork) {
        self.fuse = fuse
        self.profile = profile
        self.plan = plan
        self.schedule = schedule
        self.checkNumerics = checkNumerics
        self.checkBounds = checkBounds
        self.strategies = strategies
        self.splitWork = splitWork
    }

    /// `splitWork` unless told otherwise: about 20-40 us of serial work (Threading.swift).
    public static let defaultSplitWork = ThreadingRule.defaultSplitWork

    /// True for either checking build (the program then carries a `CheckTable`).
    public var isChecking: Bool { checkNumerics || checkBounds }
}

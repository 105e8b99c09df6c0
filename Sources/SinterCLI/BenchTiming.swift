import Foundation
import Sinter

/// Wall times of repeated runs, in milliseconds, with the two figures every bench reports.
struct Timings {
    private(set) var milliseconds: [Double] = []

    mutating func append(_ ms: Double) { milliseconds.append(ms) }

    var count: Int { milliseconds.count }
    /// The upper median (the middle run of an odd count), as `sinter bench` always reported it.
    var median: Double { milliseconds.isEmpty ? .nan : milliseconds.sorted()[milliseconds.count / 2] }
    var minimum: Double { milliseconds.min() ?? .nan }

    /// Runs `body` once and returns its wall time in milliseconds.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }
}

/// A program built with `SINTER_PROFILE` (Docs/abi.md, "Profiling"): the library adds up the
/// wall time of each kernel across runs until reset.
struct KernelProfiler {
    let executable: Executable
    private typealias Profile = @convention(c) (UnsafeMutablePointer<UnsafePointer<Double>?>,
                                                UnsafeMutablePointer<UnsafePointer<UnsafePointer<CChar>?>?>) -> Int32
    private typealias Reset = @convention(c) () -> Void
    private let profile: Profile
    private let resetEntry: Reset

    /// Compiles the profiling build of `graph` (through the kernel cache) and seeds its parameters.
    init(_ graph: Graph) throws {
        // The same options as the timed build (SINTER_STRATEGY included), plus the profiling counters.
        var options = CompileOptions.fromEnvironment().codegen
        options.profile = true
        let program = try emitC(graph, options: options)
        executable = try Runtime.compile(program, memoryLimit: try CompileOptions.fromEnvironment().checkedMemoryLimit())
        try executable.initializeParameters(seed: 0)
        guard let profileSymbol = executable.library.symbol("sinter_profile"),
              let resetSymbol = executable.library.symbol("sinter_profile_reset") else {
            throw SinterError.runtime(message: "the profiling build does not export sinter_profile")
        }
        profile = unsafeBitCast(profileSymbol, to: Profile.self)
        resetEntry = unsafeBitCast(resetSymbol, to: Reset.self)
    }

    func reset() { resetEntry() }

    /// Seconds per kernel since the last reset, in kernel order.
    func read() -> [(name: String, seconds: Double)] {
        var seconds: UnsafePointer<Double>?
        var names: UnsafePointer<UnsafePointer<CChar>?>?
        let count = Int(profile(&seconds, &names))
        return (0..<count).map { (String(cString: names![$0]!), seconds![$0]) }
    }
}

/// The OpenMP team size a loaded library's parallel loops get (`omp_get_max_threads` of the
/// libgomp it links, which reads OMP_NUM_THREADS when first loaded); 1 when it was built
/// without OpenMP.
func openMPThreads(_ executable: Executable) -> Int {
    guard let symbol = executable.library.symbol("omp_get_max_threads") else { return 1 }
    typealias MaxThreads = @convention(c) () -> Int32
    return Int(unsafeBitCast(symbol, to: MaxThreads.self)())
}

/// Prints one bench record as a JSON line (sorted keys), as the peer scripts print theirs.
func printJSONLine(_ record: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

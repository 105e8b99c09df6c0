#if SINTER_LIBFUZZER
import Foundation
import Sinter

// libFuzzer's driver, from libclang_rt.fuzzer (linked by -sanitize=fuzzer). Calling it from our
// own main keeps the archive's main() out of the link, so the executable target stays normal.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

nonisolated(unsafe) private var libFuzzerTarget = FuzzTarget.safetensors
nonisolated(unsafe) private var libFuzzerContext: FuzzContext?

/// Runs libFuzzer on `target`: every input goes through the real parser; a SinterError is an
/// expected outcome, any other error aborts (so libFuzzer saves the input as a crash).
public func runLibFuzzer(_ target: FuzzTarget, arguments: [String]) -> Int32 {
    libFuzzerTarget = target
    libFuzzerContext = try? FuzzContext()
    var cArguments = arguments.map { strdup($0) } + [nil]
    var argc = Int32(arguments.count)
    return cArguments.withUnsafeMutableBufferPointer { buffer in
        var argv = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            do {
                try libFuzzerTarget.parse(input, context: libFuzzerContext!)
            } catch is SinterError {
            } catch {
                fatalError("\(libFuzzerTarget.rawValue): not a SinterError: \(error)")
            }
            return 0
        }
    }
}
#endif

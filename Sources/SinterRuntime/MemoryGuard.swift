import Foundation
import SinterCodegen
import SinterIR

/// The run-time memory guard: a program whose buffers cannot fit is refused with the numbers,
/// before the C compiler runs and before any allocation, instead of dying in malloc or being
/// killed by the OOM killer halfway through.
///
/// What counts is what `Executable` allocates: the arena, the parameter block, and one staging
/// buffer per input and output, each rounded up to `Executable.alignment`. The limit is a
/// parameter (the CLI sets it from `SINTER_MAX_BYTES`); by default the machine's physical memory.
public enum MemoryGuard {
    /// What a program will allocate, in bytes (rounded as `Executable` rounds them).
    public struct Plan: Sendable, Equatable, CustomStringConvertible {
        public var arena: Int
        public var parameters: Int
        public var io: Int
        public var total: Int { arena + parameters + io }

        public var description: String {
            "\(total) bytes (arena \(arena) + parameters \(parameters) + I/O \(io))"
        }
    }

    /// The default limit: physical memory (at least 1 byte, clamped to Int).
    public static var physicalMemory: Int { max(1, Int(clamping: ProcessInfo.processInfo.physicalMemory)) }

    /// The bytes `program` needs, with overflow-checked arithmetic (a CProgram can be built by hand).
    public static func plan(_ program: CProgram) throws -> Plan {
        func fail(_ what: String) -> SinterError {
            .runtime(message: "the program's \(what) does not fit in Int bytes; refusing to allocate it")
        }
        func rounded(_ bytes: Int, _ what: String) throws -> Int {
            guard bytes >= 0 else { throw SinterError.runtime(message: "the program's \(what) has a negative size (\(bytes) bytes)") }
            let unit = Executable.alignment
            let (padded, overflow) = bytes.addingReportingOverflow(unit - 1)
            guard !overflow else { throw fail(what) }
            return max(unit, padded / unit * unit)
        }
        var io = 0
        for (role, slots) in [("input", program.inputs), ("output", program.outputs)] {
            for slot in slots {
                let what = "\(role) '\(slot.name)' (\(slot.type))"
                guard let count = SizeLimits.elementCount(slot.type.shape) else { throw fail(what) }
                let (bytes, overflow) = count.multipliedReportingOverflow(by: slot.type.dtype.byteSize)
                guard !overflow, let sum = SizeLimits.sum(io, try rounded(bytes, what)) else { throw fail(what) }
                io = sum
            }
        }
        let plan = Plan(arena: try rounded(program.arenaBytes, "arena"), parameters: try rounded(program.paramBlockBytes, "parameter block"), io: io)
        guard SizeLimits.sum(plan.arena, plan.parameters).flatMap({ SizeLimits.sum($0, io) }) != nil else { throw fail("buffers together") }
        return plan
    }

    /// Throws unless `program`'s buffers fit in `limit` bytes (nil: physical memory).
    @discardableResult
    public static func check(_ program: CProgram, limit: Int?) throws -> Plan {
        let plan = try plan(program)
        let source = limit == nil ? "this machine's physical memory" : "the memory limit (SINTER_MAX_BYTES)"
        let limit = limit ?? physicalMemory
        guard plan.total <= limit else {
            throw SinterError.runtime(message: "the graph needs \(plan) but \(source) is \(limit) bytes; "
                + "use a smaller batch or model, or raise the limit")
        }
        return plan
    }

    /// Reads a byte count as `SINTER_MAX_BYTES` gives it: digits, optionally followed by K, M, G
    /// or T (powers of 1024). nil for anything else, zero, or an overflow.
    public static func parseByteCount(_ text: String) -> Int? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        var scale = 1
        if let last = digits.last, let power = ["K": 10, "M": 20, "G": 30, "T": 40][last.uppercased()] {
            scale = 1 << power
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits), value > 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }
}

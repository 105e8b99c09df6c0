import Foundation
import SinterCodegen
import SinterIR

/// A loaded kernel plus the memory it runs on: the scratch arena, the parameter block that holds
/// every param and state tensor between runs, and staging buffers for inputs and outputs.
///
/// All buffers are allocated once here, so a training loop's `run` does no allocation beyond the
/// output tensors it returns. Not thread-safe: one arena means one run at a time (use one
/// Executable per thread).
public final class Executable {
    public let program: CProgram
    public let report: CompileReport
    public let library: SharedLibrary

    /// Byte alignment of the arena, the parameter block and the staging buffers: a cache line,
    /// and enough for any vector load the generated code may use.
    public static let alignment = 64

    private let arena: UnsafeMutableRawPointer
    private let params: UnsafeMutableRawPointer
    /// `io` as passed to the entry: inputs, then outputs.
    private let io: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let inputBuffers: [UnsafeMutableRawPointer]
    private let outputBuffers: [UnsafeMutableRawPointer]
    private let persistentIndex: [String: Int]

    /// - Parameter memoryLimit: the most bytes the buffers may take (nil: physical memory);
    ///   see `MemoryGuard`. Checked before anything is loaded or allocated.
    public init(program: CProgram, report: CompileReport, memoryLimit: Int? = nil) throws {
        try Self.validate(program)
        try MemoryGuard.check(program, limit: memoryLimit)
        library = try SharedLibrary(path: report.libraryPath)
        self.program = program
        self.report = report
        // All or nothing: a failed allocation frees the ones before it.
        var allocated: [UnsafeMutableRawPointer] = []
        func allocate(_ bytes: Int, _ what: String) throws -> UnsafeMutableRawPointer {
            guard let pointer = alignedAllocate(bytes) else {
                for earlier in allocated { free(earlier) }
                throw SinterError.runtime(message: "out of memory allocating \(bytes) bytes for the \(what)")
            }
            allocated.append(pointer)
            return pointer
        }
        arena = try allocate(program.arenaBytes, "arena")
        params = try allocate(program.paramBlockBytes, "parameter block")
        inputBuffers = try program.inputs.map { try allocate($0.type.byteSize, "input \(quoted($0.name))") }
        outputBuffers = try program.outputs.map { try allocate($0.type.byteSize, "output \(quoted($0.name))") }
        let ioCount = program.inputs.count + program.outputs.count
        io = UnsafeMutablePointer.allocate(capacity: max(1, ioCount))
        for (index, buffer) in (inputBuffers + outputBuffers).enumerated() { io[index] = buffer }
        persistentIndex = Dictionary(uniqueKeysWithValues: program.persistent.enumerated().map { ($1.name, $0) })
    }

    deinit {
        free(arena)
        free(params)
        for buffer in inputBuffers + outputBuffers { free(buffer) }
        io.deallocate()
    }

    /// Rejects a program whose layout would let the kernel or this class touch memory outside its
    /// buffers (an emitter bug, but one that would otherwise surface as heap corruption).
    private static func validate(_ program: CProgram) throws {
        func fail(_ message: String) -> SinterError { .runtime(message: "inconsistent CProgram: \(message)") }
        guard program.arenaBytes >= 0, program.paramBlockBytes >= 0 else {
            throw fail("negative arena (\(program.arenaBytes)) or parameter block (\(program.paramBlockBytes)) size")
        }
        if let checks = program.checks, !checks.fits(arenaBytes: program.arenaBytes) {
            throw fail("the check record at arena offset \(checks.recordOffset) does not fit the \(program.arenaBytes)-byte arena")
        }
        for (role, slots) in [("persistent", program.persistent), ("input", program.inputs), ("output", program.outputs)] {
            var seen = Set<String>()
            for slot in slots {
                guard seen.insert(slot.name).inserted else { throw fail("\(role) \(quoted(slot.name)) appears twice") }
                guard slot.type.shape.allSatisfy({ $0 >= 0 }) else { throw fail("\(role) \(quoted(slot.name)) has shape \(slot.type)") }
            }
        }
        for slot in program.persistent {
            guard let count = SizeLimits.elementCount(slot.type.shape),
                  let bytes = Optional(count.multipliedReportingOverflow(by: slot.type.dtype.byteSize)), !bytes.overflow,
                  let end = SizeLimits.sum(slot.offset, bytes.partialValue) else {
                throw fail("persistent \(quoted(slot.name)) (\(slot.type)) at offset \(slot.offset) does not fit in Int bytes")
            }
            guard slot.offset >= 0, end <= program.paramBlockBytes else {
                throw fail("persistent \(quoted(slot.name)) (\(slot.type)) at offset \(slot.offset) ends at byte \(end), past the \(program.paramBlockBytes)-byte parameter block")
            }
            guard slot.offset % slot.type.dtype.byteSize == 0 else {
                throw fail("persistent \(quoted(slot.name)) offset \(slot.offset) is not aligned to its \(slot.type.dtype) elements")
            }
        }
    }

    // MARK: - Running

    /// The names of the program's inputs, in order.
    public var inputNames: [String] { program.inputs.map(\.name) }

    /// Runs the program once. Every program input must be present with exactly its declared shape;
    /// other dtypes are converted. A name the program does not take is an error (a misspelt feed
    /// would otherwise be dropped without a word): callers holding more tensors than one program
    /// takes pick its `inputNames`.
    public func run(_ inputs: [String: HostTensor]) throws -> [String: HostTensor] {
        try checkNoUnknownInputs(inputs.keys)
        let missing = program.inputs.filter { inputs[$0.name] == nil }
        if !missing.isEmpty {
            let needed = missing.map { "\(quoted($0.name)) (\($0.type))" }.joined(separator: ", ")
            // Names given come from a file: cut each, and list a readable number of them.
            let givenNames = inputs.keys.sorted()
            let given = givenNames.prefix(20).map(quoted).joined(separator: ", ")
                + (givenNames.count > 20 ? " and \(givenNames.count - 20) more" : "")
            throw SinterError.runtime(message: "missing input\(missing.count == 1 ? "" : "s") \(needed); given: \(given.isEmpty ? "none" : given); "
                + "the program takes: \(program.inputs.map { "\(quoted($0.name)) (\($0.type))" }.joined(separator: ", "))")
        }
        for (index, slot) in program.inputs.enumerated() {
            let tensor = inputs[slot.name]!
            guard tensor.shape == slot.type.shape else {
                throw SinterError.runtime(message: "input \(quoted(slot.name)): expected \(slot.type), given shape \(shapeText(tensor.shape)) (\(tensor.storage.rawValue))")
            }
            copyIn(tensor, as: slot.type.dtype, to: inputBuffers[index])
        }
        try call()
        var results: [String: HostTensor] = [:]
        results.reserveCapacity(program.outputs.count)
        for (index, slot) in program.outputs.enumerated() {
            let bytes = Array(UnsafeRawBufferPointer(start: outputBuffers[index], count: slot.type.byteSize))
            results[slot.name] = HostTensor(storage: StorageType(slot.type.dtype), shape: slot.type.shape, bytes: bytes)
        }
        return results
    }

    /// Throws for the first names (sorted) that are not inputs of the program, with a "did you
    /// mean" and the inputs it takes; a persistent tensor's name says how to set it instead.
    private func checkNoUnknownInputs<Names: Sequence>(_ names: Names) throws where Names.Element == String {
        let taken = Set(program.inputs.map(\.name))
        let unknown = names.filter { !taken.contains($0) }.sorted()
        guard !unknown.isEmpty else { return }
        let described = unknown.prefix(5).map { name -> String in
            if persistentIndex[name] != nil { return "\(quoted(name)) (a persistent tensor: set it with setPersistent or loadPersistent)" }
            return quoted(name) + NameSuggestions.hint(for: name, among: inputNames)
        }
        throw SinterError.runtime(message: "unknown input\(unknown.count == 1 ? "" : "s") \(described.joined(separator: ", "))"
            + (unknown.count > 5 ? " and \(unknown.count - 5) more" : "") + "; the program takes: "
            + (program.inputs.isEmpty ? "no inputs" : program.inputs.map { "\(quoted($0.name)) (\($0.type))" }.joined(separator: ", ")))
    }

    /// Runs on caller-owned buffers, with no checks beyond the counts and no copies: each pointer
    /// must address a dense row-major buffer of its slot's type (`program.inputs`/`outputs` order).
    public func run(inputPointers: [UnsafeRawPointer], outputPointers: [UnsafeMutableRawPointer]) throws {
        guard inputPointers.count == program.inputs.count, outputPointers.count == program.outputs.count else {
            throw SinterError.runtime(message: "run(inputPointers:outputPointers:) got \(inputPointers.count) inputs and \(outputPointers.count) outputs; "
                + "the program takes \(program.inputs.count) inputs and \(program.outputs.count) outputs")
        }
        for (index, pointer) in inputPointers.enumerated() { io[index] = UnsafeMutableRawPointer(mutating: pointer) }
        for (index, pointer) in outputPointers.enumerated() { io[program.inputs.count + index] = pointer }
        // Point io back at the staging buffers so the dictionary form never sees stale pointers.
        defer { for (index, buffer) in (inputBuffers + outputBuffers).enumerated() { io[index] = buffer } }
        try call()
    }

    /// Runs the entry; a checking build's failed check (CheckBuild.swift) is thrown.
    private func call() throws {
        library.entry(arena.assumingMemoryBound(to: UInt8.self), params.assumingMemoryBound(to: UInt8.self), UnsafePointer(io))
        if let checks = program.checks, let error = checks.verdict(arena: arena) { throw error }
    }

    // MARK: - Persistent state

    public var persistentNames: [String] { program.persistent.map(\.name) }

    private func slot(_ name: String) throws -> CProgram.Slot {
        guard let index = persistentIndex[name] else {
            throw SinterError.runtime(message: "no persistent tensor named \(quoted(name)); the program has: \(persistentNames.map(quoted).joined(separator: ", "))")
        }
        return program.persistent[index]
    }

    /// A copy of a param or state tensor as it is now.
    public func persistent(_ name: String) throws -> HostTensor {
        let slot = try slot(name)
        let bytes = Array(UnsafeRawBufferPointer(start: params + slot.offset, count: slot.type.byteSize))
        return HostTensor(storage: StorageType(slot.type.dtype), shape: slot.type.shape, bytes: bytes)
    }

    public func setPersistent(_ name: String, _ value: HostTensor) throws {
        let slot = try slot(name)
        try checkShape(slot, value)
        copyIn(value, as: slot.type.dtype, to: params + slot.offset)
    }

    /// Sets every persistent tensor named in `tensors` (names the program does not have are
    /// ignored, so a checkpoint of a bigger model loads). With `requireAll`, every persistent
    /// tensor must be given. All checks happen before any write: a failed load changes nothing.
    public func loadPersistent(_ tensors: [String: HostTensor], requireAll: Bool) throws {
        if requireAll {
            let missing = program.persistent.filter { tensors[$0.name] == nil }
            if !missing.isEmpty {
                throw SinterError.runtime(message: "missing \(missing.count) persistent tensor\(missing.count == 1 ? "" : "s"): "
                    + missing.map { "\(quoted($0.name)) (\($0.type))" }.joined(separator: ", "))
            }
        }
        for slot in program.persistent { if let value = tensors[slot.name] { try checkShape(slot, value) } }
        for slot in program.persistent { if let value = tensors[slot.name] { copyIn(value, as: slot.type.dtype, to: params + slot.offset) } }
    }

    /// Copies every persistent tensor `other` also has (same name and type) from `other` into
    /// this program: two compiled graphs of one model (a training step and its evaluation, or
    /// two batch sizes) share weights this way. Returns how many tensors were copied.
    @discardableResult
    public func copyPersistent(from other: Executable) -> Int {
        var copied = 0
        for slot in program.persistent {
            guard let index = other.persistentIndex[slot.name] else { continue }
            let source = other.program.persistent[index]
            guard source.type == slot.type else { continue }
            memcpy(params + slot.offset, other.params + source.offset, slot.type.byteSize)
            copied += 1
        }
        return copied
    }

    /// Every persistent tensor by name, as it is now (for checkpoints and export).
    public func persistentSnapshot() -> [String: HostTensor] {
        var result: [String: HostTensor] = [:]
        for slot in program.persistent { result[slot.name] = try? persistent(slot.name) }
        return result
    }

    private func checkShape(_ slot: CProgram.Slot, _ value: HostTensor) throws {
        guard value.shape == slot.type.shape else {
            throw SinterError.runtime(message: "persistent \(quoted(slot.name)): expected shape \(shapeText(slot.type.shape)) (\(slot.type)), given shape \(shapeText(value.shape)) (\(value.storage.rawValue))")
        }
    }

    /// Fills every persistent tensor from its initializer (a slot without one starts at zeros).
    /// Values depend only on `seed` and the slot's name; see `ParameterInitializer`.
    public func initializeParameters(seed: UInt64) throws {
        // Parse everything first so an unknown initializer leaves the block untouched.
        var plans: [(CProgram.Slot, ParameterInitializer)] = []
        for slot in program.persistent {
            let text = slot.initializer ?? "zeros"
            guard let initializer = ParameterInitializer(text) else {
                throw SinterError.runtime(message: "persistent \(quoted(slot.name)) (\(slot.type)): unknown initializer \(quoted(text)); "
                    + "known: zeros, ones, glorot_uniform, he_normal, normal:<std>, uniform:<low>:<high>")
            }
            if slot.type.dtype == .i32 && initializer != .zeros && initializer != .ones {
                throw SinterError.runtime(message: "persistent \(quoted(slot.name)) (\(slot.type)): initializer \(quoted(text)) is not defined for i32; use zeros or ones")
            }
            plans.append((slot, initializer))
        }
        for (slot, initializer) in plans {
            var random = SlotRandom(seed: seed, name: slot.name)
            let values = initializer.values(shape: slot.type.shape, random: &random)
            let base = params + slot.offset
            switch slot.type.dtype {
            case .f32:
                let out = base.assumingMemoryBound(to: Float.self)
                for (i, v) in values.enumerated() { out[i] = Float(v) }
            case .f64:
                let out = base.assumingMemoryBound(to: Double.self)
                for (i, v) in values.enumerated() { out[i] = v }
            case .i32:
                let out = base.assumingMemoryBound(to: Int32.self)
                for (i, v) in values.enumerated() { out[i] = Int32(v) }
            }
        }
    }

    // MARK: - Helpers

    private func copyIn(_ tensor: HostTensor, as dtype: DType, to destination: UnsafeMutableRawPointer) {
        let source = tensor.storage == StorageType(dtype) ? tensor : tensor.converted(to: dtype)
        source.bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress { destination.copyMemory(from: base, byteCount: raw.count) }
        }
    }
}

/// A name in an error message: names come from IR and safetensors files, so they are cut and
/// their control bytes escaped (SinterError.excerpt) before they reach a terminal.
private func quoted(_ name: String) -> String { "'\(SinterError.excerpt(name.utf8))'" }

/// Zeroed memory aligned to `Executable.alignment`, at least one alignment unit long (so a
/// zero-size buffer is still a valid, distinct pointer) and rounded up to whole units; nil when
/// the system refuses (MemoryGuard has checked the sizes fit in Int).
private func alignedAllocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
    let alignment = Executable.alignment
    let size = max(alignment, (bytes + alignment - 1) / alignment * alignment)
    var pointer: UnsafeMutableRawPointer?
    guard posix_memalign(&pointer, alignment, size) == 0, let pointer else { return nil }
    memset(pointer, 0, size)
    return pointer
}

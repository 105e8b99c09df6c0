import SinterIR

/// The checking builds (`CodegenOptions.checkNumerics`, `.checkBounds`; Docs/abi.md, "Checking
/// builds"): extra C around every kernel call in `sinter_entry`, plus the table the runtime needs
/// to turn a failure into an error.
///
/// - check-numerics (as `tf.debugging.enable_check_numerics`): after each kernel, every float
///   buffer it wrote is scanned; the first NaN/Inf stops the run. Fusion is off in this build so
///   each op writes its own buffer and the error names the op that produced the value.
/// - check-bounds: the memory plan leaves guard zones around every arena buffer
///   (MemoryPlanGuards.swift); before a kernel the zones of the buffers it writes are filled with
///   0xA5 (and poisoned under ASan), after it they are verified.
///
/// The C holds only numbers: a failure stores a site index into a record in the arena, and the
/// site table (op, tensor, source line) stays on the Swift side, so no user string reaches C.

/// One check the generated code may report.
public struct CheckSite: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A float buffer scanned for NaN/Inf.
        case numerics
        /// The guard zone before (`after == false`) or after a buffer.
        case guardZone(after: Bool)
    }

    public var kind: Kind
    /// The generated function (`k12`) and what it computes (`conv2d+add+relu`).
    public var kernel: String
    public var kernelOps: String
    /// The node whose buffer is checked, its op and where it was created.
    public var node: Int
    public var op: String
    public var location: SourceLocation
    /// The buffer: `%12`, a source or output name (`'dense.kernel'`), or `scratch of %12`.
    public var tensor: String
    public var type: TensorType?
    public var bytes: Int
}

/// What the runtime needs to read a checking build's verdict.
public struct CheckTable: Sendable, Equatable {
    /// Where `sinter_check_record` lives in the arena (see Codegen/sinter_check.h).
    public var recordOffset: Int
    public var sites: [CheckSite]

    /// Bytes of `sinter_check_record` (four 8-byte fields).
    public static let recordBytes = 32

    /// The error for a record read back after a run: nil when `kind` is 0 (every check passed).
    public func error(kind: Int64, site: Int64, element: Int64, value: Double) -> SinterError? {
        guard kind != 0 else { return nil }
        guard site >= 0, site < Int64(sites.count) else {
            return .runtime(message: "checking build: the kernel reported check kind \(kind) at unknown site \(site) (\(sites.count) sites)")
        }
        let s = sites[Int(site)]
        let typeText = s.type.map { " \($0)" } ?? ""
        let kernelText = s.kernelOps == s.op ? "kernel \(s.kernel)" : "kernel \(s.kernel) = \(s.kernelOps)"
        switch s.kind {
        case .numerics:
            let what = value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf")
            return .runtime(message: "check-numerics: op \(s.op) (%\(s.node), \(kernelText)) at \(s.location) produced \(what) "
                + "at element \(element) of \(s.tensor)\(typeText); the outputs of every earlier op were finite")
        case let .guardZone(after):
            let byte = Int(value.isFinite ? value : 0)
            return .runtime(message: "check-bounds: \(kernelText) (op \(s.op) at \(s.location)) wrote outside its buffer "
                + "\(s.tensor)\(typeText) (\(s.bytes) bytes): byte \(element) of the guard zone \(after ? "after" : "before") "
                + "the buffer is 0x\(String(byte, radix: 16, uppercase: true)), expected 0xA5")
        }
    }
}

extension CodegenOptions {
    /// The options the plan is built with: no fusion in a check-numerics build.
    var forPlan: CodegenOptions {
        var options = self
        if checkNumerics { options.fuse = false }
        return options
    }
}

/// Writes the checking statements of `sinter_entry` and collects their sites.
struct CheckEmitter {
    let plan: ExecutionPlan
    let options: CodegenOptions
    let recordOffset: Int
    private(set) var sites: [CheckSite] = []

    init(_ plan: ExecutionPlan, _ options: CodegenOptions) {
        self.plan = plan
        self.options = options
        recordOffset = MemoryPlanner.align(plan.arena.bytes)
    }

    /// Arena bytes including the record.
    var arenaBytes: Int { recordOffset + CheckTable.recordBytes }
    var table: CheckTable { CheckTable(recordOffset: recordOffset, sites: sites) }

    /// First statements of the entry: the record, cleared.
    func prologue() -> [String] {
        ["sinter_check_record *check = (sinter_check_record *)(arena + \(recordOffset));",
         "memset(check, 0, sizeof *check);"]
    }

    /// Arena buffers a pure kernel writes: its stored nodes, then its scratch.
    private func guardedBuffers(_ kernel: Kernel, scratchOwner: Int?) -> [(key: BufferKey, node: Int)] {
        guard !kernel.isEffect else { return [] }
        var buffers = plan.arenaWrites(kernel).map { (key: BufferKey.node($0), node: $0) }
        if let scratchOwner { buffers.append((.scratch(scratchOwner), scratchOwner)) }
        return buffers.filter { plan.arena.offsets[$0.key] != nil }
    }

    private func zones(_ key: BufferKey) -> (before: (Int, Int), after: (Int, Int))? {
        guard let offset = plan.arena.offsets[key], let request = plan.requests.first(where: { $0.key == key }) else { return nil }
        return MemoryPlanner.guardZones(offset: offset, bytes: request.bytes, guardBytes: CodegenOptions.guardBytes)
    }

    /// Statements before the call of `kernel`: fill the guard zones of the buffers it writes.
    func before(_ kernel: Kernel, scratchOwner: Int?) -> [String] {
        guard options.checkBounds else { return [] }
        var lines: [String] = []
        for buffer in guardedBuffers(kernel, scratchOwner: scratchOwner) {
            guard let zones = zones(buffer.key) else { continue }
            for zone in [zones.before, zones.after] {
                lines.append("sinter_guard_fill(arena + \(zone.0), \(zone.1));")
            }
        }
        return lines
    }

    /// Statements after the call: verify the zones (all of them, so every zone is unpoisoned),
    /// then scan what the kernel wrote; return from the entry on the first failure.
    mutating func after(_ kernel: Kernel, scratchOwner: Int?) -> [String] {
        let graph = plan.graph
        var lines: [String] = []
        if options.checkBounds {
            var checks: [String] = []
            for buffer in guardedBuffers(kernel, scratchOwner: scratchOwner) {
                guard let zones = zones(buffer.key), let request = plan.requests.first(where: { $0.key == buffer.key }) else { continue }
                for (after, zone) in [(false, zones.before), (true, zones.after)] {
                    let isScratch = if case .scratch = buffer.key { true } else { false }
                    let site = addSite(.guardZone(after: after), kernel, node: buffer.node,
                                       tensor: isScratch ? "scratch of %\(buffer.node)" : tensorName(buffer.node),
                                       type: isScratch ? nil : graph[buffer.node].type, bytes: request.bytes)
                    checks.append("sinter_guard_verify(check, \(site), arena + \(zone.0), \(zone.1))")
                }
            }
            if !checks.isEmpty { lines.append("if (\(checks.joined(separator: " | "))) return;") }
        }
        if options.checkNumerics {
            for (node, pointer) in writtenFloatBuffers(kernel) {
                let type = graph[node].type
                let effect = kernel.isEffect ? graph[kernel.result] : nil
                let site = addSite(.numerics, kernel, node: node, tensor: tensorName(node), type: type, bytes: type.byteSize,
                                   op: effect?.op.rawValue, location: effect?.location)
                lines.append("if (sinter_check_finite_\(type.dtype.helperSuffix)(check, \(site), (const \(type.dtype.cType) *)(\(pointer)), \(type.count))) return;")
            }
        }
        return lines
    }

    /// Float buffers a kernel wrote, with a C expression of their address: a pure kernel's arena
    /// buffers, an effect's state operands in the parameter block.
    private func writtenFloatBuffers(_ kernel: Kernel) -> [(Int, String)] {
        let graph = plan.graph
        var result: [(Int, String)] = []
        if kernel.isEffect {
            let node = graph[kernel.result]
            for i in KernelEmitter.writtenOperands(node.op) where i < node.operands.count {
                let target = plan.root(node.operands[i])
                if graph[target].type.dtype.isFloat, let offset = plan.paramOffsets[target] { result.append((target, "params + \(offset)")) }
            }
        } else {
            for id in plan.arenaWrites(kernel) where graph[id].type.dtype.isFloat {
                if let offset = plan.arena.offsets[.node(id)] { result.append((id, "arena + \(offset)")) }
            }
        }
        return result
    }

    /// `'name'` for a named source or output, else `%id`.
    private func tensorName(_ id: Int) -> String {
        let graph = plan.graph
        if let name = graph[id].sourceName { return "'\(name)'" }
        if let output = graph.outputs.first(where: { $0.node == id }) { return "%\(id) (output '\(output.name)')" }
        return "%\(id)"
    }

    private mutating func addSite(_ kind: CheckSite.Kind, _ kernel: Kernel, node: Int, tensor: String, type: TensorType?,
                                  bytes: Int, op: String? = nil, location: SourceLocation? = nil) -> Int {
        let graph = plan.graph
        let main = graph[kernel.main ?? kernel.result]
        let ops = kernel.nodes.map { graph[$0].op.rawValue }
        sites.append(CheckSite(kind: kind, kernel: kernel.name, kernelOps: ops.joined(separator: "+"), node: node,
                               op: op ?? (kind == .numerics ? graph[node].op.rawValue : main.op.rawValue),
                               location: location ?? (kind == .numerics ? graph[node].location : main.location),
                               tensor: tensor, type: type, bytes: bytes))
        return sites.count - 1
    }
}

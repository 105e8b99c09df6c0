import SinterIR

/// What the C emitter hands to the runtime: one C translation unit plus the layout of every buffer
/// the exported entry touches. The ABI (see Docs/abi.md):
///
///     void sinter_entry(uint8_t *arena, uint8_t *params, void *const *io);
///
/// - `arena`: scratch for every temporary, `arenaBytes` long, 64-byte aligned, contents undefined
///   between calls.
/// - `params`: the parameter block holding every param and state tensor at `persistent[i].offset`,
///   `paramBlockBytes` long, 64-byte aligned; effects update it in place.
/// - `io`: pointers to the caller's buffers: `inputs` first (read only), then `outputs` (written),
///   in the order of those arrays, each densely packed row-major in its slot's dtype.
public struct CProgram: Sendable {
    /// One named buffer the caller sees: a graph input, output, or persistent tensor.
    public struct Slot: Sendable, Equatable {
        public var name: String
        public var type: TensorType
        /// Byte offset in the parameter block (persistent slots only; 0 for io slots).
        public var offset: Int
        /// The `init` attribute of a param/state node (`zeros`, `ones`, `glorot_uniform`, ...).
        public var initializer: String?
        /// True for `param` (trainable) slots.
        public var trainable: Bool

        public init(name: String, type: TensorType, offset: Int = 0, initializer: String? = nil, trainable: Bool = false) {
            self.name = name
            self.type = type
            self.offset = offset
            self.initializer = initializer
            self.trainable = trainable
        }
    }

    public static let entryName = "sinter_entry"

    /// The generated C. It includes headers by name (`#include "sinter_prelude.h"`).
    public var source: String
    /// Header name -> text, from Codegen/ (embedded at build time).
    public var headers: [String: String]
    public var arenaBytes: Int
    public var paramBlockBytes: Int
    public var persistent: [Slot]
    public var inputs: [Slot]
    public var outputs: [Slot]
    /// A checking build's site table (CheckBuild.swift); nil for a normal build.
    public var checks: CheckTable?
    /// What fusion and memory planning decided (dumps only; not part of the ABI).
    public var info = CompileInfo()

    public init(source: String, headers: [String: String], arenaBytes: Int, paramBlockBytes: Int,
                persistent: [Slot], inputs: [Slot], outputs: [Slot]) {
        self.source = source
        self.headers = headers
        self.arenaBytes = arenaBytes
        self.paramBlockBytes = paramBlockBytes
        self.persistent = persistent
        self.inputs = inputs
        self.outputs = outputs
    }
}

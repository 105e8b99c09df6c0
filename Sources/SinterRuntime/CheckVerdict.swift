import SinterCodegen
import SinterIR

/// Reading a checking build's record (Codegen/sinter_check.h) after a run.
extension CheckTable {
    /// The error the last run of a checking build reported, or nil. `arena` is the arena the
    /// entry ran on; the record is four 8-byte fields at `recordOffset`.
    func verdict(arena: UnsafeRawPointer) -> SinterError? {
        let record = arena + recordOffset
        return error(kind: record.load(fromByteOffset: 0, as: Int64.self), site: record.load(fromByteOffset: 8, as: Int64.self),
                     element: record.load(fromByteOffset: 16, as: Int64.self), value: record.load(fromByteOffset: 24, as: Double.self))
    }

    /// Whether the record fits the arena, aligned for its fields.
    func fits(arenaBytes: Int) -> Bool {
        recordOffset >= 0 && recordOffset % 8 == 0 && recordOffset <= arenaBytes - Self.recordBytes
    }
}

import SinterIO
import SinterIR

/// Writing pickles opcode by opcode, and whole `torch.save` files the way PyTorch writes them
/// (protocol 2, GLOBAL, BINPERSID storages, an OrderedDict state dict). The tests and fuzz seeds
/// use it to make checkpoints, hostile ones included, without Python or PyTorch.
public struct PickleWriter {
    public var bytes: [UInt8] = []
    public init() {}

    public mutating func op(_ code: UInt8) { bytes.append(code) }
    mutating func le(_ value: UInt64, _ size: Int) { for i in 0..<size { bytes.append(UInt8(value >> (8 * UInt64(i)) & 0xff)) } }

    public mutating func proto(_ version: UInt8 = 2) { bytes += [0x80, version] }
    public mutating func stop() { op(0x2e) }
    public mutating func mark() { op(0x28) }
    public mutating func none() { op(0x4e) }
    public mutating func bool(_ value: Bool) { op(value ? 0x88 : 0x89) }
    public mutating func tuple() { op(0x74) }
    public mutating func emptyTuple() { op(0x29) }
    public mutating func emptyDict() { op(0x7d) }
    public mutating func emptyList() { op(0x5d) }
    public mutating func setItems() { op(0x75) }
    public mutating func appends() { op(0x65) }
    public mutating func reduce() { op(0x52) }
    public mutating func persistentID() { op(0x51) }
    public mutating func put(_ index: Int) { op(0x72); le(UInt64(index), 4) }
    public mutating func get(_ index: Int) { op(0x6a); le(UInt64(index), 4) }

    public mutating func int(_ value: Int) {
        if value >= 0 && value < 256 { op(0x4b); le(UInt64(value), 1) }
        else if value >= 0 && value < 65536 { op(0x4d); le(UInt64(value), 2) }
        else if value >= Int(Int32.min) && value <= Int(Int32.max) { op(0x4a); le(UInt64(UInt32(bitPattern: Int32(value))), 4) }
        else { op(0x8a); bytes.append(8); le(UInt64(bitPattern: Int64(value)), 8) }
    }

    /// LONG1 with raw little-endian two's complement digits.
    public mutating func long(_ digits: [UInt8]) { op(0x8a); bytes.append(UInt8(digits.count)); bytes += digits }

    public mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        op(0x58); le(UInt64(utf8.count), 4); bytes += utf8
    }

    public mutating func global(_ module: String, _ name: String) {
        op(0x63); bytes += Array("\(module)\n\(name)\n".utf8)
    }

    static func storageClass(_ storage: StorageType) -> String {
        switch storage {
        case .f32: return "FloatStorage"
        case .f64: return "DoubleStorage"
        case .i64: return "LongStorage"
        case .i32: return "IntStorage"
        case .i16: return "ShortStorage"
        case .i8: return "CharStorage"
        case .u8: return "ByteStorage"
        case .bool: return "BoolStorage"
        case .u16, .u32, .u64: return "UInt\(storage.byteSize * 8)Storage"  // torch has none: read back as refused
        }
    }

    /// The state-dict pickle: OrderedDict of name -> _rebuild_tensor_v2(storage key i, ...), with
    /// `legacyView` adding the legacy sixth persistent-id field (None). Names are sorted.
    public mutating func stateDict(_ tensors: [String: HostTensor], legacyView: Bool) {
        proto(2)
        global("collections", "OrderedDict"); emptyTuple(); reduce()
        mark()
        for (index, name) in tensors.keys.sorted().enumerated() {
            let tensor = tensors[name]!
            string(name)
            global("torch._utils", "_rebuild_tensor_v2")
            mark()
            mark(); string("storage"); global("torch", Self.storageClass(tensor.storage)); string(String(index)); string("cpu"); int(tensor.count)
            if legacyView { none() }
            tuple(); persistentID()
            int(0)
            mark(); for d in tensor.shape { int(d) }; tuple()
            mark(); for s in rowMajorStrides(tensor.shape) { int(s) }; tuple()
            bool(false)
            global("collections", "OrderedDict"); emptyTuple(); reduce()
            tuple(); reduce()
        }
        setItems()
        stop()
    }

    /// A legacy (non-zip) `torch.save` file of `tensors`.
    public static func legacyCheckpoint(_ tensors: [String: HostTensor]) -> [UInt8] {
        var w = PickleWriter()
        w.proto(2); w.long(TorchCheckpoint.legacyMagic); w.stop()
        w.proto(2); w.int(1001); w.stop()
        w.proto(2); w.emptyDict(); w.mark(); w.string("protocol_version"); w.int(1001); w.string("little_endian"); w.bool(true); w.setItems(); w.stop()
        w.stateDict(tensors, legacyView: true)
        let names = tensors.keys.sorted()
        w.proto(2); w.emptyList(); w.mark(); for index in names.indices { w.string(String(index)) }; w.appends(); w.stop()
        for name in names {
            let tensor = tensors[name]!
            w.le(UInt64(tensor.count), 8)
            w.bytes += tensor.bytes
        }
        return w.bytes
    }

    /// A zip `torch.save` file of `tensors` (members stored, as torch writes them, or deflated).
    public static func zipCheckpoint(_ tensors: [String: HostTensor], directory: String = "archive", deflate: Bool = false) throws -> [UInt8] {
        var w = PickleWriter()
        w.stateDict(tensors, legacyView: false)
        var members = [ZipWriter.Member(name: "\(directory)/data.pkl", data: w.bytes, deflate: deflate),
                       ZipWriter.Member(name: "\(directory)/byteorder", data: Array("little".utf8), deflate: false)]
        for (index, name) in tensors.keys.sorted().enumerated() {
            members.append(ZipWriter.Member(name: "\(directory)/data/\(index)", data: tensors[name]!.bytes, deflate: deflate))
        }
        members.append(ZipWriter.Member(name: "\(directory)/version", data: Array("3\n".utf8), deflate: false))
        return try ZipWriter.encode(members)
    }
}

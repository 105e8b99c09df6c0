import SinterIR

/// What REDUCE does for each allowed global: checks the arguments and builds a tag. Nothing is
/// executed; a tensor is only a description (storage, offset, shape, strides) until
/// `TorchTensors.materialise` copies it out of its storage with every index bounds-checked.
enum TorchRebuild {
    static let maxRank = 16

    static func call(_ global: PickleGlobal, _ args: [PickleValue], fail: (String) -> SinterError) throws -> PickleValue {
        switch global {
        case .orderedDict:
            // OrderedDict() or OrderedDict([(key, value), ...]).
            if args.isEmpty { return .dict(PickleDict()) }
            guard args.count == 1, case let .list(list) = args[0] else {
                throw fail("collections.OrderedDict called with \(args.map(\.kind)), expected () or a list of pairs")
            }
            var entries: [(key: PickleValue, value: PickleValue)] = []
            for item in list.items {
                guard case let .tuple(pair) = item, pair.count == 2 else { throw fail("collections.OrderedDict item is a \(item.kind), expected a (key, value) pair") }
                entries.append((pair[0], pair[1]))
            }
            return .dict(PickleDict(entries))
        case .rebuildTensorV2, .rebuildTensor:
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            let name = global.qualifiedName
            guard args.count >= 4, args.count <= 7 else { throw fail("\(name) called with \(args.count) arguments, expected 4 to 7") }
            guard case let .storage(storage) = args[0] else { throw fail("\(name): argument 1 is a \(args[0].kind), expected a storage") }
            guard let offset = args[1].intValue, offset >= 0 else { throw fail("\(name): storage offset is a \(args[1].kind), expected an int >= 0") }
            let shape = try integers(args[2], "size", name, fail)
            let stride = try integers(args[3], "stride", name, fail)
            guard shape.count == stride.count else {
                throw fail("\(name): size has \(shape.count) dimensions but stride has \(stride.count)")
            }
            return .tensor(TorchTensorRef(storage: storage, offset: offset, shape: shape, stride: stride))
        case .rebuildParameter:
            // (data, requires_grad, backward_hooks): a Parameter is its tensor here.
            guard args.count == 3, case .tensor = args[0] else {
                throw fail("torch._utils._rebuild_parameter called with \(args.map(\.kind)), expected (tensor, bool, hooks)")
            }
            return args[0]
        case .storageType:
            throw fail("\(global.qualifiedName) is a storage type; it can only appear in a persistent id, not be called")
        }
    }

    static func integers(_ value: PickleValue, _ what: String, _ name: String, _ fail: (String) -> SinterError) throws -> [Int] {
        guard case let .tuple(items) = value, items.count <= maxRank else {
            throw fail("\(name): \(what) is a \(value.kind), expected a tuple of at most \(maxRank) ints")
        }
        return try items.map {
            guard let v = $0.intValue, v >= 0 else { throw fail("\(name): \(what) holds a \($0.kind), expected ints >= 0") }
            return v
        }
    }
}

import SinterIR

/// From pickled descriptions to host tensors: the state dict's tensors found in the unpickled
/// object, and each one copied out of its storage bytes after checking that every element it
/// addresses lies inside the storage.
enum TorchTensors {
    static let maxDepth = 64
    /// Values visited while looking for tensors: the memo lets a 500-byte pickle share
    /// sub-objects into 2^60 paths, so the walk is bounded by count as well as by depth.
    static let maxVisits = 1 << 18

    /// The tensors of a (possibly nested) dict, named by their keys joined with '.'; lists of
    /// tensors are named by index. Other leaves (epoch counters, strings) are skipped.
    static func collect(_ value: PickleValue, path: String) throws -> [(name: String, tensor: TorchTensorRef)] {
        var found: [(name: String, tensor: TorchTensorRef)] = []
        var visits = 0
        func walk(_ value: PickleValue, _ prefix: String, _ depth: Int) throws {
            switch value {
            case .tensor, .dict, .list, .tuple: break
            default: return     // numbers, strings: nothing to find, nothing to count
            }
            visits += 1
            guard visits <= maxVisits else {
                throw SinterError.file(path: path, message: "object holds more than \(maxVisits) values (shared sub-objects count each time)")
            }
            guard depth <= maxDepth else {
                throw SinterError.file(path: path, message: "object nested more than \(maxDepth) levels deep at '\(prefix)'")
            }
            func join(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }
            switch value {
            case let .tensor(tensor): found.append((prefix, tensor))
            case let .dict(dict):
                for (key, item) in dict.entries {
                    let name: String
                    switch key {
                    case let .string(s): name = s
                    case let .int(i): name = String(i)
                    default: throw SinterError.file(path: path, message: "dict at '\(prefix)' has a \(key.kind) key, expected str")
                    }
                    try walk(item, join(name), depth + 1)
                }
            case let .list(list): for (i, item) in list.items.enumerated() { try walk(item, join(String(i)), depth + 1) }
            case let .tuple(items): for (i, item) in items.enumerated() { try walk(item, join(String(i)), depth + 1) }
            default: break
            }
        }
        try walk(value, "", 0)
        return found
    }

    /// The elements of `tensor` in row-major order, from `data` (the whole storage).
    /// `budget` is the output bytes still allowed: a stride-0 (broadcast) view can describe far
    /// more elements than its storage holds, so the size is checked before allocating.
    static func materialise(_ tensor: TorchTensorRef, name: String, data: [UInt8], path: String, budget: inout Int) throws -> HostTensor {
        func fail(_ message: String) -> SinterError { .file(path: path, message: "tensor '\(name)': \(message)") }
        let size = tensor.storage.dtype.byteSize
        let available = data.count / size
        guard let count = SizeLimits.elementCount(tensor.shape) else {
            throw fail("shape \(tensor.shape) has more elements than the size limit")
        }
        // The last element addressed: offset + sum((size_i - 1) * stride_i), overflow-checked.
        if count > 0 {
            var last = tensor.offset
            for (extent, step) in zip(tensor.shape, tensor.stride) {
                let (reach, o1) = (extent - 1).multipliedReportingOverflow(by: step)
                let (sum, o2) = last.addingReportingOverflow(reach)
                guard !o1, !o2 else { throw fail("strides \(tensor.stride) overflow") }
                last = sum
            }
            guard last < available else {
                throw fail("shape \(tensor.shape), strides \(tensor.stride), offset \(tensor.offset) address element \(last), but storage '\(tensor.storage.key)' has \(available) elements")
            }
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: tensor.storage.dtype.hostStorage.byteSize)
        guard !overflow, bytes <= budget else {
            throw fail("shape \(shapeText(tensor.shape)) is \(overflow ? "too many" : String(bytes)) bytes, more than the limit of \(budget) bytes")
        }
        budget -= bytes
        var out = [UInt8](repeating: 0, count: count * size)
        let contiguous = rowMajorStrides(tensor.shape)
        if count > 0 {
            data.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    if zip(tensor.shape, zip(tensor.stride, contiguous)).allSatisfy({ $0.0 == 1 || $0.1.0 == $0.1.1 }) {
                        let start = tensor.offset * size
                        dst.baseAddress!.update(from: src.baseAddress! + start, count: count * size)
                        return
                    }
                    var index = [Int](repeating: 0, count: tensor.shape.count)
                    for element in 0..<count {
                        var source = tensor.offset
                        for axis in 0..<index.count { source += index[axis] * tensor.stride[axis] }
                        for b in 0..<size { dst[element * size + b] = src[source * size + b] }
                        var axis = index.count - 1
                        while axis >= 0 {
                            index[axis] += 1
                            if index[axis] < tensor.shape[axis] { break }
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
        switch tensor.storage.dtype {
        case .float16, .bfloat16:
            let halves = stride(from: 0, to: out.count, by: 2).map { UInt16(out[$0]) | UInt16(out[$0 + 1]) << 8 }
            let floats = halves.map { tensor.storage.dtype == .float16 ? Float(Float16(bitPattern: $0)) : Float(bitPattern: UInt32($0) << 16) }
            return HostTensor(shape: tensor.shape, floats: floats)
        default:
            return HostTensor(storage: tensor.storage.dtype.hostStorage, shape: tensor.shape, bytes: out)
        }
    }
}

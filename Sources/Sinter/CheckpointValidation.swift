import SinterIR
import SinterRuntime

/// Checks of everything a checkpoint holds against what will use it, so that a crafted file
/// with a valid checksum is refused with an error naming the file and the field instead of
/// crashing later (an out-of-range data order indexes past the dataset; an f32 counter read as
/// i32 traps on NaN). Nothing here changes any state: callers validate everything first and
/// only then load.
extension Checkpoint {
    /// The largest step a checkpoint may record: beyond any real run, and far enough from
    /// Int.max that `step + steps` cannot overflow.
    public static let maxStep = 1 << 40

    static func fieldError(_ path: String, _ field: String, _ message: String) -> SinterError {
        .file(path: path, message: "checkpoint field '\(field)': \(message)")
    }

    /// The name of the first floating-point tensor holding NaN or Inf, with the element's index.
    public func firstNonFiniteTensor() -> (name: String, index: Int, value: Double)? {
        for name in tensors.keys.sorted() {
            if let (index, value) = Self.firstNonFinite(tensors[name]!) { return (name, index, value) }
        }
        return nil
    }

    static func firstNonFinite(_ tensor: HostTensor) -> (Int, Double)? {
        tensor.bytes.withUnsafeBytes { raw -> (Int, Double)? in
            switch tensor.storage {
            case .f32:
                for (i, v) in raw.bindMemory(to: Float.self).enumerated() where !v.isFinite { return (i, Double(v)) }
            case .f64:
                for (i, v) in raw.bindMemory(to: Double.self).enumerated() where !v.isFinite { return (i, v) }
            default: break
            }
            return nil
        }
    }

    /// Every slot has a tensor of exactly its dtype and shape, with finite values (Sinter never
    /// writes NaN or Inf state; such a file is damaged or crafted).
    public func validate(slots: [CProgram.Slot], path: String) throws {
        for slot in slots {
            guard let tensor = tensors[slot.name] else {
                throw SinterError.file(path: path, message: "checkpoint lacks '\(slot.name)' (\(slot.type))")
            }
            guard tensor.storage == StorageType(slot.type.dtype) else {
                throw Self.fieldError(path, slot.name, "dtype \(tensor.storage.rawValue), the model needs \(slot.type)")
            }
            guard tensor.shape == slot.type.shape else {
                throw SinterError.file(path: path, message: "checkpoint '\(slot.name)' has shape \(shapeText(tensor.shape)), the model needs \(slot.type)")
            }
            if let (index, value) = Self.firstNonFinite(tensor) {
                throw Self.fieldError(path, slot.name, "element \(index) is \(value); a checkpoint holds finite values only")
            }
        }
    }

    /// The integer counters: an optimizer's `<prefix>.iterations` (one update per step, so at
    /// most `step`; a `sinter import` checkpoint starts them at 0) and `rng.counter` are never
    /// negative.
    func validateCounters(path: String) throws {
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) where tensor.storage == .i32 && tensor.count == 1 {
            let value = tensor.bytes.withUnsafeBytes { $0.load(as: Int32.self) }
            if name.hasSuffix(".iterations"), !(0...Int64(step)).contains(Int64(value)) {
                throw Self.fieldError(path, name, "\(value) optimizer updates at step \(step); expected 0...\(step)")
            }
            if name == "rng.counter", value < 0 {
                throw Self.fieldError(path, name, "\(value); a counter is never negative")
            }
        }
    }

    /// No tensor outside `known` (the model's persistent tensors and the trainer's state).
    func validateNoUnknownTensors(known: Set<String>, model expected: String, path: String) throws {
        if let unknown = tensors.keys.sorted().first(where: { !known.contains($0) }) {
            throw SinterError.file(path: path, message: "checkpoint has a tensor '\(Self.excerpt(unknown))' that model '\(expected)' does not have")
        }
    }

    /// The data order saved by `Trainer.checkpoint()` as a batcher ready to continue, or nil for
    /// a weights-only checkpoint (`sinter import`). `current` supplies the dataset size, batch
    /// size and shuffling, which are this run's.
    func validatedBatcher(continuing current: Batcher, path: String) throws -> Batcher? {
        let state = tensors["trainer.batcher"], order = tensors["trainer.order"]
        if state == nil && order == nil { return nil }
        guard let state, let order else {
            throw Self.fieldError(path, state == nil ? "trainer.batcher" : "trainer.order",
                                  "missing while '\(state == nil ? "trainer.order" : "trainer.batcher")' is there")
        }
        guard state.storage == .i64, state.shape == [4] else {
            throw Self.fieldError(path, "trainer.batcher", "\(state.storage.rawValue)\(shapeText(state.shape)), expected I64[4] (count, position, pass, generator)")
        }
        guard order.storage == .i64, order.shape.count == 1 else {
            throw Self.fieldError(path, "trainer.order", "\(order.storage.rawValue)\(shapeText(order.shape)), expected a 1-D I64 permutation")
        }
        let words = state.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        let count = current.count
        guard words[0] == Int64(count) else {
            throw SinterError.file(path: path, message: "checkpoint was written for a dataset of \(words[0]) images, this one has \(count)")
        }
        let position = words[1], pass = words[2]
        if order.count == 0 {
            // No batch drawn yet: the state of a fresh batcher, and no step taken.
            guard position == Int64(count), pass == 0, step == 0 else {
                throw Self.fieldError(path, "trainer.batcher", "position \(position), pass \(pass) at step \(step) with an empty data order; "
                    + "only a run that has taken no step (position \(count), pass 0) has no order")
            }
        } else {
            guard order.count == count else {
                throw Self.fieldError(path, "trainer.order", "\(order.count) entries, the dataset has \(count) images")
            }
            guard (1...Int64(count)).contains(position) else {
                throw Self.fieldError(path, "trainer.batcher", "position \(position) is outside 1...\(count)")
            }
            // Every step draws one batch and every pass starts with a draw.
            guard pass >= 1, pass <= Int64(step) else {
                throw Self.fieldError(path, "trainer.batcher", "pass \(pass) at step \(step); a run is in pass 1...step")
            }
            var seen = [Bool](repeating: false, count: count)
            let indices = order.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
            for (i, index) in indices.enumerated() {
                guard index >= 0, index < Int64(count), !seen[Int(index)] else {
                    throw Self.fieldError(path, "trainer.order", "entry \(i) is \(index); the order must be a permutation of 0..<\(count)")
                }
                seen[Int(index)] = true
            }
        }
        var batcher = current
        try batcher.restore(["batcher": state, "order": order], path: path)
        return batcher
    }

    /// A string from a file, safe to print: control characters escaped, cut to `limit`.
    static func excerpt(_ text: String, limit: Int = 80) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            if escaped.count >= limit { return escaped + "..." }
            escaped += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return escaped
    }
}

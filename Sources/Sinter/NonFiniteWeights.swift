import SinterIO
import SinterIR

/// Weights that hold NaN or Inf load without error (a diverged run's checkpoint is still worth
/// inspecting), but every command that loads them says so, naming the file and the tensor.
public enum NonFiniteWeights {
    /// What is wrong with one tensor.
    public struct Finding: Equatable, Sendable {
        public var tensor: String
        public var shape: [Int]
        public var nanCount: Int
        public var infCount: Int
        /// Flat index of the first non-finite element.
        public var firstIndex: Int

        public init(tensor: String, shape: [Int], nanCount: Int, infCount: Int, firstIndex: Int) {
            self.tensor = tensor
            self.shape = shape
            self.nanCount = nanCount
            self.infCount = infCount
            self.firstIndex = firstIndex
        }
    }

    /// Every float tensor of `tensors` with a NaN or +-Inf, by name.
    public static func scan(_ tensors: [String: HostTensor]) -> [Finding] {
        var findings: [Finding] = []
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            var nan = 0, inf = 0, first = -1
            func look(_ value: Double, _ i: Int) {
                if value.isNaN { nan += 1 } else if value.isInfinite { inf += 1 } else { return }
                if first < 0 { first = i }
            }
            tensor.bytes.withUnsafeBytes { raw in
                switch tensor.storage {
                case .f32: for (i, v) in raw.bindMemory(to: Float.self).enumerated() { look(Double(v), i) }
                case .f64: for (i, v) in raw.bindMemory(to: Double.self).enumerated() { look(v, i) }
                default: break  // integer storage cannot hold NaN
                }
            }
            if first >= 0 { findings.append(Finding(tensor: name, shape: tensor.shape, nanCount: nan, infCount: inf, firstIndex: first)) }
        }
        return findings
    }

    /// One `warning:` line per tensor with NaN/Inf, naming `source` (a file path).
    public static func warnings(_ tensors: [String: HostTensor], source: String) -> [String] {
        scan(tensors).map { f in
            let counts = [f.nanCount > 0 ? "\(f.nanCount) NaN" : nil, f.infCount > 0 ? "\(f.infCount) Inf" : nil].compactMap { $0 }
            return "warning: \(printable(source)): tensor '\(printable(f.tensor))' \(shapeText(f.shape)) holds \(counts.joined(separator: " and ")) "
                + "value\(f.nanCount + f.infCount == 1 ? "" : "s") (first at element \(f.firstIndex)); results computed from it will not be finite"
        }
    }

    /// A name from a file, safe to print: control characters as `?`, at most 200 characters.
    static func printable(_ text: String) -> String {
        let cleaned = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        return cleaned.count > 200 ? String(cleaned.prefix(200)) + "..." : cleaned
    }
}

import Foundation
import Sinter
import XCTest

/// A compiled graph whose outputs are an op's results plus their vector-Jacobian products:
/// for each output `y` a cotangent input `dy`, and for each chosen source `grad.<name>`.
struct VJPProgram {
    let graph: Graph
    let executable: Executable
    let opGraph: GoldenOpGraph
    /// Output names of the op itself (not the gradients).
    var valueOutputs: [String] { opGraph.outputs.map(\.0) }

    /// Traces `build`, adds cotangent inputs and gradient outputs with respect to `wrt` (names as
    /// the caller knows them; `opGraph.persistent` maps them to layer-owned params), compiles
    /// with `options`.
    init(name: String, dtype: DType, training: Bool = true, wrt: [String], options: CompileOptions = .fromEnvironment(),
         build: (GraphBuilder) throws -> GoldenOpGraph) throws {
        let builder = GraphBuilder(name: name, dtype: dtype, training: training)
        let opGraph = try build(builder)
        if let error = builder.firstError { throw error }
        let graph = builder.graph
        var pairs: [(node: Int, cotangent: Int)] = []
        for (outputName, tensor) in opGraph.outputs {
            try graph.addOutput(outputName, tensor.id)
            guard tensor.dtype.isFloat else { continue }
            let cotangent = builder.input("d\(outputName)", tensor.shape)
            pairs.append((tensor.id, cotangent.id))
        }
        let wrtNodes = try wrt.map { goldenName -> Int in
            let sourceName = opGraph.persistent[goldenName] ?? goldenName
            guard let node = graph.source(named: sourceName) else {
                throw SinterError.runtime(message: "\(name): no source '\(sourceName)' to differentiate")
            }
            return node
        }
        let grads = try vjp(in: graph, outputs: pairs, wrt: wrtNodes)
        for (goldenName, grad) in zip(wrt, grads) { try graph.addOutput("grad.\(goldenName)", grad) }
        self.graph = try builder.finish()
        self.opGraph = opGraph
        executable = try compileGraph(self.graph, options: options)
    }

    /// Feeds inputs (by golden name) and persistent tensors, runs once, and returns outputs plus
    /// `state.<golden name>` for each updated state. `feeds` may hold a whole golden case
    /// (expected values too): the program gets the names it takes.
    func run(_ feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        var persistent: [String: HostTensor] = [:]
        for (goldenName, sourceName) in opGraph.persistent { if let value = feeds[goldenName] { persistent[sourceName] = value } }
        try executable.loadPersistent(persistent, requireAll: false)
        let inputs = Set(executable.inputNames)
        var results = try executable.run(feeds.filter { inputs.contains($0.key) })
        for (goldenName, stateName) in opGraph.updatedStates { results[goldenName] = try executable.persistent(stateName) }
        return results
    }

    /// sum over outputs of sum(y * dy): the scalar whose gradient the VJP outputs are.
    func objective(_ feeds: [String: HostTensor]) throws -> Double {
        let results = try run(feeds)
        var total = 0.0
        for name in valueOutputs {
            guard let y = results[name], let dy = feeds["d\(name)"] else { continue }
            total += zip(y.doubles, dy.doubles).reduce(0) { $0 + $1.0 * $1.1 }
        }
        return total
    }
}

/// Central finite differences in f64 of `program.objective` with respect to the feed `name`,
/// compared with the program's `grad.<name>`: at up to `probes` elements (largest-gradient ones
/// first, then spread), plus the directional derivative along a seeded random direction.
/// Returns a failure message or nil.
func finiteDifferenceMismatch(_ program: VJPProgram, feeds: [String: HostTensor], wrt name: String,
                              probes: Int = 24, step h: Double = 1e-6, tolerance: Double = 1e-6) throws -> String? {
    guard let base = feeds[name] else { return "no feed \(name)" }
    let analytic = try program.run(feeds)["grad.\(name)"]!.doubles
    let values = base.doubles
    func objective(_ perturbed: [Double]) throws -> Double {
        var changed = feeds
        changed[name] = HostTensor(shape: base.shape, doubles: perturbed)
        return try program.objective(changed)
    }
    let scale = max(1, analytic.map(Swift.abs).max() ?? 0)
    var indices = Array(analytic.indices.sorted { Swift.abs(analytic[$0]) > Swift.abs(analytic[$1]) }.prefix(probes / 2))
    let stride = max(1, values.count / max(1, probes / 2))
    indices += Swift.stride(from: 0, to: values.count, by: stride).prefix(probes / 2)
    let center = try objective(values)
    /// Central difference, or nil at a kink (clip bounds, |x| at 0), where the one-sided
    /// differences disagree and no derivative exists to compare with.
    func derivative(along direction: [Double]) throws -> Double? {
        let plus = try objective(zip(values, direction).map { $0 + h * $1 })
        let minus = try objective(zip(values, direction).map { $0 - h * $1 })
        let right = (plus - center) / h, left = (center - minus) / h
        if Swift.abs(right - left) > 1e-3 * max(1, Swift.abs(right) + Swift.abs(left)) { return nil }
        return (plus - minus) / (2 * h)
    }
    var checked = 0
    for index in Set(indices).sorted() {
        var unit = [Double](repeating: 0, count: values.count)
        unit[index] = 1
        guard let numeric = try derivative(along: unit) else { continue }
        checked += 1
        if Swift.abs(numeric - analytic[index]) > tolerance * scale + 1e-5 * Swift.abs(numeric) {
            return "grad.\(name)[\(index)]: autodiff \(analytic[index]) vs finite differences \(numeric)"
        }
    }
    if checked == 0 { return "grad.\(name): every probe sat on a kink; nothing was checked" }
    var generator = SplitMix(seed: 42)
    let direction = values.map { _ in generator.nextUniform() * 2 - 1 }
    if let numeric = try derivative(along: direction) {
        let expected = zip(analytic, direction).reduce(0) { $0 + $1.0 * $1.1 }
        if Swift.abs(numeric - expected) > tolerance * max(1, Swift.abs(expected)) * 10 {
            return "grad.\(name) along a random direction: autodiff \(expected) vs finite differences \(numeric)"
        }
    }
    return nil
}

/// A tiny deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextUniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normals(_ count: Int) -> [Double] {
        (0..<count).map { _ in
            let u1 = max(nextUniform(), 1e-300), u2 = nextUniform()
            return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
        }
    }
}

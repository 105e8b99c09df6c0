import Foundation
import Sinter
import XCTest

/// Property test on random graphs: for every graph, lower bound <= planned arena <= naive total,
/// the plan verifier accepts it (the emitter runs it on every plan), and the planned program
/// computes exactly what the naive one does.
final class RandomGraphPlanTests: XCTestCase {
    /// A random DAG of elementwise ops, reductions and matmuls on small shapes, with a few
    /// outputs picked among its nodes.
    static func randomGraph(seed: UInt64) throws -> Graph {
        var rng = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let builder = GraphBuilder(name: "random_\(seed)")
        var pool: [Tensor] = [builder.input("a", [4, 6]), builder.input("b", [4, 6]), builder.input("c", [6])]
        for _ in 0..<(8 + pick(16)) {
            let x = pool[pick(pool.count)]
            let full = pool.filter { $0.shape == [4, 6] }
            let y = full[pick(full.count)]
            let next: Tensor
            switch pick(8) {
            case 0: next = x.shape == [4, 6] ? x + y : y * x
            case 1: next = y * x
            case 2: next = y - x
            case 3: next = y.tanh()
            case 4: next = y.relu() + 0.5
            case 5: next = y * y.sum(axes: [1], keepDims: true)
            case 6: next = matmul(y, matmul(y, y, transposeA: true))   // [4,6] x [6,6]
            default: next = y.exp().mean(axes: [0], keepDims: true) * y
            }
            pool.append(next)
        }
        var outputs: Set<Int> = [pool.count - 1]
        for _ in 0..<pick(3) { outputs.insert(3 + pick(pool.count - 3)) }
        for index in outputs.sorted() { try builder.graph.addOutput("y\(index)", pool[index].id) }
        return try builder.finish()
    }

    func testPlansOfRandomGraphsAreWithinBoundsAndComputeTheSame() throws {
        var generator = SplitMix64(seed: 99)
        let inputs = ["a": [4, 6], "b": [4, 6], "c": [6]].mapValues { shape in
            HostTensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in Float(generator.next() % 2000) / 1000 - 1 })
        }
        for seed in UInt64(1)...20 {
            let graph = try Self.randomGraph(seed: seed)
            let (optimized, _) = try optimizeGraph(graph)
            for fuse in [true, false] {
                var planned = CodegenOptions.fromEnvironment()
                planned.fuse = fuse
                planned.plan = true
                var naive = planned
                naive.plan = false
                let plannedProgram = try emitC(optimized, options: planned)
                let naiveProgram = try emitC(optimized, options: naive)
                let memory = plannedProgram.info.memory
                XCTAssertLessThanOrEqual(memory.lowerBoundBytes, plannedProgram.arenaBytes, "graph \(seed) fuse \(fuse)")
                XCTAssertLessThanOrEqual(plannedProgram.arenaBytes, memory.naiveBytes, "graph \(seed) fuse \(fuse)")
                XCTAssertLessThanOrEqual(plannedProgram.arenaBytes, naiveProgram.arenaBytes, "graph \(seed) fuse \(fuse)")
                let a = try Runtime.compile(plannedProgram).run(inputs)
                let b = try Runtime.compile(naiveProgram).run(inputs)
                XCTAssertEqual(a, b, "graph \(seed) fuse \(fuse): planned and naive programs disagree")
            }
        }
    }
}

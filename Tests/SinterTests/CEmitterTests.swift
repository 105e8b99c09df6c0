// Tests of the C emitter on its own: build small graphs, emit C, compile it with the system C
// compiler (-Wall -Wextra -Werror), dlopen it and compare with Swift references and with the
// TensorFlow golden files in Tests/SinterTests/Golden (read through GoldenData, Support/Golden.swift).
// Deliberately independent of SinterRuntime: this file does its own `cc` and `dlopen`.
import Foundation
import XCTest
import SinterIR
import SinterCodegen
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Compiling and running generated code

private enum CG {
    static let loc = SourceLocation(file: "CEmitterTests.swift", line: 0)
    static let compiler = ProcessInfo.processInfo.environment["SINTER_CC"] ?? "cc"
    static let openMP: Bool = {
        let dir = scratchDirectory()
        try? "int main(void){return 0;}\n".write(toFile: dir + "/p.c", atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return (try? Command.run([compiler, "-fopenmp", "-o", dir + "/p", dir + "/p.c"]))?.status == 0
    }()

    static func scratchDirectory() -> String {
        let dir = NSTemporaryDirectory() + "sinter-cg-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

}

private typealias EntryFunction = @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?,
                                                  UnsafePointer<UnsafeMutableRawPointer?>?) -> Void

/// A compiled graph with its own arena and parameter block.
private final class Compiled {
    let program: CProgram
    let handle: UnsafeMutableRawPointer
    let entry: EntryFunction
    let arena: UnsafeMutableRawPointer
    let params: UnsafeMutableRawPointer

    init(_ graph: Graph, optimize: String = "-O3") throws {
        program = try emitC(graph)
        let dir = CG.scratchDirectory()
        for (name, text) in program.headers {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        try program.source.write(toFile: dir + "/g.c", atomically: true, encoding: .utf8)
        var args = [CG.compiler, optimize, "-march=native", "-std=c11", "-fno-strict-aliasing", "-fPIC", "-shared",
                    "-Wall", "-Wextra", "-Werror", "-I", dir, "-o", dir + "/g.so", dir + "/g.c", "-lm"]
        if CG.openMP { args.insert("-fopenmp", at: 1) }
        let result = try Command.run(args)
        guard result.status == 0 else {
            throw SinterError.compile(message: "\(graph.name): \(result.output)\n--- source in \(dir)/g.c")
        }
        guard let h = dlopen(dir + "/g.so", RTLD_NOW | RTLD_LOCAL) else {
            throw SinterError.compile(message: String(cString: dlerror()))
        }
        handle = h
        try? FileManager.default.removeItem(atPath: dir)   // kept only when compiling fails
        guard let symbol = dlsym(h, "sinter_entry"), let version = dlsym(h, "sinter_abi_version") else {
            throw SinterError.compile(message: "missing exported symbols")
        }
        typealias VersionFunction = @convention(c) () -> Int32
        guard unsafeBitCast(version, to: VersionFunction.self)() == 1 else {
            throw SinterError.compile(message: "wrong ABI version")
        }
        entry = unsafeBitCast(symbol, to: EntryFunction.self)
        arena = UnsafeMutableRawPointer.allocate(byteCount: max(program.arenaBytes, 64), alignment: 64)
        params = UnsafeMutableRawPointer.allocate(byteCount: max(program.paramBlockBytes, 64), alignment: 64)
        params.initializeMemory(as: UInt8.self, repeating: 0, count: max(program.paramBlockBytes, 64))
    }

    deinit {
        arena.deallocate()
        params.deallocate()
    }

    func setParam(_ name: String, _ values: [Double]) {
        let slot = program.persistent.first { $0.name == name }!
        store(values, slot.type.dtype, params + slot.offset)
    }

    func param(_ name: String) -> [Double] {
        let slot = program.persistent.first { $0.name == name }!
        return load(slot.type, params + slot.offset)
    }

    /// Runs once; inputs by name, all outputs by name.
    func run(_ inputs: [String: [Double]]) -> [String: [Double]] {
        var buffers: [UnsafeMutableRawPointer?] = []
        for slot in program.inputs {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(slot.type.byteSize, 8), alignment: 64)
            store(inputs[slot.name] ?? [Double](repeating: 0, count: slot.type.count), slot.type.dtype, buffer)
            buffers.append(buffer)
        }
        for slot in program.outputs {
            buffers.append(UnsafeMutableRawPointer.allocate(byteCount: max(slot.type.byteSize, 8), alignment: 64))
        }
        buffers.withUnsafeBufferPointer { io in
            entry(arena.assumingMemoryBound(to: UInt8.self), params.assumingMemoryBound(to: UInt8.self), io.baseAddress)
        }
        var result: [String: [Double]] = [:]
        for (j, slot) in program.outputs.enumerated() {
            result[slot.name] = load(slot.type, buffers[program.inputs.count + j]!)
        }
        for buffer in buffers { buffer?.deallocate() }
        return result
    }

    private func store(_ values: [Double], _ dtype: DType, _ p: UnsafeMutableRawPointer) {
        for (i, v) in values.enumerated() {
            switch dtype {
            case .f32: p.storeBytes(of: Float(v), toByteOffset: 4 * i, as: Float.self)
            case .f64: p.storeBytes(of: v, toByteOffset: 8 * i, as: Double.self)
            case .i32: p.storeBytes(of: Int32(v), toByteOffset: 4 * i, as: Int32.self)
            }
        }
    }

    private func load(_ type: TensorType, _ p: UnsafeMutableRawPointer) -> [Double] {
        (0..<type.count).map { i in
            switch type.dtype {
            case .f32: return Double(p.load(fromByteOffset: 4 * i, as: Float.self))
            case .f64: return p.load(fromByteOffset: 8 * i, as: Double.self)
            case .i32: return Double(p.load(fromByteOffset: 4 * i, as: Int32.self))
            }
        }
    }
}

// MARK: - Graph building shorthands

private extension Graph {
    func input(_ name: String, _ dtype: DType, _ shape: [Int]) throws -> Int {
        try add(.input, [], Attributes(["name": .string(name)]), type: TensorType(dtype, shape), at: CG.loc)
    }
    func state(_ name: String, _ dtype: DType, _ shape: [Int], trainable: Bool = false) throws -> Int {
        try add(trainable ? .param : .state, [], Attributes(["name": .string(name), "init": .string("zeros")]),
                type: TensorType(dtype, shape), at: CG.loc)
    }
    func constant(_ value: Double, _ dtype: DType, _ shape: [Int] = []) throws -> Int {
        try add(.constant, [], Attributes(["value": .float(value)]), type: TensorType(dtype, shape), at: CG.loc)
    }
    @discardableResult
    func op(_ op: Op, _ operands: [Int], _ attrs: [String: Attribute] = [:], type: TensorType? = nil) throws -> Int {
        try add(op, operands, Attributes(attrs), type: type, at: CG.loc)
    }
}

/// Deterministic pseudo-random values in [-1, 1).
private func values(_ count: Int, seed: UInt64) -> [Double] {
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53) * 2 - 1
    }
}

private func maxAbsDiff(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// TF SAME pads (before, after) for size n, kernel k, stride s.
private func samePads(_ n: Int, _ k: Int, _ s: Int) -> (Int, Int) {
    let out = (n + s - 1) / s
    let total = max((out - 1) * s + k - n, 0)
    return (total / 2, total - total / 2)
}

// MARK: - Golden files

/// One golden op case (read by the suite's one reader, `GoldenData`), as plain arrays.
private struct Golden {
    let tensors: [String: (shape: [Int], values: [Double])]
    let info: [String: TensorInfo]
    let attrs: [String: Any]

    init(_ goldenCase: GoldenCase) throws {
        tensors = try goldenCase.load().mapValues { ($0.shape, $0.doubles) }
        info = Dictionary(uniqueKeysWithValues: goldenCase.tensors.map { ($0.name, $0) })
        attrs = goldenCase.attrs
    }

    subscript(name: String) -> [Double] { tensors[name]!.values }
    func shape(_ name: String) -> [Int] { tensors[name]!.shape }

    /// README tolerance: 10 * ref64_max_abs_diff + 1e-5 * ref64_max_abs + 1e-7 (plus a float32 ulp of slack).
    func check(_ name: String, _ got: [Double], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let expected = self[name]
        let t = info[name]
        let tol = 10 * (t?.ref64MaxAbsDiff ?? 0) + 2e-5 * (t?.ref64MaxAbs ?? 1) + 1e-6
        let diff = maxAbsDiff(got, expected)
        XCTAssertLessThanOrEqual(diff, tol, "\(label) \(name): max |diff| \(diff) > tol \(tol)", file: file, line: line)
    }
}

/// Runs `body` on every golden case of `op`; fails (throws) when there is none.
private func withGoldenCases(_ op: String, _ body: (Golden, String) throws -> Void) throws {
    for goldenCase in try GoldenData.cases(kind: "op", op: op) { try body(try Golden(goldenCase), goldenCase.name) }
}

// MARK: - Naive references (Double)

private enum Ref {
    /// y[b,i,j,o] = sum x[b,i*sh+a-top,j*sw+c-left,ch] * w[a,c,ch,o].
    static func conv(_ x: [Double], _ xs: [Int], _ w: [Double], _ ws: [Int], _ ys: [Int], _ s: [Int], _ p: [Int]) -> [Double] {
        var y = [Double](repeating: 0, count: ys.reduce(1, *))
        for b in 0..<xs[0] { for i in 0..<ys[1] { for j in 0..<ys[2] { for o in 0..<ws[3] {
            var acc = 0.0
            for a in 0..<ws[0] { for c in 0..<ws[1] {
                let h = i * s[0] + a - p[0], v = j * s[1] + c - p[2]
                guard h >= 0, h < xs[1], v >= 0, v < xs[2] else { continue }
                for ch in 0..<xs[3] { acc += x[((b * xs[1] + h) * xs[2] + v) * xs[3] + ch] * w[((a * ws[1] + c) * ws[2] + ch) * ws[3] + o] }
            } }
            y[((b * ys[1] + i) * ys[2] + j) * ys[3] + o] = acc
        } } } }
        return y
    }

    static func convInputGrad(_ dy: [Double], _ ys: [Int], _ w: [Double], _ ws: [Int], _ xs: [Int], _ s: [Int], _ p: [Int]) -> [Double] {
        var dx = [Double](repeating: 0, count: xs.reduce(1, *))
        for b in 0..<xs[0] { for i in 0..<ys[1] { for j in 0..<ys[2] { for o in 0..<ws[3] {
            let g = dy[((b * ys[1] + i) * ys[2] + j) * ys[3] + o]
            for a in 0..<ws[0] { for c in 0..<ws[1] {
                let h = i * s[0] + a - p[0], v = j * s[1] + c - p[2]
                guard h >= 0, h < xs[1], v >= 0, v < xs[2] else { continue }
                for ch in 0..<xs[3] { dx[((b * xs[1] + h) * xs[2] + v) * xs[3] + ch] += g * w[((a * ws[1] + c) * ws[2] + ch) * ws[3] + o] }
            } }
        } } } }
        return dx
    }

    static func convFilterGrad(_ x: [Double], _ xs: [Int], _ dy: [Double], _ ys: [Int], _ ws: [Int], _ s: [Int], _ p: [Int]) -> [Double] {
        var dw = [Double](repeating: 0, count: ws.reduce(1, *))
        for b in 0..<xs[0] { for i in 0..<ys[1] { for j in 0..<ys[2] { for o in 0..<ws[3] {
            let g = dy[((b * ys[1] + i) * ys[2] + j) * ys[3] + o]
            for a in 0..<ws[0] { for c in 0..<ws[1] {
                let h = i * s[0] + a - p[0], v = j * s[1] + c - p[2]
                guard h >= 0, h < xs[1], v >= 0, v < xs[2] else { continue }
                for ch in 0..<xs[3] { dw[((a * ws[1] + c) * ws[2] + ch) * ws[3] + o] += g * x[((b * xs[1] + h) * xs[2] + v) * xs[3] + ch] }
            } }
        } } } }
        return dw
    }

    /// Element of a row-major tensor by multi-index.
    static func index(_ idx: [Int], _ shape: [Int]) -> Int { zip(idx, rowMajorStrides(shape)).reduce(0) { $0 + $1.0 * $1.1 } }

    static func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        return rowMajorStrides(shape).map { stride in defer { rest %= max(stride, 1) }; return rest / max(stride, 1) }
    }

    /// numpy broadcasting read.
    static func broadcastRead(_ x: [Double], _ xs: [Int], _ idx: [Int]) -> Double {
        let shift = idx.count - xs.count
        let own = xs.indices.map { xs[$0] == 1 ? 0 : idx[$0 + shift] }
        return x[index(own, xs)]
    }
}

// MARK: - Tests

final class CEmitterTests: XCTestCase {
    /// Every op, at f32 and f64, compiles with -Wall -Wextra -Werror and runs.
    func testEveryOpCompilesWithoutWarnings() throws {
        for dtype in [DType.f32, .f64] {
            let g = Graph(name: "every_op_\(dtype)")
            let x = try g.input("x", dtype, [2, 6, 5, 3])
            let v = try g.input("v", dtype, [3])
            let counter = try g.input("counter", .i32, [])
            var unary: [Int] = []
            for op in Op.allCases where op.isUnaryElementwise && op != .cast {
                var attrs: [String: Attribute] = [:]
                if op == .leakyRelu { attrs["alpha"] = .float(0.2) }
                if op == .clip { attrs = ["low": .float(-0.5), "high": .float(0.5)] }
                unary.append(try g.op(op, [x], attrs))
            }
            let casted = try g.op(.cast, [x], ["to": .dtype(.i32)])
            let back = try g.op(.cast, [casted], ["to": .dtype(dtype)])
            var binary: [Int] = []
            for op in Op.allCases where op.isBinaryElementwise {
                binary.append(try g.op(op, [x, v]))
                binary.append(try g.op(op, [casted, try g.op(.cast, [v], ["to": .dtype(.i32)])]))
            }
            let sel = try g.op(.select, [binary[binary.count - 2], x, try g.constant(2, dtype)])
            var total = try g.op(.add, [back, sel])
            for u in unary { total = try g.op(.add, [total, u]) }
            for axes in [[1, 2], [0, 3], [3], [-1, 0]] {
                for op in [Op.reduceSum, .reduceMean, .reduceMax] {
                    _ = try g.op(op, [x], ["axes": .ints(axes), "keepdims": .bool(axes.count == 1)])
                }
            }
            let r = try g.op(.reshape, [x], type: TensorType(dtype, [12, 15]))
            let bt = try g.op(.broadcastTo, [v], type: TensorType(dtype, [4, 3]))
            let tr = try g.op(.transpose, [x], ["perm": .ints([0, 3, 1, 2])])
            let cc = try g.op(.concat, [x, x], ["axis": .int(3)])
            let sl = try g.op(.slice, [x], ["begin": .ints([0, 1, 1, 0]), "end": .ints([2, 5, 4, 2])])
            let pc = try g.op(.pad, [x], ["pads": .ints([0, 0, 1, 2, 2, 1, 0, 0]), "mode": .string("constant")])
            let pr = try g.op(.pad, [x], ["pads": .ints([0, 0, 2, 1, 1, 2, 0, 0]), "mode": .string("reflect")])
            let rv = try g.op(.reverse, [x], ["axes": .ints([1, 3])])
            let mm = try g.op(.matmul, [r, try g.op(.transpose, [r], ["perm": .ints([1, 0])])])
            let mt = try g.op(.matmul, [r, r], ["transpose_a": .bool(true)])
            let x3 = try g.op(.reshape, [x], type: TensorType(dtype, [2, 30, 3]))
            let mb = try g.op(.matmul, [x3, x3], ["transpose_b": .bool(true)])
            let w = try g.input("w", dtype, [3, 3, 3, 4])
            let conv = try g.op(.conv2d, [x, w], ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])])
            let dx = try g.op(.conv2dInputGrad, [conv, w], ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])], type: TensorType(dtype, [2, 6, 5, 3]))
            let dw = try g.op(.conv2dFilterGrad, [x, conv], ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])], type: TensorType(dtype, [3, 3, 3, 4]))
            let pool: [String: Attribute] = ["window": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 0])]
            let mp = try g.op(.maxPool, [x], pool)
            let mpg = try g.op(.maxPoolGrad, [x, mp], pool)
            let ap = try g.op(.avgPool, [x], pool)
            let apg = try g.op(.avgPoolGrad, [ap], pool, type: TensorType(dtype, [2, 6, 5, 3]))
            let rs = try g.op(.resizeBilinear, [x], type: TensorType(dtype, [2, 9, 4, 3]))
            let rsg = try g.op(.resizeBilinearGrad, [rs], type: TensorType(dtype, [2, 6, 5, 3]))
            let rn = try g.op(.randomNormal, [counter], ["seed": .int(7)], type: TensorType(dtype, [4, 5]))
            let ru = try g.op(.randomUniform, [counter], ["seed": .int(8), "low": .float(-1), "high": .float(1)], type: TensorType(dtype, [4, 5]))
            let am = try g.op(.argmax, [x], ["axis": .int(2)])
            let oh = try g.op(.oneHot, [am], type: TensorType(dtype, [2, 6, 3, 7]))
            for (i, node) in [total, bt, tr, cc, sl, pc, pr, rv, mm, mt, mb, dx, dw, mpg, apg, rsg, rn, ru, oh].enumerated() {
                try g.addOutput("o\(i)", node)
            }
            // Effects.
            let p = try g.state("p", dtype, [3], trainable: true)
            let m = try g.state("m", dtype, [3]), vv = try g.state("vv", dtype, [3]), it = try g.state("it", .i32, [])
            let grad = try g.op(.mul, [v, try g.constant(0.5, dtype)])
            try g.op(.adamUpdate, [p, m, vv, it, grad], ["lr": .float(0.1), "beta1": .float(0.9), "beta2": .float(0.999), "epsilon": .float(1e-7),
                                                       "decay_rate": .float(0.5), "decay_steps": .float(10)])
            try g.op(.rmspropUpdate, [p, m, it, grad], ["lr": .float(0.1), "rho": .float(0.9), "epsilon": .float(1e-7)])
            try g.op(.sgdUpdate, [p, vv, it, grad], ["lr": .float(0.1), "momentum": .float(0.9)])
            try g.op(.assign, [it, try g.op(.add, [it, try g.constant(1, .i32)])])
            let compiled = try Compiled(g)
            let out = compiled.run(["x": values(180, seed: 1).map { $0 + 1.5 }, "v": [0.5, -1, 2], "w": values(108, seed: 2), "counter": [3]])
            XCTAssertEqual(out.count, 19)
            XCTAssertEqual(compiled.param("it"), [1])
            XCTAssertTrue(compiled.program.source.hasPrefix("/* Sinter"))
            XCTAssertTrue(compiled.program.source.contains("#include \"sinter_prelude.h\""))
        }
    }
}

// MARK: - Golden data (TensorFlow)

extension CEmitterTests {
    private func goldenAttrs(_ gold: Golden) -> (k: [Int], s: [Int], same: Bool) {
        let k = (gold.attrs["kernel"] ?? gold.attrs["pool"]) as? [Int] ?? [1, 1]
        let s = gold.attrs["strides"] as? [Int] ?? [1, 1]
        return (k, s, (gold.attrs["padding"] as? String) == "SAME")
    }

    func testGoldenConv2D() throws {
        try withGoldenCases("conv2d") { gold, name in
            let (k, s, same) = goldenAttrs(gold)
            let xs = gold.shape("x"), ks = gold.shape("kernel"), ys = gold.shape("y")
            let ph = same ? samePads(xs[1], k[0], s[0]) : (0, 0), pw = same ? samePads(xs[2], k[1], s[1]) : (0, 0)
            let attrs: [String: Attribute] = ["strides": .ints(s), "pads": .ints([ph.0, ph.1, pw.0, pw.1])]
            let g = Graph(name: "golden_conv")
            let x = try g.input("x", .f32, xs), kernel = try g.input("kernel", .f32, ks), dy = try g.input("dy", .f32, ys)
            var y = try g.op(.conv2d, [x, kernel], attrs)
            let hasBias = gold.tensors["bias"] != nil
            if hasBias { y = try g.op(.add, [y, try g.input("bias", .f32, [ks[3]])]) }
            try g.addOutput("y", y)
            try g.addOutput("gx", try g.op(.conv2dInputGrad, [dy, kernel], attrs, type: TensorType(.f32, xs)))
            try g.addOutput("gk", try g.op(.conv2dFilterGrad, [x, dy], attrs, type: TensorType(.f32, ks)))
            try g.addOutput("gb", try g.op(.reduceSum, [dy], ["axes": .ints([0, 1, 2])]))
            var feed = ["x": gold["x"], "kernel": gold["kernel"], "dy": gold["dy"]]
            if hasBias { feed["bias"] = gold["bias"] }
            let out = try Compiled(g).run(feed)
            gold.check("y", out["y"]!, name)
            gold.check("grad.x", out["gx"]!, name)
            gold.check("grad.kernel", out["gk"]!, name)
            if hasBias { gold.check("grad.bias", out["gb"]!, name) }
        }
    }

    /// Keras Conv2DTranspose = conv2d_input_grad with the kernel (kh,kw,out,in) used as HWIO.
    func testGoldenConv2DTranspose() throws {
        try withGoldenCases("conv2d_transpose") { gold, name in
            let (k, s, same) = goldenAttrs(gold)
            let xs = gold.shape("x"), ks = gold.shape("kernel"), ys = gold.shape("y")
            let ph = same ? samePads(ys[1], k[0], s[0]) : (0, 0), pw = same ? samePads(ys[2], k[1], s[1]) : (0, 0)
            let attrs: [String: Attribute] = ["strides": .ints(s), "pads": .ints([ph.0, ph.1, pw.0, pw.1])]
            let g = Graph(name: "golden_deconv")
            let x = try g.input("x", .f32, xs), kernel = try g.input("kernel", .f32, ks), dy = try g.input("dy", .f32, ys)
            var y = try g.op(.conv2dInputGrad, [x, kernel], attrs, type: TensorType(.f32, ys))
            let hasBias = gold.tensors["bias"] != nil
            if hasBias { y = try g.op(.add, [y, try g.input("bias", .f32, [ks[2]])]) }
            try g.addOutput("y", y)
            try g.addOutput("gx", try g.op(.conv2d, [dy, kernel], attrs))
            try g.addOutput("gk", try g.op(.conv2dFilterGrad, [dy, x], attrs, type: TensorType(.f32, ks)))
            var feed = ["x": gold["x"], "kernel": gold["kernel"], "dy": gold["dy"]]
            if hasBias { feed["bias"] = gold["bias"] }
            let out = try Compiled(g).run(feed)
            gold.check("y", out["y"]!, name)
            gold.check("grad.x", out["gx"]!, name)
            gold.check("grad.kernel", out["gk"]!, name)
        }
    }

    func testGoldenPools() throws {
        for op in ["max_pool", "avg_pool"] {
            try withGoldenCases(op) { gold, name in
                let (k, s, same) = goldenAttrs(gold)
                let xs = gold.shape("x"), ys = gold.shape("y")
                let ph = same ? samePads(xs[1], k[0], s[0]) : (0, 0), pw = same ? samePads(xs[2], k[1], s[1]) : (0, 0)
                let attrs: [String: Attribute] = ["window": .ints(k), "strides": .ints(s), "pads": .ints([ph.0, ph.1, pw.0, pw.1])]
                let g = Graph(name: "golden_pool")
                let x = try g.input("x", .f32, xs), dy = try g.input("dy", .f32, ys)
                if op == "max_pool" {
                    try g.addOutput("y", try g.op(.maxPool, [x], attrs))
                    try g.addOutput("gx", try g.op(.maxPoolGrad, [x, dy], attrs))
                } else {
                    try g.addOutput("y", try g.op(.avgPool, [x], attrs))
                    try g.addOutput("gx", try g.op(.avgPoolGrad, [dy], attrs, type: TensorType(.f32, xs)))
                }
                let out = try Compiled(g).run(["x": gold["x"], "dy": gold["dy"]])
                gold.check("y", out["y"]!, name)
                gold.check("grad.x", out["gx"]!, name)
            }
        }
    }

    func testGoldenResizeBilinear() throws {
        try withGoldenCases("resize_bilinear") { gold, name in
            let xs = gold.shape("x"), ys = gold.shape("y")
            let g = Graph(name: "golden_resize")
            let x = try g.input("x", .f32, xs), dy = try g.input("dy", .f32, ys)
            try g.addOutput("y", try g.op(.resizeBilinear, [x], type: TensorType(.f32, ys)))
            try g.addOutput("gx", try g.op(.resizeBilinearGrad, [dy], type: TensorType(.f32, xs)))
            let out = try Compiled(g).run(["x": gold["x"], "dy": gold["dy"]])
            gold.check("y", out["y"]!, name)
            gold.check("grad.x", out["gx"]!, name)
        }
    }

    func testGoldenDataMovement() throws {
        try withGoldenCases("reflect_pad") { gold, name in
            let pads = (gold.attrs["paddings"] as! [[Int]]).flatMap { $0 }
            let g = Graph(name: "golden_pad")
            let x = try g.input("x", .f32, gold.shape("x"))
            try g.addOutput("y", try g.op(.pad, [x], ["pads": .ints(pads), "mode": .string("reflect")]))
            gold.check("y", try Compiled(g).run(["x": gold["x"]])["y"]!, name)
        }
        try withGoldenCases("transpose") { gold, name in
            let perm = gold.attrs["perm"] as! [Int]
            var inverse = perm
            for (i, p) in perm.enumerated() { inverse[p] = i }
            let g = Graph(name: "golden_transpose")
            let x = try g.input("x", .f32, gold.shape("x")), dy = try g.input("dy", .f32, gold.shape("dy"))
            try g.addOutput("y", try g.op(.transpose, [x], ["perm": .ints(perm)]))
            try g.addOutput("gx", try g.op(.transpose, [dy], ["perm": .ints(inverse)]))
            let out = try Compiled(g).run(["x": gold["x"], "dy": gold["dy"]])
            gold.check("y", out["y"]!, name)
            gold.check("grad.x", out["gx"]!, name)
        }
        try withGoldenCases("concat") { gold, name in
            let axis = gold.attrs["axis"] as! Int
            let s0 = gold.shape("x0"), s1 = gold.shape("x1"), ys = gold.shape("y")
            let g = Graph(name: "golden_concat")
            let x0 = try g.input("x0", .f32, s0), x1 = try g.input("x1", .f32, s1), dy = try g.input("dy", .f32, ys)
            try g.addOutput("y", try g.op(.concat, [x0, x1], ["axis": .int(axis)]))
            var end0 = ys, begin1 = [Int](repeating: 0, count: ys.count)
            end0[axis] = s0[axis]
            begin1[axis] = s0[axis]
            try g.addOutput("g0", try g.op(.slice, [dy], ["begin": .ints([Int](repeating: 0, count: ys.count)), "end": .ints(end0)]))
            try g.addOutput("g1", try g.op(.slice, [dy], ["begin": .ints(begin1), "end": .ints(ys)]))
            let out = try Compiled(g).run(["x0": gold["x0"], "x1": gold["x1"], "dy": gold["dy"]])
            gold.check("y", out["y"]!, name)
            gold.check("grad.x0", out["g0"]!, name)
            gold.check("grad.x1", out["g1"]!, name)
        }
    }

    func testGoldenDenseAndReductions() throws {
        try withGoldenCases("dense") { gold, name in
            let xs = gold.shape("x"), ks = gold.shape("kernel"), ys = gold.shape("y")
            let g = Graph(name: "golden_dense")
            let x = try g.input("x", .f32, xs), k = try g.input("kernel", .f32, ks)
            let b = try g.input("bias", .f32, [ks[1]]), dy = try g.input("dy", .f32, ys)
            try g.addOutput("y", try g.op(.add, [try g.op(.matmul, [x, k]), b]))
            try g.addOutput("gx", try g.op(.matmul, [dy, k], ["transpose_b": .bool(true)]))
            try g.addOutput("gk", try g.op(.matmul, [x, dy], ["transpose_a": .bool(true)]))
            try g.addOutput("gb", try g.op(.reduceSum, [dy], ["axes": .ints([0])]))
            let out = try Compiled(g).run(["x": gold["x"], "kernel": gold["kernel"], "bias": gold["bias"], "dy": gold["dy"]])
            gold.check("y", out["y"]!, name)
            gold.check("grad.x", out["gx"]!, name)
            gold.check("grad.kernel", out["gk"]!, name)
            gold.check("grad.bias", out["gb"]!, name)
        }
        for op in ["reduce_mean", "reduce_sum"] {
            try withGoldenCases(op) { gold, name in
                let xs = gold.shape("x")
                let axes = gold.attrs["axes"] as? [Int] ?? Array(xs.indices)
                let g = Graph(name: "golden_reduce")
                let x = try g.input("x", .f32, xs)
                try g.addOutput("y", try g.op(op == "reduce_sum" ? .reduceSum : .reduceMean, [x],
                                              ["axes": .ints(axes), "keepdims": .bool(gold.attrs["keepdims"] as? Bool ?? false)]))
                gold.check("y", try Compiled(g).run(["x": gold["x"]])["y"]!, name)
            }
        }
    }

    func testGoldenUnary() throws {
        let ops: [(String, Op, [String: Attribute])] = [
            ("relu", .relu, [:]), ("leaky_relu", .leakyRelu, ["alpha": .float(0.2)]), ("selu", .selu, [:]),
            ("sigmoid", .sigmoid, [:]), ("tanh", .tanh, [:]), ("softplus", .softplus, [:]), ("exp", .exp, [:]),
            ("log", .log, [:]), ("sqrt", .sqrt, [:]), ("square", .square, [:]), ("abs", .abs, [:]),
            ("clip_by_value", .clip, ["low": .float(-0.5), "high": .float(0.5)]),
        ]
        for (name, op, attrs) in ops {
            try withGoldenCases(name) { gold, caseName in
                let g = Graph(name: "golden_unary")
                let x = try g.input("x", .f32, gold.shape("x"))
                try g.addOutput("y", try g.op(op, [x], attrs))
                gold.check("y", try Compiled(g).run(["x": gold["x"]])["y"]!, caseName)
            }
        }
    }
}

// MARK: - Swift references

extension CEmitterTests {
    private func assertClose(_ got: [Double], _ want: [Double], _ dtype: DType, _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        let scale = max(1, want.map(abs).max() ?? 1)
        let tol = (dtype == .f64 ? 1e-11 : 2e-5) * scale
        XCTAssertEqual(got.count, want.count, label, file: file, line: line)
        if got.count == want.count {
            XCTAssertLessThanOrEqual(maxAbsDiff(got, want), tol, label, file: file, line: line)
        }
    }

    /// conv2d, input grad and filter grad on awkward geometries (asymmetric pads, strides 1-3,
    /// channel counts hitting every gemm path) against the naive reference.
    func testConvolutionsAgainstReference() throws {
        let cases: [(x: [Int], k: [Int], co: Int, s: [Int], p: [Int])] = [
            ([2, 7, 9, 3], [3, 3], 40, [1, 1], [1, 1, 1, 1]),
            ([1, 8, 8, 20], [5, 4], 48, [2, 3], [2, 1, 0, 2]),
            ([3, 5, 6, 7], [1, 1], 5, [1, 2], [0, 0, 0, 0]),
            ([2, 9, 7, 4], [4, 4], 33, [2, 2], [1, 2, 3, 0]),
            ([1, 4, 4, 2], [3, 3], 17, [3, 3], [0, 0, 2, 2]),
            ([2, 6, 6, 13], [2, 3], 1, [2, 1], [0, 1, 1, 1]),
        ]
        for dtype in [DType.f64, .f32] {
            for (n, c) in cases.enumerated() {
                let ws = [c.k[0], c.k[1], c.x[3], c.co]
                let attrs: [String: Attribute] = ["strides": .ints(c.s), "pads": .ints(c.p)]
                let g = Graph(name: "conv_ref")
                let x = try g.input("x", dtype, c.x), w = try g.input("w", dtype, ws)
                let y = try g.op(.conv2d, [x, w], attrs)
                let ys = g.type(of: y).shape
                let dy = try g.input("dy", dtype, ys)
                try g.addOutput("y", y)
                try g.addOutput("dx", try g.op(.conv2dInputGrad, [dy, w], attrs, type: TensorType(dtype, c.x)))
                try g.addOutput("dw", try g.op(.conv2dFilterGrad, [x, dy], attrs, type: TensorType(dtype, ws)))
                let xv = values(c.x.reduce(1, *), seed: UInt64(n + 1)), wv = values(ws.reduce(1, *), seed: UInt64(n + 50))
                let dyv = values(ys.reduce(1, *), seed: UInt64(n + 99))
                let round: ([Double]) -> [Double] = { dtype == .f32 ? $0.map { Double(Float($0)) } : $0 }
                let out = try Compiled(g).run(["x": xv, "w": wv, "dy": dyv])
                let label = "\(dtype) case \(n)"
                assertClose(out["y"]!, Ref.conv(round(xv), c.x, round(wv), ws, ys, c.s, c.p), dtype, label + " y")
                assertClose(out["dx"]!, Ref.convInputGrad(round(dyv), ys, round(wv), ws, c.x, c.s, c.p), dtype, label + " dx")
                assertClose(out["dw"]!, Ref.convFilterGrad(round(xv), c.x, round(dyv), ys, ws, c.s, c.p), dtype, label + " dw")
            }
        }
    }

    func testMatmulAgainstReference() throws {
        for dtype in [DType.f64, .f32, .i32] {
            for (batch, m, k, n) in [(0, 5, 7, 3), (3, 50, 9, 37), (0, 1, 64, 70), (2, 97, 3, 16)] where dtype != .i32 || m == 5 {
                let r3 = batch > 0
                let b = max(batch, 1)
                let prefix: [Int] = r3 ? [b] : []
                let g = Graph(name: "mm")
                var feed: [String: [Double]] = [:]
                var wants: [String: [Double]] = [:]
                for ta in [false, true] {
                    for tb in [false, true] {
                        let aShape: [Int] = prefix + (ta ? [k, m] : [m, k]), bShape: [Int] = prefix + (tb ? [n, k] : [k, n])
                        let name = "\(ta)\(tb)"
                        let a = try g.input("a" + name, dtype, aShape), bb = try g.input("b" + name, dtype, bShape)
                        try g.addOutput(name, try g.op(.matmul, [a, bb], ["transpose_a": .bool(ta), "transpose_b": .bool(tb)]))
                        var av = values(aShape.reduce(1, *), seed: 3), bv = values(bShape.reduce(1, *), seed: 4)
                        if dtype == .i32 { av = av.map { ($0 * 5).rounded(.towardZero) }; bv = bv.map { ($0 * 5).rounded(.towardZero) } }
                        if dtype == .f32 { av = av.map { Double(Float($0)) }; bv = bv.map { Double(Float($0)) } }
                        feed["a" + name] = av
                        feed["b" + name] = bv
                        var want = [Double](repeating: 0, count: b * m * n)
                        for p in 0..<b { for i in 0..<m { for j in 0..<n {
                            var acc = 0.0
                            for q in 0..<k {
                                let x = av[p * m * k + (ta ? q * m + i : i * k + q)], y = bv[p * k * n + (tb ? j * k + q : q * n + j)]
                                acc += x * y
                            }
                            want[(p * m + i) * n + j] = acc
                        } } }
                        wants[name] = want
                    }
                }
                let out = try Compiled(g).run(feed)
                for (name, want) in wants {
                    assertClose(out[name]!, want, dtype == .i32 ? .f64 : dtype, "\(dtype) b\(batch) \(m)x\(k)x\(n) ta/tb \(name)")
                }
            }
        }
    }

    func testElementwiseBroadcastingAgainstReference() throws {
        let shapes: [([Int], [Int])] = [([2, 3, 4], [2, 3, 4]), ([2, 1, 4, 3], [3, 1, 1]), ([5], [3, 1]), ([], [2, 2]), ([70, 1, 9], [1, 60, 1])]
        let ops: [(Op, (Double, Double) -> Double)] = [
            (.add, +), (.sub, -), (.mul, *), (.div, /), (.maximum, { max($0, $1) }), (.minimum, { min($0, $1) }),
            (.pow, { Foundation.pow(abs($0) + 0.5, $1) }), (.greater, { $0 > $1 ? 1 : 0 }), (.lessEqual, { $0 <= $1 ? 1 : 0 }),
            (.equal, { $0 == $1 ? 1 : 0 }),
        ]
        for dtype in [DType.f64, .f32] {
            for (sa, sb) in shapes {
                let out = ShapeInference.broadcast(sa, sb)!
                let g = Graph(name: "ew")
                let a = try g.input("a", dtype, sa), b = try g.input("b", dtype, sb)
                let pa = try g.op(.add, [try g.op(.abs, [a]), try g.constant(0.5, dtype)])
                for (i, (op, _)) in ops.enumerated() { try g.addOutput("o\(i)", try g.op(op, [op == .pow ? pa : a, b])) }
                try g.addOutput("sel", try g.op(.select, [try g.op(.greater, [a, b]), a, try g.constant(-3, dtype)]))
                let av = values(sa.reduce(1, *), seed: 5).map { ($0 * 4).rounded() / 2 }, bv = values(sb.reduce(1, *), seed: 6).map { ($0 * 4).rounded() / 2 }.map { $0 == 0 ? 0.5 : $0 }
                let result = try Compiled(g).run(["a": av, "b": bv])
                for (i, (op, f)) in ops.enumerated() {
                    let want = (0..<out.reduce(1, *)).map { flat -> Double in
                        let idx = Ref.multiIndex(flat, out)
                        return f(Ref.broadcastRead(av, sa, idx), Ref.broadcastRead(bv, sb, idx))
                    }
                    assertClose(result["o\(i)"]!, want, dtype, "\(op.rawValue) \(sa) \(sb) \(dtype)")
                }
                let want = (0..<out.reduce(1, *)).map { flat -> Double in
                    let idx = Ref.multiIndex(flat, out)
                    let x = Ref.broadcastRead(av, sa, idx), y = Ref.broadcastRead(bv, sb, idx)
                    return x > y ? x : -3
                }
                assertClose(result["sel"]!, want, dtype, "select")
            }
        }
    }

    func testUnaryEdgeCases() throws {
        let x: [Double] = [-1000, -90, -20, -1.5, -0.0, 0, 1e-3, 2.5, 7, 20, 90, 1000]
        let alpha = 0.2
        let selu = { (v: Double) in v > 0 ? 1.0507009873554805 * v : 1.0507009873554805 * 1.6732632423543772 * expm1(v) }
        let refs: [(Op, [String: Attribute], (Double) -> Double)] = [
            (.sigmoid, [:], { 1 / (1 + Foundation.exp(-$0)) }), (.softplus, [:], { log1p(Foundation.exp(-abs($0))) + max($0, 0) }),
            (.selu, [:], selu), (.sign, [:], { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }), (.relu6, [:], { min(max($0, 0), 6) }),
            (.leakyRelu, ["alpha": .float(alpha)], { $0 > 0 ? $0 : alpha * $0 }), (.neg, [:], { -$0 }), (.tanh, [:], { Foundation.tanh($0) }),
            (.clip, ["low": .float(-2), "high": .float(3)], { min(max($0, -2), 3) }),
        ]
        for dtype in [DType.f64, .f32] {
            let g = Graph(name: "unary")
            let a = try g.input("x", dtype, [x.count])
            for (i, r) in refs.enumerated() { try g.addOutput("o\(i)", try g.op(r.0, [a], r.1)) }
            try g.addOutput("cast", try g.op(.cast, [a], ["to": .dtype(.i32)]))
            let out = try Compiled(g).run(["x": x])
            for (i, r) in refs.enumerated() {
                let got = out["o\(i)"]!
                XCTAssertTrue(got.allSatisfy(\.isFinite), "\(r.0.rawValue) \(dtype) not finite: \(got)")
                assertClose(got, x.map(r.2), dtype, "\(r.0.rawValue) \(dtype)")
            }
            XCTAssertEqual(out["cast"]!, x.map { $0.rounded(.towardZero) })
        }
    }

    func testReductionsAgainstReference() throws {
        let cases: [([Int], [Int], Bool)] = [
            ([2, 3, 4, 5], [1, 2], true), ([2, 3, 4, 5], [0, 3], false), ([2, 3, 4, 5], [0, 1, 2, 3], false),
            ([700, 3], [0], false), ([3, 5000], [-1], true), ([4, 1, 6], [1], false), ([6, 7, 8], [0, 2], false),
            ([300, 2, 200], [0, 1], false), ([5, 6], [1, 0], true), ([2, 1570], [1], false),
        ]
        for dtype in [DType.f64, .f32] {
            for (shape, axes, keep) in cases {
                let g = Graph(name: "reduce")
                let x = try g.input("x", dtype, shape)
                for op in [Op.reduceSum, .reduceMean, .reduceMax] {
                    try g.addOutput(op.rawValue, try g.op(op, [x], ["axes": .ints(axes), "keepdims": .bool(keep)]))
                }
                let xv = values(shape.reduce(1, *), seed: 9).map { dtype == .f32 ? Double(Float($0 + 0.25)) : $0 + 0.25 }
                let norm = Set(axes.map { $0 < 0 ? $0 + shape.count : $0 })
                let outShape = shape.indices.filter { !norm.contains($0) }.map { shape[$0] }
                let count = norm.reduce(1) { $0 * shape[$1] }
                var sum = [Double](repeating: 0, count: outShape.reduce(1, *)), mx = [Double](repeating: -.infinity, count: sum.count)
                for flat in xv.indices {
                    let idx = Ref.multiIndex(flat, shape)
                    let o = Ref.index(shape.indices.filter { !norm.contains($0) }.map { idx[$0] }, outShape)
                    sum[o] += xv[flat]
                    mx[o] = max(mx[o], xv[flat])
                }
                let out = try Compiled(g).run(["x": xv])
                let label = "\(shape) axes \(axes) \(dtype)"
                assertClose(out["reduce_sum"]!, sum, dtype, "sum " + label)
                assertClose(out["reduce_mean"]!, sum.map { $0 / Double(count) }, dtype, "mean " + label)
                assertClose(out["reduce_max"]!, mx, dtype, "max " + label)
            }
        }
    }

    func testDataMovementAgainstReference() throws {
        let shape = [2, 5, 4, 3]
        let g = Graph(name: "moves")
        let x = try g.input("x", .f64, shape), v = try g.input("v", .f64, [4, 1])
        try g.addOutput("slice", try g.op(.slice, [x], ["begin": .ints([1, 1, 0, 1]), "end": .ints([2, 4, 3, 3])]))
        try g.addOutput("reverse", try g.op(.reverse, [x], ["axes": .ints([1, -1])]))
        try g.addOutput("pad", try g.op(.pad, [x], ["pads": .ints([1, 0, 0, 2, 1, 1, 0, 0]), "mode": .string("constant")]))
        try g.addOutput("reflect", try g.op(.pad, [x], ["pads": .ints([0, 0, 3, 4, 2, 1, 1, 2]), "mode": .string("reflect")]))
        try g.addOutput("bcast", try g.op(.broadcastTo, [v], type: TensorType(.f64, [3, 4, 5])))
        try g.addOutput("concat", try g.op(.concat, [x, x, try g.op(.neg, [x])], ["axis": .int(1)]))
        try g.addOutput("reshaped", try g.op(.reshape, [x], type: TensorType(.f64, [10, 12])))
        let xv = (0..<shape.reduce(1, *)).map(Double.init), vv = [1.0, 2, 3, 4]
        let out = try Compiled(g).run(["x": xv, "v": vv])
        func at(_ i: [Int]) -> Double { xv[Ref.index(i, shape)] }
        func gather(_ s: [Int], _ f: ([Int]) -> Double) -> [Double] { (0..<s.reduce(1, *)).map { f(Ref.multiIndex($0, s)) } }
        XCTAssertEqual(out["slice"]!, gather([1, 3, 3, 2]) { at([$0[0] + 1, $0[1] + 1, $0[2], $0[3] + 1]) })
        XCTAssertEqual(out["reverse"]!, gather(shape) { at([$0[0], 4 - $0[1], $0[2], 2 - $0[3]]) })
        XCTAssertEqual(out["pad"]!, gather([3, 7, 6, 3]) { i in
            let s = [i[0] - 1, i[1], i[2] - 1, i[3]]
            return zip(s, shape).allSatisfy { $0 >= 0 && $0 < $1 } ? at(s) : 0
        })
        func reflect(_ o: Int, _ before: Int, _ n: Int) -> Int {
            var s = o - before
            if s < 0 { s = -s }
            if s >= n { s = 2 * (n - 1) - s }
            return s
        }
        XCTAssertEqual(out["reflect"]!, gather([2, 12, 7, 6]) { i in
            at([i[0], reflect(i[1], 3, 5), reflect(i[2], 2, 4), reflect(i[3], 1, 3)])
        })
        XCTAssertEqual(out["bcast"]!, gather([3, 4, 5]) { vv[$0[1]] })
        XCTAssertEqual(out["concat"]!, gather([2, 15, 4, 3]) { i in
            let which = i[1] / 5
            let value = at([i[0], i[1] % 5, i[2], i[3]])
            return which == 2 ? -value : value
        })
        XCTAssertEqual(out["reshaped"]!, xv)
    }

    /// Pools with overlapping windows and padding, against direct formulas.
    func testPoolsAgainstReference() throws {
        let xs = [2, 7, 6, 3], window = [3, 2], strides = [2, 1], pads = [1, 1, 0, 1]
        let attrs: [String: Attribute] = ["window": .ints(window), "strides": .ints(strides), "pads": .ints(pads)]
        let g = Graph(name: "pools")
        let x = try g.input("x", .f64, xs)
        let mp = try g.op(.maxPool, [x], attrs)
        let ys = g.type(of: mp).shape
        let dy = try g.input("dy", .f64, ys)
        try g.addOutput("max", mp)
        try g.addOutput("avg", try g.op(.avgPool, [x], attrs))
        try g.addOutput("maxg", try g.op(.maxPoolGrad, [x, dy], attrs))
        try g.addOutput("avgg", try g.op(.avgPoolGrad, [dy], attrs, type: TensorType(.f64, xs)))
        // Ties in x: the first maximum (row-major in the window) must receive the gradient.
        let xv = values(xs.reduce(1, *), seed: 11).map { ($0 * 3).rounded() }, dyv = values(ys.reduce(1, *), seed: 12)
        let out = try Compiled(g).run(["x": xv, "dy": dyv])
        var mx = [Double](), avg = [Double](), mg = [Double](repeating: 0, count: xv.count), ag = mg
        for flat in 0..<ys.reduce(1, *) {
            let o = Ref.multiIndex(flat, ys)
            var best = -Double.infinity, bestAt = -1, sum = 0.0, cells: [Int] = []
            for a in 0..<window[0] { for c in 0..<window[1] {
                let h = o[1] * strides[0] + a - pads[0], w = o[2] * strides[1] + c - pads[2]
                guard h >= 0, h < xs[1], w >= 0, w < xs[2] else { continue }
                let i = Ref.index([o[0], h, w, o[3]], xs)
                cells.append(i)
                sum += xv[i]
                if xv[i] > best { best = xv[i]; bestAt = i }
            } }
            mx.append(best)
            avg.append(sum / Double(cells.count))
            mg[bestAt] += dyv[flat]
            for i in cells { ag[i] += dyv[flat] / Double(cells.count) }
        }
        assertClose(out["max"]!, mx, .f64, "max_pool")
        assertClose(out["avg"]!, avg, .f64, "avg_pool")
        assertClose(out["maxg"]!, mg, .f64, "max_pool_grad")
        assertClose(out["avgg"]!, ag, .f64, "avg_pool_grad")
    }
}

// MARK: - Effects and random numbers

extension CEmitterTests {
    /// Outputs hold pre-update values; Adam / RMSprop / SGD follow the documented formulas; the
    /// iteration counter is read before its own increment; an effect that reads state an earlier
    /// effect wrote sees the value from before the effects.
    func testEffectsAndOptimizers() throws {
        let g = Graph(name: "train")
        let grad = try g.input("g", .f32, [4])
        let p = try g.state("p", .f32, [4], trainable: true), m = try g.state("m", .f32, [4]), v = try g.state("v", .f32, [4])
        let q = try g.state("q", .f32, [4], trainable: true), r = try g.state("r", .f32, [4])
        let s = try g.state("s", .f64, [4], trainable: true), vel = try g.state("vel", .f64, [4])
        let it = try g.state("it", .i32, [])
        let a = try g.state("a", .f32, [4]), b = try g.state("b", .f32, [4])
        try g.addOutput("p", p)
        try g.addOutput("loss", try g.op(.reduceSum, [try g.op(.mul, [p, grad])], ["axes": .ints([0])]))
        try g.op(.adamUpdate, [p, m, v, it, grad], ["lr": .float(0.01), "beta1": .float(0.9), "beta2": .float(0.999), "epsilon": .float(1e-7)])
        try g.op(.rmspropUpdate, [q, r, it, grad], ["lr": .float(0.001), "rho": .float(0.9), "epsilon": .float(1e-7),
                                                    "decay_rate": .float(0.5), "decay_steps": .float(2)])
        try g.op(.sgdUpdate, [s, vel, it, try g.op(.cast, [grad], ["to": .dtype(.f64)])], ["lr": .float(0.1), "momentum": .float(0.9)])
        try g.op(.assign, [a, try g.op(.add, [a, grad])])
        try g.op(.assign, [b, a])   // reads a's pre-effect value (a snapshot)
        try g.op(.assign, [it, try g.op(.add, [it, try g.constant(1, .i32)])])
        let c = try Compiled(g)
        XCTAssertEqual(c.program.persistent.map(\.name), ["p", "m", "v", "q", "r", "s", "vel", "it", "a", "b"])
        XCTAssertEqual(c.program.persistent.map(\.trainable), [true, false, false, true, false, true, false, false, false, false])
        XCTAssertTrue(c.program.persistent.allSatisfy { $0.offset % 64 == 0 && $0.initializer == "zeros" })
        let p0: [Double] = [0.5, -1, 2, 0.25]
        c.setParam("p", p0); c.setParam("q", p0); c.setParam("s", p0)
        var (pm, pv, qv, sv, svel) = (p0.map { _ in 0.0 }, p0.map { _ in 0.0 }, p0.map { _ in 0.0 }, p0.map { _ in 0.0 }, p0.map { _ in 0.0 })
        var (pp, qq, ss) = (p0, p0, p0)
        var aa = [0.0, 0, 0, 0]
        for step in 0..<3 {
            let gv: [Double] = [0.1 * Double(step + 1), -0.2, 0.3, 1e-3]
            let before = c.param("p")
            let out = c.run(["g": gv])
            XCTAssertEqual(out["p"]!, before, "outputs see pre-update params")
            XCTAssertEqual(out["loss"]![0], zip(before, gv).map(*).reduce(0, +), accuracy: 1e-5)
            // Reference updates in double.
            let t = Double(step + 1)
            let alpha = 0.01 * (1 - pow(0.999, t)).squareRoot() / (1 - pow(0.9, t))
            let lr = 0.001 * pow(0.5, Double(step) / 2)
            for k in 0..<4 {
                pm[k] = 0.9 * pm[k] + 0.1 * gv[k]
                pv[k] = 0.999 * pv[k] + 0.001 * gv[k] * gv[k]
                pp[k] -= alpha * pm[k] / (pv[k].squareRoot() + 1e-7)
                qv[k] = 0.9 * qv[k] + 0.1 * gv[k] * gv[k]
                qq[k] -= lr * gv[k] / (qv[k] + 1e-7).squareRoot()
                svel[k] = 0.9 * svel[k] - 0.1 * Double(Float(gv[k]))
                ss[k] += svel[k]
                sv[k] = svel[k]
            }
            let oldA = aa
            aa = zip(aa, gv).map { $0 + Double(Float($1)) }
            XCTAssertLessThan(maxAbsDiff(c.param("p"), pp), 1e-5, "adam step \(step)")
            XCTAssertLessThan(maxAbsDiff(c.param("q"), qq), 1e-5, "rmsprop step \(step)")
            XCTAssertLessThan(maxAbsDiff(c.param("s"), ss), 1e-12, "sgd step \(step)")
            XCTAssertLessThan(maxAbsDiff(c.param("vel"), sv), 1e-12, "sgd velocity \(step)")
            XCTAssertLessThan(maxAbsDiff(c.param("a"), aa), 1e-6)
            XCTAssertLessThan(maxAbsDiff(c.param("b"), oldA), 1e-6, "b gets a's value from before the effects")
            XCTAssertEqual(c.param("it"), [Double(step + 1)])
        }
    }

    func testRandomStreams() throws {
        let g = Graph(name: "rng")
        let counter = try g.input("counter", .i32, [])
        let fcounter = try g.input("fcounter", .f32, [])
        try g.addOutput("n32", try g.op(.randomNormal, [counter], ["seed": .int(42)], type: TensorType(.f32, [200, 100])))
        try g.addOutput("n64", try g.op(.randomNormal, [counter], ["seed": .int(42)], type: TensorType(.f64, [20000])))
        try g.addOutput("nf", try g.op(.randomNormal, [fcounter], ["seed": .int(42)], type: TensorType(.f64, [20000])))
        try g.addOutput("other", try g.op(.randomNormal, [counter], ["seed": .int(43)], type: TensorType(.f64, [20000])))
        try g.addOutput("u", try g.op(.randomUniform, [counter], ["seed": .int(-7), "low": .float(-2), "high": .float(3)], type: TensorType(.f32, [20000])))
        let c = try Compiled(g)
        let a = c.run(["counter": [5], "fcounter": [5]]), again = c.run(["counter": [5], "fcounter": [5]]), next = c.run(["counter": [6], "fcounter": [6]])
        XCTAssertEqual(a["n32"]!, again["n32"]!, "deterministic")
        XCTAssertEqual(a["n32"]!, a["n64"]!.map { Double(Float($0)) }, "f32 is the rounded f64 stream (element k depends only on seed, counter, k)")
        XCTAssertEqual(a["n64"]!, a["nf"]!, "the counter's dtype does not matter")
        XCTAssertNotEqual(a["n64"]!, next["n64"]!)
        XCTAssertNotEqual(a["n64"]!, a["other"]!)
        for sample in [a["n64"]!, next["n64"]!, a["other"]!] {
            let mean = sample.reduce(0, +) / Double(sample.count)
            let variance = sample.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(sample.count)
            XCTAssertEqual(mean, 0, accuracy: 0.03)
            XCTAssertEqual(variance, 1, accuracy: 0.04)
        }
        let correlation = zip(a["n64"]!, next["n64"]!).map(*).reduce(0, +) / 20000
        XCTAssertEqual(correlation, 0, accuracy: 0.03)
        let u = a["u"]!
        XCTAssertTrue(u.allSatisfy { $0 >= -2 && $0 < 3 })
        XCTAssertEqual(u.reduce(0, +) / Double(u.count), 0.5, accuracy: 0.05)
    }
}

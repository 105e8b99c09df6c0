import Sinter

/// What `OpBenchmark.check` compared: a bench of a wrong kernel must fail loudly, not report a
/// fast wrong answer.
public struct OpCheck: Sendable, Equatable {
    /// Elements of the result compared with the f64 reference.
    public var checked: Int
    /// Elements in the result.
    public var total: Int
    /// The largest |result - reference| over its element's tolerance (at most 1 when it passes).
    public var worstRatio: Double

    /// Tolerance of an element, as a fraction of the sum of |terms| its reference adds up: f32
    /// rounding of those terms in any order stays far below it (about sqrt(terms) x 2^-24 of
    /// that sum), while a kernel that drops, repeats or misplaces a slice of its operands, or a
    /// tile edge, is off by far more.
    public static let relativeTolerance = 1e-4
}

extension OpBenchmark {
    /// Multiply-adds one reference element costs (at most; padding skips some).
    var termsPerElement: Int {
        switch kind {
        case let .matmul(_, _, k): return k
        case let .conv2d(g, .forward): return g.kernelHeight * g.kernelWidth * g.inChannels
        case let .conv2d(g, .inputGrad): return g.kernelHeight * g.kernelWidth * g.outChannels
        case let .conv2d(g, .filterGrad): return [g.batch, g.outputHeight, g.outputWidth].reduce(1, SizeLimits.saturatingProduct)
        }
    }

    /// Compares `result` (the compiled op's output) with an f64 reference computed straight from
    /// the definition: at every element when that costs at most `budget` multiply-adds, else at
    /// the corners of the result and at seeded elements biased toward the first and last two
    /// rows of every axis (where tiling mistakes show), as many as the budget allows. Throws,
    /// naming the worst element, when any compared element is off by more than its tolerance.
    public func check(operands: [[Float]], result: [Float], budget: Int = 20_000_000, seed: UInt64 = 0) throws -> OpCheck {
        let shape = resultShape, total = result.count
        guard operands.count == 2, operands.map(\.count) == self.operands.map({ SizeLimits.elementCount($0.shape) ?? -1 }),
              total == SizeLimits.elementCount(shape) else {
            throw SinterError.runtime(message: "bench \(opName) \(shapeText): the operands or the result do not have the op's shapes")
        }
        let indices = sampleIndices(shape: shape, count: total, budget: budget, seed: seed)
        var worst = (ratio: 0.0, index: 0, got: 0.0, want: 0.0, tolerance: 0.0)
        var failures = 0
        operands[0].withUnsafeBufferPointer { a in
            operands[1].withUnsafeBufferPointer { b in
                for flat in indices {
                    let (want, magnitude) = referenceElement(coordinates(flat, shape), a, b)
                    let got = Double(result[flat]), tolerance = Self.tolerance(magnitude)
                    let error = abs(got - want)
                    let ratio = error == 0 ? 0 : (tolerance > 0 && error.isFinite ? error / tolerance : .infinity)
                    if ratio > 1 { failures += 1 }
                    if ratio > worst.ratio { worst = (ratio, flat, got, want, tolerance) }
                }
            }
        }
        guard failures == 0 else {
            let at = coordinates(worst.index, shape).map(String.init).joined(separator: ", ")
            throw SinterError.runtime(message: "bench \(opName) \(shapeText): the compiled kernel is wrong: y[\(at)] = \(worst.got), "
                + "the f64 reference is \(worst.want) (tolerance \(worst.tolerance)); \(failures) of \(indices.count) checked elements are off")
        }
        return OpCheck(checked: indices.count, total: total, worstRatio: worst.ratio)
    }

    private static func tolerance(_ magnitude: Double) -> Double { OpCheck.relativeTolerance * magnitude }

    /// Flat indices into a result of `shape` to compare, sorted.
    private func sampleIndices(shape: [Int], count: Int, budget: Int, seed: UInt64) -> [Int] {
        let terms = max(1, termsPerElement)
        if count <= budget / terms { return Array(0..<count) }
        let wanted = max(1, min(count, budget / terms))
        var chosen = Set<Int>()
        // Every corner first: 2^rank elements, each the first or last along every axis.
        for corner in 0..<(1 << shape.count) where chosen.count < wanted {
            let at = shape.indices.map { (corner >> $0) & 1 == 0 ? 0 : shape[$0] - 1 }
            chosen.insert(flatIndex(at, shape))
        }
        var generator = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(generator.next() % UInt64(n)) }
        while chosen.count < wanted {
            let at = shape.map { extent -> Int in
                // Half the time one of the first or last two along the axis, else anywhere.
                guard below(2) == 0 else { return below(extent) }
                let edge = below(min(extent, 2))
                return below(2) == 0 ? edge : extent - 1 - edge
            }
            chosen.insert(flatIndex(at, shape))
        }
        return chosen.sorted()
    }

    /// The element of the result at `at`, and the sum of |terms| it adds up, in f64.
    private func referenceElement(_ at: [Int], _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> (Double, Double) {
        var sum = 0.0, magnitude = 0.0
        func add(_ x: Float, _ y: Float) {
            let term = Double(x) * Double(y)
            sum += term
            magnitude += abs(term)
        }
        switch kind {
        case let .matmul(_, n, k):
            for p in 0..<k { add(a[at[0] * k + p], b[p * n + at[1]]) }
        case let .conv2d(g, pass):
            let (s, top, left) = (g.stride, g.pads[0], g.pads[2])
            let (h, w, c, o) = (g.height, g.width, g.inChannels, g.outChannels)
            let (kw, oh, ow) = (g.kernelWidth, g.outputHeight, g.outputWidth)
            func input(_ n: Int, _ y: Int, _ x: Int, _ ci: Int) -> Int { ((n * h + y) * w + x) * c + ci }
            func output(_ n: Int, _ y: Int, _ x: Int, _ co: Int) -> Int { ((n * oh + y) * ow + x) * o + co }
            func kernel(_ ky: Int, _ kx: Int, _ ci: Int, _ co: Int) -> Int { ((ky * kw + kx) * c + ci) * o + co }
            switch pass {
            case .forward:  // a = x, b = w; at = [n, oy, ox, co]
                for ky in 0..<g.kernelHeight {
                    let y = at[1] * s - top + ky
                    guard y >= 0, y < h else { continue }
                    for kx in 0..<kw {
                        let x = at[2] * s - left + kx
                        guard x >= 0, x < w else { continue }
                        for ci in 0..<c { add(a[input(at[0], y, x, ci)], b[kernel(ky, kx, ci, at[3])]) }
                    }
                }
            case .inputGrad:  // a = dy, b = w; at = [n, y, x, ci]
                for ky in 0..<g.kernelHeight {
                    let ty = at[1] + top - ky
                    guard ty >= 0, ty % s == 0, ty / s < oh else { continue }
                    for kx in 0..<kw {
                        let tx = at[2] + left - kx
                        guard tx >= 0, tx % s == 0, tx / s < ow else { continue }
                        for co in 0..<o { add(a[output(at[0], ty / s, tx / s, co)], b[kernel(ky, kx, at[3], co)]) }
                    }
                }
            case .filterGrad:  // a = x, b = dy; at = [ky, kx, ci, co]
                for n in 0..<g.batch {
                    for oy in 0..<oh {
                        let y = oy * s - top + at[0]
                        guard y >= 0, y < h else { continue }
                        for ox in 0..<ow {
                            let x = ox * s - left + at[1]
                            guard x >= 0, x < w else { continue }
                            add(a[input(n, y, x, at[2])], b[output(n, oy, ox, at[3])])
                        }
                    }
                }
            }
        }
        return (sum, magnitude)
    }

    private func coordinates(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        var at = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            at[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return at
    }

    private func flatIndex(_ at: [Int], _ shape: [Int]) -> Int {
        zip(at, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }
}

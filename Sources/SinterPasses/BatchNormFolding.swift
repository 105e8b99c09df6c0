import Foundation
import SinterIR

/// Folds inference-mode BatchNorm into the conv2d / conv2d_input_grad (Conv2DTranspose) / matmul
/// (Dense) that feeds it.
///
/// The DSL's BatchNorm in inference mode (LayersNorm.swift) is, per channel c of the last axis,
///
///     y = (z - moving_mean) * rsqrt(moving_variance + eps) [* gamma] [+ beta]
///     z = anchor(x, w) [+ bias] [reshaped]
///
/// and becomes
///
///     scale = rsqrt(moving_variance + eps) [* gamma]                      [C]
///     shift = ([bias] - moving_mean) * scale [+ beta]                     [C]
///     y     = anchor(x, w * scale) + shift [reshaped]
///
/// `scale` multiplies the kernel along its output-channel axis: the last axis of an HWIO conv2d
/// kernel and of a Dense kernel `(in, out)`, axis 2 of a Conv2DTranspose kernel `(kh, kw, out, in)`
/// (`scale` reshaped to `[1,1,C,1]`), axis 0 of a `transpose_b` matmul. Weights are not constants,
/// so `w * scale` is computed on every run: one elementwise kernel over the kernel's K elements.
///
/// A reshape between the (biased) anchor and the BatchNorm is allowed when it keeps the channel
/// of every element: anchor output `[.., N]` with `N % C == 0` (DCGAN's Dense -> Reshape(7,7,128)
/// -> BatchNorm); `scale` and `shift` are then tiled to `[N]`.
///
/// Refused (and counted in the report):
/// - an intermediate the fold removes (the anchor's output, the bias add, the reshape,
///   `z - mean`) has another user: an `act.*` tap, a gradient node, a second layer. The BN's
///   affine tail (`* gamma`, `+ beta`) is folded only as far as each node has one user, so in a
///   training step whose gradients read `normalized` (for gamma's gradient) only the
///   normalisation is folded and the tail stays. Every removed node is read by the chain only;
///   the chain's last node is replaced by an equal value, so gradient nodes reading it see the
///   same numbers.
/// - the BN's input is not an anchor [+ bias] [reshaped] (BN after an activation: `relu -> BN`);
/// - the kernel is not a param/state node (a batched matmul of two activations);
/// - unprofitable (see `profitFactor`): the fold always costs a pass over the kernel and saves
///   passes over the activation only where the code generator would run the BN as separate loops.
///
/// Training-mode BatchNorm (statistics from `reduce_mean` of the batch) is left alone.
public struct BatchNormFolding: GraphPass {
    public let name: String
    public var summary: String { "fold inference-mode BatchNorm into the preceding conv2d / Conv2DTranspose / Dense kernel and bias" }

    /// Fold only when `K <= profitFactor * S * A` (nil: whenever it is legal), K the kernel's
    /// elements, A the activation's, S the activation passes (read + write) the fold saves:
    /// - without epilogue fusion every elementwise node is its own kernel: the chain (bias add,
    ///   sub, mul, [mul gamma], [add beta]) makes one pass each and the folded graph one (the
    ///   shift add), so S = nodes - 1;
    /// - with epilogue fusion the chain runs inside the anchor's epilogue and costs no pass:
    ///   S = 0, nothing to save, unless a reshape separates the anchor from the BN (fusion stops
    ///   at a reshape that regroups dimensions): then the chain is one extra loop and S = 1.
    /// The kernel product costs one pass over K (read + write) either way.
    public var profitFactor: Double?
    /// Whether the code generator fuses elementwise chains into the anchor's epilogue (Docs/fusion.md).
    /// Must agree with the code generator's `CodegenOptions.fuse` (the umbrella passes it along).
    public var epilogueFusion: Bool

    public init(name: String = "bn-fold", profitFactor: Double? = 1,
                epilogueFusion: Bool = true) {
        self.name = name
        self.profitFactor = profitFactor
        self.epilogueFusion = epilogueFusion
    }

    /// What the pass decided for one inference-mode BatchNorm.
    public struct Decision: Sendable, Equatable {
        /// The BN's last node (its output) in the input graph.
        public var output: Int
        /// The conv2d / conv2d_input_grad / matmul folded into, or that would have been.
        public var anchor: Int?
        public var folded: Bool
        /// Why it was refused, grouped in the report (`input is relu`, `shared intermediate`, ...).
        public var reason: String
        /// One line for dumps: `%42 (Graphs/VAE.swift:48): folded into %37 conv2d`.
        public var detail: String
    }

    /// A matched BatchNorm and everything the rewrite needs (old node ids).
    struct Match {
        var anchor: Int
        var kernel: Int
        var biasAdd: Int?
        var bias: Int?
        var reshape: Int?
        var centered: Int          // sub(z, mean)
        var mean: Int
        var invStd: Int            // rsqrt(variance + eps)
        var normalized: Int        // mul(centered, invStd)
        var gammaMul: Int?
        var gamma: Int?
        var betaAdd: Int?
        var beta: Int?
        var output: Int
        /// Nodes that disappear (every chain node but the output, which is replaced).
        var removed: [Int] {
            [anchor, biasAdd, reshape, centered, normalized, gammaMul, betaAdd].compactMap { $0 }.filter { $0 != output }
        }
    }

    public func run(_ graph: Graph) throws -> (graph: Graph, report: String) {
        let (matches, decisions, training) = analyze(graph)
        let result = matches.isEmpty ? graph : try rewrite(graph, matches)
        return (result, Self.report(name, decisions, training: training))
    }

    /// The decision for every inference-mode BatchNorm of `graph`, in graph order.
    public func decisions(_ graph: Graph) -> [Decision] { analyze(graph).decisions }

    static func report(_ name: String, _ decisions: [Decision], training: Int) -> String {
        let folded = decisions.filter(\.folded).count
        let refused = decisions.filter { !$0.folded }
        var line = "\(name): \(folded) folded, \(refused.count) refused"
        if !refused.isEmpty {
            var counts: [String: Int] = [:]
            for decision in refused { counts[decision.reason, default: 0] += 1 }
            let groups = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            line += " (" + groups.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"
        }
        if training > 0 { line += "; \(training) training-mode left alone" }
        return line
    }

    // MARK: - Matching

    func analyze(_ graph: Graph) -> (matches: [Match], decisions: [Decision], training: Int) {
        let uses = graph.useCounts()
        var users = [[Int]](repeating: [], count: graph.nodes.count)
        for (id, node) in graph.nodes.enumerated() {
            for operand in Set(node.operands) { users[operand].append(id) }
        }
        func soleUser(_ id: Int) -> Int? { uses[id] == 1 ? users[id].first : nil }
        func isPersistent(_ id: Int) -> Bool { graph[id].op.isPersistent }
        func isVector(_ id: Int, _ c: Int) -> Bool { graph[id].type.shape == [c] }
        /// The operand of binary `id` other than `known`, if `known` is exactly one of its two.
        func other(_ id: Int, _ known: Int) -> Int? {
            let ops = graph[id].operands
            guard ops.count == 2, ops[0] != ops[1] else { return nil }
            return ops[0] == known ? ops[1] : ops[1] == known ? ops[0] : nil
        }
        /// `rsqrt(variance + eps)` with a persistent [C] variance and a one-element constant eps.
        func isInvStd(_ id: Int, _ c: Int) -> Bool {
            let node = graph[id]
            guard node.op == .rsqrt, isVector(id, c) else { return false }
            let sum = graph[node.operands[0]]
            guard sum.op == .add, sum.operands.count == 2 else { return false }
            let (a, b) = (sum.operands[0], sum.operands[1])
            func isEps(_ e: Int) -> Bool { graph[e].op == .constant && graph[e].type.count == 1 }
            return (isPersistent(a) && isVector(a, c) && isEps(b)) || (isPersistent(b) && isVector(b, c) && isEps(a))
        }
        func describe(_ id: Int) -> String { "%\(id) \(graph[id].op.rawValue)" }

        var matches: [Match] = []
        var decisions: [Decision] = []
        var training = 0
        for (id, node) in graph.nodes.enumerated() where node.op == .sub && node.operands.count == 2 {
            let (z, mean) = (node.operands[0], node.operands[1])
            let zType = graph[z].type
            guard let c = zType.shape.last, zType.rank >= 1, node.type == zType else { continue }
            // Training mode: z - reduce_mean(z), normalised by a batch variance. Left alone.
            if graph[mean].op == .reduceMean, graph[mean].operands == [z] {
                if users[id].contains(where: { user in
                    graph[user].op == .mul && other(user, id).map { graph[$0].op == .rsqrt } == true
                }) { training += 1 }
                continue
            }
            // The normalising multiply: (z - mean) * rsqrt(variance + eps), either operand order.
            guard isPersistent(mean), isVector(mean, c) else { continue }
            let normalizer = users[id].first { user in
                graph[user].op == .mul && other(user, id).map { isInvStd($0, c) } == true
            }
            guard let normalized = normalizer, let invStd = other(normalized, id) else { continue }

            // The affine tail, as far as each node has exactly one user.
            var output = normalized
            var gammaMul: Int?, gamma: Int?, betaAdd: Int?, beta: Int?
            if let user = soleUser(output), graph[user].op == .mul, let g = other(user, output), isVector(g, c),
               graph[user].type == zType {
                (gammaMul, gamma, output) = (user, g, user)
            }
            if let user = soleUser(output), graph[user].op == .add, let b = other(user, output), isVector(b, c),
               graph[user].type == zType {
                (betaAdd, beta, output) = (user, b, user)
            }
            let location = graph[output].location
            func refuse(_ reason: String, _ why: String, anchor: Int? = nil) {
                decisions.append(Decision(output: output, anchor: anchor, folded: false, reason: reason,
                                          detail: "%\(output) (\(location)): refused, \(why)"))
            }

            // What feeds it: [reshape of] anchor [+ bias].
            var source = z
            var reshape: Int?
            if graph[source].op == .reshape {
                reshape = source
                source = graph[source].operands[0]
            }
            var anchor = source
            var biasAdd: Int?, bias: Int?
            if graph[source].op == .add, graph[source].operands.count == 2 {
                for (candidate, other) in [(graph[source].operands[0], graph[source].operands[1]),
                                           (graph[source].operands[1], graph[source].operands[0])]
                where Self.isAnchor(graph[candidate].op) {
                    if let n = graph[candidate].type.shape.last, isVector(other, n), graph[source].type == graph[candidate].type {
                        (anchor, biasAdd, bias) = (candidate, source, other)
                        break
                    }
                }
            }
            guard Self.isAnchor(graph[anchor].op) else {
                let what = graph[anchor].op.rawValue
                refuse("input is \(what)", "its input \(describe(anchor)) is not conv2d/conv2d_input_grad/matmul [+ bias]")
                continue
            }
            let anchorNode = graph[anchor]
            let kernel = anchorNode.operands[1]
            guard let n = anchorNode.type.shape.last, n % c == 0, reshape != nil || n == c else {
                refuse("reshape mixes channels", "the reshape of \(describe(anchor)) does not keep channels", anchor: anchor)
                continue
            }
            // Every intermediate must be read by the next link of the chain only.
            let chain = [anchor, biasAdd, reshape, id].compactMap { $0 }
            var shared: Int?
            for (k, link) in chain.enumerated() {
                let next = k + 1 < chain.count ? chain[k + 1] : normalized
                if uses[link] != 1 || users[link] != [next] {
                    shared = link
                    break
                }
            }
            if let shared {
                refuse("shared intermediate", "\(describe(shared)) has \(uses[shared]) users", anchor: anchor)
                continue
            }
            guard isPersistent(kernel) else {
                refuse("kernel not a param", "the kernel of \(describe(anchor)) is \(describe(kernel)), not a param", anchor: anchor)
                continue
            }
            // Profit: the fold adds one pass over the kernel and saves `saved` passes over the
            // activation (see `profitFactor`).
            let chainNodes = [biasAdd, id, normalized, gammaMul, betaAdd].compactMap { $0 }.count
            let saved = epilogueFusion ? (reshape == nil ? 0 : 1) : chainNodes - 1
            let kernelCount = graph[kernel].type.count, activationCount = anchorNode.type.count
            if let factor = profitFactor, Double(kernelCount) > factor * Double(saved * activationCount) {
                if saved == 0 {
                    refuse("already fused into the anchor",
                           "the BN runs in the epilogue of \(describe(anchor)); folding would only add a pass over its kernel "
                           + "\(graph[kernel].type)", anchor: anchor)
                } else {
                    refuse("kernel costs more than it saves",
                           "kernel \(graph[kernel].type) of \(describe(anchor)) is larger than the \(saved) pass\(saved == 1 ? "" : "es") over "
                           + "\(anchorNode.type) folding saves", anchor: anchor)
                }
                continue
            }
            matches.append(Match(anchor: anchor, kernel: kernel, biasAdd: biasAdd, bias: bias, reshape: reshape, centered: id,
                                 mean: mean, invStd: invStd, normalized: normalized, gammaMul: gammaMul, gamma: gamma,
                                 betaAdd: betaAdd, beta: beta, output: output))
            decisions.append(Decision(output: output, anchor: anchor, folded: true, reason: "",
                                      detail: "%\(output) (\(location)): folded into \(describe(anchor))"))
        }
        return (matches, decisions, training)
    }

    static func isAnchor(_ op: Op) -> Bool { op == .conv2d || op == .conv2dInputGrad || op == .matmul }

    // MARK: - Rewriting

    func rewrite(_ graph: Graph, _ matches: [Match]) throws -> Graph {
        var rebuilder = GraphRebuilder(graph)
        let removed = Set(matches.flatMap(\.removed))
        let byOutput = Dictionary(uniqueKeysWithValues: matches.map { ($0.output, $0) })
        for id in graph.nodes.indices {
            if removed.contains(id) { continue }
            if let match = byOutput[id] {
                rebuilder.alias(id, to: try emit(match, graph, &rebuilder))
                continue
            }
            try rebuilder.copy(id)
        }
        return try rebuilder.finish()
    }

    /// Adds the folded computation; returns the new node equal to the BN's output.
    func emit(_ m: Match, _ graph: Graph, _ r: inout GraphRebuilder) throws -> Int {
        let anchor = graph[m.anchor]
        let location = graph[m.output].location
        let dtype = anchor.type.dtype
        let c = graph[m.mean].type.shape[0]
        let n = anchor.type.shape.last!
        func new(_ old: Int) throws -> Int {
            guard let id = r.mapped(old) else {
                throw SinterError.verify(message: "bn-fold: %\(old) was dropped before its use by %\(m.output)")
            }
            return id
        }
        func node(_ op: Op, _ operands: [Int], _ shape: [Int], attrs: Attributes = Attributes(),
                  at loc: SourceLocation? = nil) throws -> Int {
            try r.add(op, operands, attrs, type: TensorType(dtype, shape), at: loc ?? location)
        }
        /// [C] -> [N] (channel of column j is j % C).
        func tiled(_ v: Int) throws -> Int {
            if n == c { return v }
            let spread = try node(.broadcastTo, [v], [n / c, c])
            return try node(.reshape, [spread], [n])
        }

        let invStd = try new(m.invStd)
        let scaleC = try m.gamma.map { try node(.mul, [invStd, try new($0)], [c]) } ?? invStd
        let scale = try tiled(scaleC)

        // Kernel scaled along its output-channel axis.
        let kernel = try new(m.kernel)
        let kernelType = graph[m.kernel].type
        var kernelScale = scale
        switch anchor.op {
        case .conv2dInputGrad:
            kernelScale = try node(.reshape, [scale], [1, 1, n, 1])
        case .matmul where anchor.attrs.bool("transpose_b", default: false):
            kernelScale = try node(.reshape, [scale], [n, 1])
        default:
            break
        }
        let scaledKernel = try node(.mul, [kernel, kernelScale], kernelType.shape)
        var operands = try anchor.operands.map(new)
        operands[1] = scaledKernel
        let newAnchor = try r.add(anchor.op, operands, anchor.attrs, type: anchor.type, at: anchor.location)

        // shift = ([bias] - mean) * scale [+ beta]: in [C] without a bias, in [N] with one.
        var shift: Int
        if let bias = m.bias {
            let centered = try node(.sub, [try new(bias), try tiled(try new(m.mean))], [n])
            shift = try node(.mul, [centered, scale], [n])
            if let beta = m.beta { shift = try node(.add, [shift, try tiled(try new(beta))], [n]) }
        } else {
            let negated = try node(.neg, [try new(m.mean)], [c])
            var shiftC = try node(.mul, [negated, scaleC], [c])
            if let beta = m.beta { shiftC = try node(.add, [shiftC, try new(beta)], [c]) }
            shift = try tiled(shiftC)
        }
        let biasLocation = m.biasAdd.map { graph[$0].location } ?? location
        var result = try r.add(.add, [newAnchor, shift], Attributes(), type: anchor.type, at: biasLocation)
        if let reshape = m.reshape {
            result = try r.add(.reshape, [result], graph[reshape].attrs, type: graph[reshape].type, at: graph[reshape].location)
        }
        return result
    }
}

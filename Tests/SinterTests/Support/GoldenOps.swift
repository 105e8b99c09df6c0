import Foundation
import Sinter

/// Builds the Sinter graph of one golden op case with the DSL: every golden `input` and `param`
/// becomes a graph input of that name (so vector-Jacobian products can be taken with respect to
/// them), except BatchNorm's moving statistics, which are state. Returns the outputs by the
/// golden names (`y`, `y0`, ...).
struct GoldenOpGraph {
    var outputs: [(String, Tensor)]
    /// Golden tensor name -> the Sinter param/state holding it, where it is not an input of the
    /// same name (BatchNorm's gamma, beta and moving statistics live in the layer `bn`).
    var persistent: [String: String] = [:]
    /// Golden expected output -> the Sinter state whose value after the run it must equal.
    var updatedStates: [String: String] = [:]
}

enum GoldenOps {
    static func build(_ goldenCase: GoldenCase, _ builder: GraphBuilder) throws -> GoldenOpGraph {
        // BatchNorm's parameters and statistics belong to the layer, not to graph inputs.
        let layerOwned: Set<String> = goldenCase.op == "batchnorm" ? ["gamma", "beta", "moving_mean", "moving_variance"] : []
        var t: [String: Tensor] = [:]
        for info in goldenCase.tensors where (info.role == .input || info.role == .param) && !layerOwned.contains(info.name) {
            t[info.name] = builder.input(info.name, info.shape)
        }
        func x(_ name: String = "x") throws -> Tensor {
            guard let tensor = t[name] else { throw SinterError.runtime(message: "\(goldenCase.name): no tensor \(name)") }
            return tensor
        }
        let c = goldenCase
        let op = c.op ?? ""
        let unary: [String: (Tensor) -> Tensor] = [
            "relu": { $0.relu() }, "sigmoid": { $0.sigmoid() }, "tanh": { $0.tanh() }, "softplus": { $0.softplus() },
            "selu": { $0.selu() }, "exp": { $0.exp() }, "log": { $0.log() }, "sqrt": { $0.sqrt() },
            "square": { $0.square() }, "abs": { $0.abs() },
        ]
        if let f = unary[op] { return GoldenOpGraph(outputs: [("y", f(try x()))]) }
        switch op {
        case "leaky_relu":
            return GoldenOpGraph(outputs: [("y", try x().leakyRelu(c.attrDouble("alpha")!))])
        case "clip_by_value":
            return GoldenOpGraph(outputs: [("y", try x().clipped(c.attrDouble("min")!, c.attrDouble("max")!))])
        case "conv2d", "conv2d_transpose":
            let k = c.attrInts("kernel")!, s = c.attrInts("strides")!
            let padding: Padding = c.attrString("padding") == "SAME" ? .same : .valid
            var y = op == "conv2d"
                ? conv2d(try x(), try x("kernel"), strides: (s[0], s[1]), padding: padding)
                : conv2dTranspose(try x(), try x("kernel"), strides: (s[0], s[1]), padding: padding)
            precondition(k.count == 2)
            if let bias = t["bias"] { y = y + bias }
            return GoldenOpGraph(outputs: [("y", y)])
        case "dense":
            var y = matmul(try x(), try x("kernel"))
            if let bias = t["bias"] { y = y + bias }
            return GoldenOpGraph(outputs: [("y", y)])
        case "max_pool", "avg_pool":
            let k = c.attrInts("pool")!, s = c.attrInts("strides")!
            precondition(k[0] == k[1] && s[0] == s[1])
            let padding: Padding = c.attrString("padding") == "SAME" ? .same : .valid
            let y = op == "max_pool" ? maxPool(try x(), k[0], strides: s[0], padding: padding)
                : avgPool(try x(), k[0], strides: s[0], padding: padding)
            return GoldenOpGraph(outputs: [("y", y)])
        case "upsample_nearest":
            return GoldenOpGraph(outputs: [("y", upSample(try x(), c.attrInts("factor")![0]))])
        case "resize_bilinear":
            let shape = c.tensor("y")!.shape
            return GoldenOpGraph(outputs: [("y", resizeBilinear(try x(), height: shape[1], width: shape[2]))])
        case "batchnorm":
            let training = c.attrBool("training")!
            let bn = BatchNorm(momentum: c.attrDouble("momentum")!, epsilon: c.attrDouble("epsilon")!,
                               mode: training ? .training : .inference, name: "bn")
            let y = bn(try x())
            let names = ["gamma", "beta", "moving_mean", "moving_variance"]
            return GoldenOpGraph(outputs: [("y", y)],
                                 persistent: Dictionary(uniqueKeysWithValues: names.map { ($0, "bn.\($0)") }),
                                 updatedStates: training ? ["new_moving_mean": "bn.moving_mean",
                                                            "new_moving_variance": "bn.moving_variance"] : [:])
        case "instancenorm":
            return GoldenOpGraph(outputs: [("y", instanceNorm(try x(), gamma: try x("gamma"), beta: try x("beta"),
                                                                epsilon: c.attrDouble("epsilon")!))])
        case "reduce_sum", "reduce_mean":
            let axes = c.attrInts("axes")
            let keep = c.attrBool("keepdims") ?? false
            let y = op == "reduce_sum" ? try x().sum(axes: axes, keepDims: keep) : try x().mean(axes: axes, keepDims: keep)
            return GoldenOpGraph(outputs: [("y", y)])
        case "concat":
            return GoldenOpGraph(outputs: [("y", concat([try x("x0"), try x("x1")], axis: c.attrInt("axis")!))])
        case "split":
            let parts = try x().split(c.attrInt("num")!, axis: c.attrInt("axis")!)
            return GoldenOpGraph(outputs: parts.enumerated().map { ("y\($0.offset)", $0.element) })
        case "reshape":
            return GoldenOpGraph(outputs: [("y", try x().reshaped(c.tensor("y")!.shape))])
        case "transpose":
            return GoldenOpGraph(outputs: [("y", try x().transposed(c.attrInts("perm")!))])
        case "gram":
            return GoldenOpGraph(outputs: [("y", gram(try x()))])
        case "total_variation":
            return GoldenOpGraph(outputs: [("y", totalVariation(try x()))])
        case "reflect_pad":
            let pads = (c.attrs["paddings"] as! [[NSNumber]]).map { ($0[0].intValue, $0[1].intValue) }
            return GoldenOpGraph(outputs: [("y", try x().padded(pads, mode: .reflect))])
        case "bce_probs":
            let form: KerasBCEForm = c.attrString("form") == "keras2" ? .keras2 : .keras3
            return GoldenOpGraph(outputs: [("y", binaryCrossEntropyOnProbabilities(try x("y_pred"), target: try x("y_true"), form: form))])
        case "sigmoid_ce_logits":
            return GoldenOpGraph(outputs: [("y", sigmoidCrossEntropy(logits: try x("logits"), labels: try x("labels")))])
        case "mse":
            return GoldenOpGraph(outputs: [("y", meanSquaredError(try x("y_pred"), target: try x("y_true")))])
        case "gaussian_kl":
            return GoldenOpGraph(outputs: [("y", gaussianKL(mu: try x("mu"), logVariance: try x("logvar")))])
        default:
            throw SinterError.runtime(message: "\(c.name): no Sinter graph for golden op '\(op)'")
        }
    }
}

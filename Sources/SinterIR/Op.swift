/// Every operation the IR knows. The raw value is the op's name in IR text.
///
/// Ops are primitives: losses, normalisations, dropout and up-sampling are built from them by the DSL,
/// so autodiff and codegen only need to know this list. Each op's attributes and operands are
/// documented in Docs/ir.md; shape rules live in ShapeInference.swift.
public enum Op: String, CaseIterable, Sendable {
    // Sources: no operands.
    case input           // {name}: a tensor fed by the caller each run
    case param           // {name, init}: trainable persistent state (weights)
    case state           // {name, init}: non-trainable persistent state (BN statistics, optimizer slots, counters)
    case constant        // {value}: every element equal to value
    case randomNormal = "random_normal"    // (counter) {seed}: N(0,1), counter-based
    case randomUniform = "random_uniform"  // (counter) {seed, low, high}: U[low, high)

    // Elementwise, one operand.
    case neg, exp, log, sqrt, rsqrt, square, abs, sign
    case relu, relu6, sigmoid, tanh, softplus, selu
    case leakyRelu = "leaky_relu"   // {alpha}
    case clip                        // {low, high}
    case cast                        // {to}
    case stopGradient = "stop_gradient"  // identity; no gradient flows through it (tf.stop_gradient)

    // Elementwise, two operands, numpy broadcasting. Comparisons give 1 or 0 in the operands' type.
    case add, sub, mul, div, maximum, minimum, pow
    case greater, greaterEqual = "greater_equal", less, lessEqual = "less_equal", equal

    // Elementwise, three operands: select(cond, a, b) = cond != 0 ? a : b.
    case select

    // Reductions {axes, keepdims}.
    case reduceSum = "reduce_sum", reduceMean = "reduce_mean", reduceMax = "reduce_max"

    // Indices (classification). Integer results or operands: no gradient.
    case argmax                      // (x) {axis}: i32, the axis removed; the first maximum wins, NaN never does
    case oneHot = "one_hot"          // (i32 indices): the type gives [..., depth]; out-of-range index: a zero row

    // Data movement. Result shapes of reshape and broadcast_to come from the node's type.
    case reshape
    case broadcastTo = "broadcast_to"
    case transpose       // {perm}
    case concat          // (x0, x1, ...) {axis}
    case slice           // {begin, end}
    case pad             // {pads=[before0,after0,...], mode="constant"|"reflect"}; constant pads with 0
    case reverse         // {axes}

    // Anchors: the ops with real arithmetic intensity.
    case matmul                                     // (a, b) {transpose_a, transpose_b}; rank 2 or batched rank 3
    case conv2d                                     // (x NHWC, w HWIO) {strides, pads=[top,bottom,left,right]}
    case conv2dInputGrad = "conv2d_input_grad"      // (dy, w): the type gives x's shape; also Conv2DTranspose
    case conv2dFilterGrad = "conv2d_filter_grad"    // (x, dy): the type gives w's shape

    // Windows.
    case maxPool = "max_pool"                       // (x) {window, strides, pads}
    case maxPoolGrad = "max_pool_grad"              // (x, dy): routes dy to each window's first maximum
    case avgPool = "avg_pool"                       // (x) {window, strides, pads}; padding not counted
    case avgPoolGrad = "avg_pool_grad"              // (dy): the type gives x's shape
    case resizeBilinear = "resize_bilinear"         // (x): half-pixel centres, no antialias; the type gives the size
    case resizeBilinearGrad = "resize_bilinear_grad" // (dy): the type gives x's shape

    // Effects: update persistent state in place, after every pure node has run, in graph order.
    case assign                                     // (state, value)
    case adamUpdate = "adam_update"                 // (p, m, v, iterations, g) {lr, beta1, beta2, epsilon, decay_rate, decay_steps, clip_low, clip_high}
    case rmspropUpdate = "rmsprop_update"           // (p, v, iterations, g) {lr, rho, epsilon, decay_rate, decay_steps}
    case sgdUpdate = "sgd_update"                   // (p, velocity, iterations, g) {lr, momentum, decay_rate, decay_steps}

    public var isSource: Bool {
        switch self {
        case .input, .param, .state, .constant: return true
        default: return false
        }
    }

    /// Persistent state: lives in the parameter block, survives across runs.
    public var isPersistent: Bool { self == .param || self == .state }

    /// Effects produce no value anyone may read; they write persistent state.
    public var isEffect: Bool {
        switch self {
        case .assign, .adamUpdate, .rmspropUpdate, .sgdUpdate: return true
        default: return false
        }
    }

    public var isUnaryElementwise: Bool {
        switch self {
        case .neg, .exp, .log, .sqrt, .rsqrt, .square, .abs, .sign, .relu, .relu6, .sigmoid, .tanh,
             .softplus, .selu, .leakyRelu, .clip, .cast, .stopGradient:
            return true
        default: return false
        }
    }

    public var isBinaryElementwise: Bool {
        switch self {
        case .add, .sub, .mul, .div, .maximum, .minimum, .pow, .greater, .greaterEqual, .less, .lessEqual,
             .equal:
            return true
        default: return false
        }
    }

    public var isComparison: Bool {
        switch self {
        case .greater, .greaterEqual, .less, .lessEqual, .equal: return true
        default: return false
        }
    }

    public var isElementwise: Bool { isUnaryElementwise || isBinaryElementwise || self == .select }

    public var isReduction: Bool { self == .reduceSum || self == .reduceMean || self == .reduceMax }

    /// One line for `sinter ops`.
    public var summary: String {
        switch self {
        case .input: return "graph input fed each run"
        case .param: return "trainable weight (persistent)"
        case .state: return "non-trainable persistent state"
        case .constant: return "tensor filled with one value"
        case .randomNormal: return "counter-based N(0,1) samples"
        case .randomUniform: return "counter-based U[low,high) samples"
        case .leakyRelu: return "x > 0 ? x : alpha*x"
        case .selu: return "scaled exponential linear unit"
        case .clip: return "clip_by_value to [low, high]"
        case .cast: return "convert element type"
        case .stopGradient: return "identity that blocks gradients"
        case .argmax: return "index of the maximum along an axis (i32)"
        case .oneHot: return "one-hot rows of integer indices"
        case .select: return "cond != 0 ? a : b"
        case .matmul: return "matrix product, optional transposes, batched in rank 3"
        case .conv2d: return "2-D cross-correlation, NHWC x HWIO, explicit pads"
        case .conv2dInputGrad: return "conv2d data gradient; Conv2DTranspose"
        case .conv2dFilterGrad: return "conv2d kernel gradient"
        case .maxPool: return "max over windows"
        case .avgPool: return "mean over windows, padding excluded"
        case .resizeBilinear: return "bilinear resize, half-pixel centres"
        case .pad: return "constant-zero or reflect padding"
        case .assign: return "write a value into persistent state"
        case .adamUpdate: return "Adam step (epsilon-hat form) in place"
        case .rmspropUpdate: return "RMSprop step (epsilon inside the root) in place"
        case .sgdUpdate: return "SGD step with momentum in place"
        default:
            if isUnaryElementwise { return "elementwise \(rawValue)" }
            if isBinaryElementwise { return isComparison ? "elementwise comparison, 1 or 0" : "elementwise \(rawValue), broadcasting" }
            if isReduction { return "\(rawValue) over axes" }
            return rawValue
        }
    }
}

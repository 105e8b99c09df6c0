/// Every error Sinter reports. Each message names what went wrong and where: the op, the shapes,
/// the user's source line, the file or the tensor.
public enum SinterError: Error, CustomStringConvertible, Equatable {
    /// A shape or type mismatch found while building a graph.
    case shape(op: String, message: String, location: SourceLocation)
    /// IR text that does not parse: file (or "<text>"), line number in that text, message.
    case parse(file: String, line: Int, message: String)
    /// A graph that breaks an invariant (found by the verifier).
    case verify(message: String)
    /// A file that cannot be read or is malformed.
    case file(path: String, message: String)
    /// The C compiler could not be run, or failed.
    case compile(message: String)
    /// Bad input at run time: a missing tensor, a wrong shape.
    case runtime(message: String)
    /// An op without a gradient rule, or a graph that cannot be differentiated.
    case autodiff(message: String)

    public var description: String {
        switch self {
        case let .shape(op, message, location):
            return "\(location): error: \(op): \(message)"
        case let .parse(file, line, message):
            return "\(file):\(line): parse error: \(message)"
        case let .verify(message):
            return "IR verifier: \(message)"
        case let .file(path, message):
            return "\(path): \(message)"
        case let .compile(message):
            return "compile error: \(message)"
        case let .runtime(message):
            return "runtime error: \(message)"
        case let .autodiff(message):
            return "autodiff: \(message)"
        }
    }
}

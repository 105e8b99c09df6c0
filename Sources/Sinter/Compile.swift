import SinterCodegen
import SinterIR
import SinterRuntime

/// Graph -> verified -> C -> compiled (cached) -> loaded. The one call most users need.
public func compileGraph(_ graph: Graph) throws -> Executable {
    try graph.verify()
    return try Runtime.compile(try emitC(graph))
}

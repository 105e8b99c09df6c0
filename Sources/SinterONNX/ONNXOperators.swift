/// Every ONNX operator the importer maps, by op type. Each handler reads its node through a
/// NodeContext and returns one value per ONNX output it supports.
public enum ONNXOperators {
    typealias Handler = (NodeContext) throws -> [ImportedValue]

    static let table: [String: Handler] = {
        var table: [String: Handler] = [:]
        for part in [ElementwiseOps.table, ShapeOps.table, ConvOps.table, PoolNormOps.table, MatmulReduceOps.table,
                     ResizeOps.table, QuantizationOps.table, RearrangeOps.table] {
            table.merge(part) { first, _ in first }
        }
        return table
    }()

    /// The supported op types, sorted (for `sinter ops --onnx` and the docs).
    public static var supported: [String] { table.keys.sorted() }
}

import SinterIR

extension IDXFile {
    /// An IDX label file (`*-labels-idx1-ubyte[.gz]`: rank 1, one unsigned byte per example) as
    /// class indices, i32 [N], what `sparseCategoricalCrossEntropy` and the sparse metrics take.
    /// `limit` keeps the first N (at least 1); `classes`, when given, refuses a label outside
    /// 0..<classes, naming the first one and its position.
    public static func labels(path: String, limit: Int? = nil, classes: Int? = nil) throws -> HostTensor {
        if let limit, limit < 1 {
            throw SinterError.file(path: path, message: "cannot keep \(limit) labels: the limit must be at least 1")
        }
        let file = try read(path: path)
        guard file.shape.count == 1 else {
            throw SinterError.file(path: path, message: "expected IDX labels (one dimension, N), got shape \(shapeText(file.shape)); "
                + (file.shape.count == 3 ? "this looks like an image file" : "a label file is idx1-ubyte"))
        }
        guard file.shape[0] > 0 else { throw SinterError.file(path: path, message: "holds no labels (IDX shape \(shapeText(file.shape)))") }
        let kept = file.bytes.prefix(min(limit ?? file.bytes.count, file.bytes.count))
        if let classes, let bad = kept.firstIndex(where: { Int($0) >= classes }) {
            throw SinterError.file(path: path, message: "label \(kept[bad]) at index \(bad) is not a class of 0..<\(classes)")
        }
        return HostTensor(shape: [kept.count], int32s: kept.map { Int32($0) })
    }
}

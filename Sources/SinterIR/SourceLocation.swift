/// Where in the user's Swift code a node was created (`#fileID:#line`).
/// Every node keeps one so errors and dumps can point back at the model source.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public static let unknown = SourceLocation(file: "?", line: 0)

    public var description: String { "\(file):\(line)" }

    /// Parses `File.swift:12`; nil when the text has no `:line` suffix.
    public init?(parsing text: Substring) {
        guard let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]) else {
            return nil
        }
        self.init(file: String(text[..<colon]), line: line)
    }
}

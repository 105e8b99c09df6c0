import SinterIR

/// A feed that no graph takes is an error, never dropped: a misspelt name (`lable` for `label`)
/// would otherwise leave its graph input to another tensor or none, without a word. The trainer
/// checks each step's feeds against its phases; `evaluate` and `predict` against every graph of
/// their learner (so a dataset made for `fit`, targets and all, still predicts).
enum UntakenFeeds {
    /// Throws for the feed names in `given` that are not in `taken`, with a "did you mean" each.
    /// `owner` begins the message ("trainer for 'gan'"); `takers` names what takes feeds, plural
    /// ("phases", "graphs").
    static func check<Names: Sequence>(_ given: Names, taken: Set<String>, owner: String, takers: String) throws where Names.Element == String {
        let untaken = Set(given).subtracting(taken).sorted()
        guard !untaken.isEmpty else { return }
        let taker = takers.hasSuffix("s") ? String(takers.dropLast()) : takers
        throw SinterError.runtime(message: "\(owner): no \(taker) takes the feed\(untaken.count == 1 ? "" : "s") "
            + untaken.prefix(5).map { "'\(SinterError.excerpt($0))'\(NameSuggestions.hint(for: $0, among: taken.sorted()))" }.joined(separator: ", ")
            + (untaken.count > 5 ? " and \(untaken.count - 5) more" : "")
            + "; the \(takers) take: " + (taken.isEmpty ? "no inputs" : taken.sorted().joined(separator: ", ")))
    }
}

/// "Did you mean" for misspelt names (ops in IR text, pass names, feed names, models): the
/// candidate nearest by edit distance, when it is near enough to be a likely typo.
public enum NameSuggestions {
    /// Names longer than this get no suggestion (they come from files; distance is quadratic).
    static let longestCompared = 200

    /// The candidate nearest to `name` (case-insensitive edit distance at most `maxDistance`, and
    /// less than the name's length, so "x" does not suggest "y"); ties go to the first.
    public static func closest(to name: String, among candidates: [String], maxDistance: Int = 2) -> String? {
        guard !name.isEmpty, name.count <= longestCompared else { return nil }
        let lowered = Array(name.lowercased())
        var best: (name: String, distance: Int)?
        for candidate in candidates where candidate.count <= longestCompared {
            let distance = editDistance(lowered, Array(candidate.lowercased()))
            if distance <= maxDistance, distance < lowered.count, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.name
    }

    /// ` (did you mean 'x'?)`, or "" when nothing is close.
    public static func hint(for name: String, among candidates: [String]) -> String {
        closest(to: name, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

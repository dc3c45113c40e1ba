/// Search for a fixed piece of text, byte by byte over UTF-8, with the standard library only.
///
/// Why not `firstRange(of:)`, `split(separator: "||")` or `replacing(_:with:)` with a `String` argument: those come
/// from `_StringProcessing`, whose code the toolchain ships as one section per file, and touching any of it at
/// start-up keeps hundreds of kilobytes of it resident in every nucleus (issue 16, BENCHMARKS §8). The patterns
/// searched for here are short ASCII tokens, for which bytes and characters agree.
enum LiteralSearch {
    /// The first occurrence of `literal` in `text`, or nil (also for an empty `literal`).
    static func firstRange(of literal: String, in text: Substring) -> Range<String.Index>? {
        let needle = Array(literal.utf8)
        guard let head = needle.first else { return nil }
        let bytes = text.utf8
        var start = bytes.startIndex
        while let candidate = bytes[start...].firstIndex(of: head) {
            if bytes[candidate...].starts(with: needle) {
                return candidate..<bytes.index(candidate, offsetBy: needle.count)
            }
            start = bytes.index(after: candidate)
        }
        return nil
    }

    /// `text` cut at every occurrence of `separator`, left to right; empty pieces are kept.
    static func split(_ text: Substring, on separator: String) -> [Substring] {
        var pieces: [Substring] = []
        var rest = text
        while let found = firstRange(of: separator, in: rest) {
            pieces.append(rest[..<found.lowerBound])
            rest = rest[found.upperBound...]
        }
        pieces.append(rest)
        return pieces
    }

    /// `text` with every occurrence of `literal`, left to right and not overlapping, replaced by `replacement`.
    static func replacingAll(_ literal: String, with replacement: String, in text: String) -> String {
        var result = ""
        var rest = text[...]
        while let found = firstRange(of: literal, in: rest) {
            result += rest[..<found.lowerBound]
            result += replacement
            rest = rest[found.upperBound...]
        }
        result += rest
        return result
    }
}

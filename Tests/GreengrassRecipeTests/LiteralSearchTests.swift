@testable import GreengrassRecipe
import Testing

@Suite struct LiteralSearchTests {
    @Test func firstRangeFindsTheFirstOccurrenceAfterFalseStarts() throws {
        let text: Substring = "a|b||c||d"
        let found = try #require(LiteralSearch.firstRange(of: "||", in: text))
        #expect(text[..<found.lowerBound] == "a|b")
        #expect(text[found.upperBound...] == "c||d")
        #expect(LiteralSearch.firstRange(of: "://", in: "s3:/bucket:/x") == nil)
        #expect(LiteralSearch.firstRange(of: "", in: "abc") == nil)
        #expect(LiteralSearch.firstRange(of: "abcd", in: "abc") == nil)
    }

    @Test func firstRangeSearchesOnlyTheSubstring() throws {
        let whole = "||a||b"
        let tail = whole[whole.index(whole.startIndex, offsetBy: 2)...]
        let found = try #require(LiteralSearch.firstRange(of: "||", in: tail))
        #expect(whole[..<found.lowerBound] == "||a")
    }

    @Test func splitKeepsEmptyPiecesLikeSplitWithoutOmitting() {
        for text in ["", "||", "a||b", "||a||||b||", "a|b", "é||ü||日本"] {
            #expect(LiteralSearch.split(text[...], on: "||") == text.split(separator: "||", omittingEmptySubsequences: false), "\(text)")
        }
    }

    @Test func replacingAllReplacesEveryOccurrenceLeftToRightWithoutOverlap() {
        for (text, literal, replacement) in [
            ("{a} and {a}", "{a}", "x"), ("aaa", "aa", "b"), ("none", "{a}", "x"), ("{a}", "{a}", ""),
            ("日本{a}語", "{a}", "{a}{a}"), ("", "x", "y"),
        ] {
            #expect(LiteralSearch.replacingAll(literal, with: replacement, in: text) == text.replacing(literal, with: replacement), "\(text)")
        }
    }
}

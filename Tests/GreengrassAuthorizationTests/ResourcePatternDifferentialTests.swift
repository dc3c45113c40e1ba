import GreengrassAuthorization
import MQTTCore
import GreengrassTestSupport
import Testing


private func randomString(_ alphabet: [Character], maxLength: Int, using generator: inout SplitMix64) -> String {
    String((0..<Int.random(in: 1...maxLength, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
}

/// Plain recursive glob matching (`*` = any run), the obvious definition, to check the linear matcher against.
private func referenceGlob(_ pattern: Substring, _ text: Substring) -> Bool {
    guard let first = pattern.first else { return text.isEmpty }
    if first == "*" {
        return referenceGlob(pattern.dropFirst(), text) || (!text.isEmpty && referenceGlob(pattern, text.dropFirst()))
    }
    return text.first == first && referenceGlob(pattern.dropFirst(), text.dropFirst())
}

/// The matcher agrees with independent definitions on thousands of generated cases.
@Suite struct ResourcePatternDifferentialTests {
    @Test func standardStyleIsGlobMatching() throws {
        var generator = SplitMix64(state: 0xA11C_E5ED)
        var matched = 0
        for _ in 0..<8000 {
            let pattern = randomString(["a", "b", "/", "*", "+", "#"], maxLength: 7, using: &generator)
            let text = randomString(["a", "b", "/", "+", "#"], maxLength: 8, using: &generator)
            let expected = referenceGlob(pattern[...], text[...])
            #expect(try ResourcePattern(pattern).matches(text, style: .standard) == expected, "'\(pattern)' vs '\(text)'")
            if expected { matched += 1 }
        }
        // The generator must exercise both outcomes for the comparison to mean anything.
        #expect(matched > 250)
    }

    /// For a valid MQTT filter without `*` and a plain topic, MQTT style is exactly MQTT topic matching.
    @Test func mqttStyleIsMQTTMatchingForFilters() throws {
        var generator = SplitMix64(state: 0x5EED_0F_F11E)
        var compared = 0
        var matched = 0
        while compared < 3000 {
            let filterText = randomString(["a", "b", "/", "+", "#"], maxLength: 7, using: &generator)
            guard let filter = try? TopicFilter(filterText) else { continue }
            let topic = randomString(["a", "b", "/"], maxLength: 7, using: &generator)
            let expected = filter.matches(topic: topic)
            #expect(try ResourcePattern(filterText).matches(topic, style: .mqtt) == expected, "'\(filterText)' vs '\(topic)'")
            compared += 1
            if expected { matched += 1 }
        }
        #expect(matched > 200)
    }

    /// A requested subscription filter passes only when every topic it can receive is allowed by the policy,
    /// whenever both are valid MQTT filters without `*`.
    @Test func requestedFiltersNeverWidenTheirPolicy() throws {
        var generator = SplitMix64(state: 0xF117_E125)
        var compared = 0
        var allowed = 0
        while compared < 3000 {
            let policyText = randomString(["a", "/", "+", "#"], maxLength: 6, using: &generator)
            let requestText = randomString(["a", "/", "+", "#"], maxLength: 6, using: &generator)
            guard let policy = try? TopicFilter(policyText), let request = try? TopicFilter(requestText) else { continue }
            compared += 1
            guard try ResourcePattern(policyText).matches(requestText, style: .mqtt) else { continue }
            allowed += 1
            #expect(request.isCovered(by: policy), "policy '\(policyText)' allowed wider request '\(requestText)'")
        }
        #expect(allowed > 200)
    }

    /// Arbitrary text either compiles or is refused; compiled patterns never trap, and one without escapes or
    /// placeholders allows its own text in both styles (every wildcard also matches its own character).
    @Test func arbitraryTextNeverCrashesAndMatchesItself() {
        var generator = SplitMix64(state: 0xBAD_B17E5)
        let alphabet: [Character] = ["a", "/", "*", "+", "#", "$", "{", "}", "?", "é", "\u{0}", "i", "o", "t", ":"]
        var selfChecked = 0
        for _ in 0..<3000 {
            let pattern = randomString(alphabet, maxLength: 12, using: &generator)
            let text = randomString(alphabet, maxLength: 12, using: &generator)
            guard let compiled = try? ResourcePattern(pattern, thingName: "T") else { continue }
            _ = compiled.matches(text, style: .standard)
            _ = compiled.matches(text, style: .mqtt)
            if !pattern.contains("$"), !pattern.contains(ResourcePattern.thingNameVariable) {
                #expect(compiled.matches(pattern, style: .standard), "'\(pattern)'")
                #expect(compiled.matches(pattern, style: .mqtt), "'\(pattern)'")
                selfChecked += 1
            }
        }
        #expect(selfChecked > 500)
    }
}

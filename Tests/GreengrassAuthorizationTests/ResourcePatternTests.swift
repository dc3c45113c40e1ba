import GreengrassAuthorization
import Testing

/// One row: does `pattern` allow `resource` in standard (pub/sub) and MQTT (mqttproxy) style?
struct MatchCase: CustomTestStringConvertible, Sendable {
    let pattern: String
    let resource: String
    let standard: Bool
    let mqtt: Bool
    init(_ pattern: String, _ resource: String, standard: Bool, mqtt: Bool) {
        self.pattern = pattern
        self.resource = resource
        self.standard = standard
        self.mqtt = mqtt
    }
    var testDescription: String { "'\(pattern)' vs '\(resource)'" }
}

@Suite struct ResourcePatternTests {
    /// The edge cases the issue names, plus Greengrass's own wildcard semantics (both match styles).
    static let cases: [MatchCase] = [
        // Exact and `*` alone.
        MatchCase("nowildcard", "nowildcard", standard: true, mqtt: true),
        MatchCase("nowildcard", "topic", standard: false, mqtt: false),
        MatchCase("nowildcard", "nowildcardX", standard: false, mqtt: false),
        MatchCase("nowildcard", "nowildcar", standard: false, mqtt: false),
        MatchCase("*", "anything/at/all", standard: true, mqtt: true),
        MatchCase("*", "a", standard: true, mqtt: true),
        MatchCase("**", "a/+/#", standard: true, mqtt: true),
        // An escaped star is a literal: not the match-anything pattern.
        MatchCase("${*}", "*", standard: true, mqtt: true),
        MatchCase("${*}", "a", standard: false, mqtt: false),
        MatchCase("*${*}", "a*", standard: true, mqtt: true),
        MatchCase("*${*}", "a", standard: false, mqtt: false),
        // `*` matches any characters, `/` included, anywhere.
        MatchCase("abc*xy*z", "abc123xyabc!@/<>#$%^&*()_+-=z", standard: true, mqtt: true),
        MatchCase("abc*xy*z", "abcxyz", standard: true, mqtt: true),
        MatchCase("abc*xy*z", "abcxy/ 7895z", standard: true, mqtt: true),
        MatchCase("abc*xy*z", "abc123xy90zABCxyABCz", standard: true, mqtt: true),
        MatchCase("abc*xy*z", "ab789xyz123", standard: false, mqtt: false),
        MatchCase("abc*xy*z", "abc789xy56z123", standard: false, mqtt: false),
        MatchCase("abc*xy*z", "abc123yx90z", standard: false, mqtt: false),
        MatchCase("*qwe*90*", "qwe90", standard: true, mqtt: true),
        MatchCase("*qwe*90*", "789qwe-+9qwe-+90ABC", standard: true, mqtt: true),
        MatchCase("*qwe*90*", "789qwe-+9A", standard: false, mqtt: false),
        MatchCase("ab/*/c", "ab/12/c", standard: true, mqtt: true),
        MatchCase("ab/*/c", "ab/1/3/2/c", standard: true, mqtt: true),
        MatchCase("ab/*/c", "ab/1/34/2/c/", standard: false, mqtt: false),
        MatchCase("*wer", "123werX", standard: false, mqtt: false),
        MatchCase("**/abc", "7/8/abc", standard: true, mqtt: true),
        MatchCase("allowed/*", "allowed/a/b", standard: true, mqtt: true),
        MatchCase("allowed/*", "allowedX/a", standard: false, mqtt: false),
        // `#`: only MQTT style, only as the last level; `a/#` also matches `a`; a shared prefix is not enough.
        MatchCase("a/#", "a/b/c", standard: false, mqtt: true),
        MatchCase("a/#", "a", standard: false, mqtt: true),
        MatchCase("a/#", "a/", standard: false, mqtt: true),
        MatchCase("a/#", "a/#", standard: true, mqtt: true),
        MatchCase("a/#", "ab", standard: false, mqtt: false),
        MatchCase("allowed/#", "allowedX/a", standard: false, mqtt: false),
        MatchCase("allowed/#", "allowedX", standard: false, mqtt: false),
        MatchCase("allowed/#", "allowed/x/y", standard: false, mqtt: true),
        MatchCase("#", "asdu76/asdas/23", standard: false, mqtt: true),
        MatchCase("#", "**90io", standard: false, mqtt: true),
        MatchCase("#", "#", standard: true, mqtt: true),
        MatchCase("/#", "/a/b/c/d/e", standard: false, mqtt: true),
        MatchCase("/#", "a/b/c/d", standard: false, mqtt: false),
        MatchCase("123/#/xyz/#", "123/#/xyz", standard: false, mqtt: true),
        MatchCase("123/#/xyz/#", "123/#/xyz/1/2/345", standard: false, mqtt: true),
        MatchCase("123/#/xyz/#", "123/4/5/6/xyz/abc", standard: false, mqtt: false),
        MatchCase("#/zzz/45", "x/zzz/45", standard: false, mqtt: false),
        MatchCase("#/zzz/45", "#/zzz/45", standard: true, mqtt: true),
        // Misused `#` is a literal.
        MatchCase("w/qqq#", "w/qqq/e/r", standard: false, mqtt: false),
        MatchCase("w/qqq#", "w/qqq#", standard: true, mqtt: true),
        MatchCase("12/#/", "12/4/5/6", standard: false, mqtt: false),
        MatchCase("12/#/", "12/#/", standard: true, mqtt: true),
        MatchCase("##", "abcd", standard: false, mqtt: false),
        MatchCase("##", "##", standard: true, mqtt: true),
        // `+`: one whole level, only MQTT style.
        MatchCase("a/+", "a/b", standard: false, mqtt: true),
        MatchCase("a/+", "a/b/c", standard: false, mqtt: false),
        MatchCase("a/+", "a", standard: false, mqtt: false),
        MatchCase("a/+", "a/+", standard: true, mqtt: true),
        MatchCase("abc/+/123", "abc/def/123", standard: false, mqtt: true),
        MatchCase("abc/+/123", "abc/def/g/123", standard: false, mqtt: false),
        MatchCase("+/56", "123/56", standard: false, mqtt: true),
        MatchCase("+/56", "89/1/56", standard: false, mqtt: false),
        MatchCase("xyz/+/abcd/+/1", "xyz/ghj/abcd//1", standard: false, mqtt: true),
        MatchCase("89/+/+/+/90", "89/1/2//90", standard: false, mqtt: true),
        MatchCase("89/+/+/+/90", "89/1/2/90", standard: false, mqtt: false),
        MatchCase("89/+/+/+/90", "89/1/2/3/4/90", standard: false, mqtt: false),
        MatchCase("+", "abc", standard: false, mqtt: true),
        MatchCase("+", "/123", standard: false, mqtt: false),
        MatchCase("+/+", "/123", standard: false, mqtt: true),
        MatchCase("+/+", "/123/", standard: false, mqtt: false),
        // Misused `+` is a literal.
        MatchCase("ax/qwe+/123", "ax/qwert/123", standard: false, mqtt: false),
        MatchCase("ax/qwe+/123", "ax/qwe+/123", standard: true, mqtt: true),
        MatchCase("12/+23", "12/x23", standard: false, mqtt: false),
        MatchCase("/+/++", "/33/ty", standard: false, mqtt: false),
        MatchCase("/+/++", "/zz/++", standard: false, mqtt: true),
        // Mixed wildcards.
        MatchCase("xyz*/+/*room/#", "xyzzzz/89/bedroom/light/5", standard: false, mqtt: true),
        MatchCase("xyz*/+/*room/#", "xyzzzz/+/bedroom/#", standard: true, mqtt: true),
        MatchCase("12/*#", "12/34/5#", standard: true, mqtt: true),
        MatchCase("12/*#", "12/45/67", standard: false, mqtt: false),
        MatchCase("x*ui/+/#", "xyz/zz34ui/matchPlus/23", standard: false, mqtt: true),
        MatchCase("x*ui/+/#", "xyz/zz34/matchPlus/23", standard: false, mqtt: false),
        MatchCase("x*ui/+/#", "xyzzz34", standard: false, mqtt: false),
        MatchCase("a/+/+/#/+", "a/b/c/#/d", standard: false, mqtt: true),
        MatchCase("a/+/+/#/+", "a/b/c/d/e", standard: false, mqtt: false),
        MatchCase("2131/#/#/+/ui/#", "2131/x/y/z/ui/1", standard: false, mqtt: false),
        MatchCase("2131/#/#/+/ui/#", "2131/#/#/z/ui/1/56", standard: false, mqtt: true),
        MatchCase("abc*/#", "abc123", standard: false, mqtt: true),
        MatchCase("x*/+/#", "xcvb/123/4/5", standard: false, mqtt: true),
        MatchCase("a/*bc/#", "a/xyzbc", standard: false, mqtt: true),
        MatchCase("a/*bc/#", "a/xyzbcnt/bc", standard: false, mqtt: true),
        MatchCase("a/+/#", "a/xyz", standard: false, mqtt: true),
        MatchCase("a/+/#", "a/xyz/nt", standard: false, mqtt: true),
        MatchCase("a/+/#", "a", standard: false, mqtt: false),
        MatchCase("a/+/#", "a/", standard: false, mqtt: true),
        // Requested subscription filters are matched as strings: narrower requests pass, wider ones do not.
        MatchCase("a/#", "a/+/c", standard: false, mqtt: true),
        MatchCase("a/#", "a/#", standard: true, mqtt: true),
        MatchCase("a/+", "a/+", standard: true, mqtt: true),
        MatchCase("a/+", "a/#", standard: false, mqtt: false),
        MatchCase("a/+/#", "a/#", standard: false, mqtt: false),
        MatchCase("a/b", "a/+", standard: false, mqtt: false),
        MatchCase("a/b/c", "a/#", standard: false, mqtt: false),
        MatchCase("a/+/c", "a/#", standard: false, mqtt: false),
        MatchCase("a/+/c", "a/+/c", standard: true, mqtt: true),
        MatchCase("sensors/+/temp", "sensors/#", standard: false, mqtt: false),
        MatchCase("#", "a/#", standard: false, mqtt: true),
        // Escapes are literal characters.
        MatchCase("a${*}b", "a*b", standard: true, mqtt: true),
        MatchCase("a${*}b", "axb", standard: false, mqtt: false),
        MatchCase("cost${$}", "cost$", standard: true, mqtt: true),
        MatchCase("what${?}", "what?", standard: true, mqtt: true),
        MatchCase("what${?}", "whatX", standard: false, mqtt: false),
        MatchCase("$aws/things/x", "$aws/things/x", standard: true, mqtt: true),
        // Non-ASCII literals stay exact; `*` may span them.
        MatchCase("température/*", "température/salle", standard: true, mqtt: true),
        MatchCase("temp*ure/+", "température/x", standard: false, mqtt: true),
        MatchCase("température", "temperature", standard: false, mqtt: false),
    ]

    @Test(arguments: cases)
    func matching(_ row: MatchCase) throws {
        let pattern = try ResourcePattern(row.pattern)
        #expect(pattern.matches(row.resource, style: .standard) == row.standard, "standard")
        #expect(pattern.matches(row.resource, style: .mqtt) == row.mqtt, "mqtt")
    }

    /// Invalid resources are refused with an error naming what is wrong.
    static let invalid: [(String, ResourcePatternError)] = [
        ("", .empty),
        ("?", .unescapedQuestionMark(offset: 0)),
        ("a/b?", .unescapedQuestionMark(offset: 3)),
        ("${c}", .invalidEscape(offset: 0, sequence: "${c}")),
        ("a${*bc}", .invalidEscape(offset: 1, sequence: "${*b")),
        ("a${", .invalidEscape(offset: 1, sequence: "${")),
        ("x${*", .invalidEscape(offset: 1, sequence: "${*")),
        ("${+}", .invalidEscape(offset: 0, sequence: "${+}")),
    ]

    @Test(arguments: invalid)
    func invalidResources(_ text: String, _ expected: ResourcePatternError) {
        #expect(throws: expected) { try ResourcePattern(text) }
    }

    @Test func errorMessagesNameTheProblem() {
        #expect(ResourcePatternError.unescapedQuestionMark(offset: 3).description.contains("'?'"))
        #expect(ResourcePatternError.invalidEscape(offset: 1, sequence: "${c}").description.contains("${c}"))
        #expect(ResourcePatternError.empty.description == "resource is empty")
    }

    @Test func dollarWithoutBraceIsLiteral() throws {
        let pattern = try ResourcePattern("a$b/$")
        #expect(pattern.matches("a$b/$", style: .standard))
        #expect(!pattern.matches("ab/", style: .standard))
    }

    @Test func thingNameIsSubstitutedAsLiteralText() throws {
        let pattern = try ResourcePattern("$aws/things/{iot:thingName}/shadow/#", thingName: "My_Thing-1")
        #expect(pattern.matches("$aws/things/My_Thing-1/shadow/update", style: .mqtt))
        #expect(pattern.matches("$aws/things/My_Thing-1/shadow", style: .mqtt))
        #expect(!pattern.matches("$aws/things/Other/shadow/update", style: .mqtt))
        #expect(!pattern.matches("$aws/things/{iot:thingName}/shadow/update", style: .mqtt))
        #expect(pattern.text == "$aws/things/{iot:thingName}/shadow/#")
        // `+` right after the placeholder's `/` is still a whole level.
        let plus = try ResourcePattern("{iot:thingName}/+", thingName: "t")
        #expect(plus.matches("t/x", style: .mqtt))
        #expect(!plus.matches("t/x/y", style: .mqtt))
    }

    @Test func withoutThingNameThePlaceholderStaysLiteral() throws {
        let pattern = try ResourcePattern("things/{iot:thingName}")
        #expect(pattern.matches("things/{iot:thingName}", style: .standard))
        #expect(!pattern.matches("things/x", style: .standard))
    }

    @Test func emptyRequestIsNeverMatchedExceptByWildcards() throws {
        #expect(!(try ResourcePattern("a").matches("", style: .standard)))
        #expect(try ResourcePattern("*").matches("", style: .standard))
    }

    /// Hostile inputs: many globs against a long string finish quickly (no exponential backtracking).
    @Test func manyGlobsOnLongInputsStayLinear() throws {
        let pattern = try ResourcePattern(String(repeating: "*a", count: 200) + "*b")
        let input = String(repeating: "a", count: 20_000)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(!pattern.matches(input, style: .mqtt))
            #expect(pattern.matches(input + "b", style: .standard))
        }
        #expect(elapsed < .seconds(20))
    }
}

import GreengrassJSON
import GreengrassRecipe
import Testing

/// The libyaml-based reader: typed scalars, positions, and the defences against hostile files.
@Suite struct YAMLReaderTests {
    private func document(_ text: String, fileName: String = "d.yaml") throws -> RecipeNode {
        try RecipeNode(parsingDocument: text, fileName: fileName, kind: .recipe)
    }

    private func error(_ text: String, fileName: String = "d.yaml") -> RecipeError? {
        recipeError { _ = try document(text, fileName: fileName) }
    }

    /// Runs `body` and returns how long it took.
    private func timed(_ body: () -> Void) -> Duration {
        ContinuousClock().measure(body)
    }

    @Test func aliasBombStopsAtTheAliasThatCrossesTheBudget() {
        let bomb = """
            a: &a [x, x, x, x, x, x, x, x, x, x]
            b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
            c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
            d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
            e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
            f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
            """
        // 1 + 11 + 111 + 1,111 + 11,111 + 111,111 + 1 values before f's first *e, which adds 111,111 more.
        let found = error(bomb)
        #expect(found?.code == .limitExceeded)
        #expect(found?.line == 6 && found?.column == 8, "\(String(describing: found))")
        #expect(found?.description.hasPrefix("d.yaml:6:8: ") == true)
    }

    @Test func deepAliasBombIsRefusedInMilliseconds() {
        // 10^30 values if expanded.
        var text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...30 {
            text += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        var found: RecipeError?
        let elapsed = timed { found = error(text) }
        #expect(found?.code == .limitExceeded)
        #expect(found?.line == 6)
        #expect(elapsed < .seconds(2), "\(elapsed)")
    }

    @Test func aliasesExpandToCopiesWithTheAnchorsPositions() throws {
        let root = try document("base: &b {k: 1}\nuse: *b\nkey: &name label\n*name : 2\n")
        #expect(root.json == ["base": ["k": 1], "use": ["k": 1], "key": "label", "label": 2])
        #expect(root.node(at: ["use", "k"])?.location == SourcePosition(line: 1, column: 14))
        #expect(error("a: *missing\n")?.code == .syntax)
        #expect(error("a: *missing\n")?.column == 4)
        // An alias expanding below the depth limit counts its own levels.
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let nested = String(repeating: "[", count: 40) + "*d" + String(repeating: "]", count: 40)
        #expect(error("a: &d \(deep)\nb: \(nested)\n")?.code == .limitExceeded)
    }

    @Test(arguments: [("flow", 132), ("block", 259)])
    func twoHundredThousandLevelsAreRefusedInMillisecondsAtLevel129(style: String, column: Int) {
        let depth = 200_000
        let text = style == "flow"
            ? "a: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            : String(repeating: "- ", count: depth) + "x"
        var found: RecipeError?
        let elapsed = timed { found = error(text) }
        #expect(found?.code == .limitExceeded, "\(String(describing: found))")
        #expect(found?.line == 1 && found?.column == column, "\(String(describing: found))")
        #expect(elapsed < .seconds(2), "\(elapsed)")
    }

    @Test func sixtyFourMegabyteRecipeIsRefusedBeforeParsing() {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 64 << 20)
        var found: RecipeError?
        let elapsed = timed { found = recipeError { _ = try ComponentRecipe(bytes: bytes, fileName: "huge.yaml") } }
        #expect(found?.code == .limitExceeded)
        #expect(found?.reason == "the recipe file is 67108864 bytes, more than the limit of 4194304")
        #expect(elapsed < .seconds(1), "\(elapsed)")
    }

    @Test func invalidUTF8NamesTheFirstBadByte() {
        let bytes = Array("a: b\nc: d".utf8) + [0xFF] + Array(" e\n".utf8)
        let found = recipeError { _ = try ComponentRecipe(bytes: bytes, fileName: "bin.yaml") }
        #expect(found?.code == .syntax)
        #expect(found?.description == "bin.yaml:2:5: the recipe file is not valid UTF-8")
    }

    @Test func controlCharacterIsASyntaxErrorWithItsPosition() {
        let found = error("a: b\nc: x\u{07}y\n")
        #expect(found?.code == .syntax)
        #expect(found?.line == 2 && found?.column == 5, "\(String(describing: found))")
    }

    @Test func tabIndentationIsASyntaxErrorWithLineAndColumn() {
        let found = error("a:\n  b: 1\n\tc: 2\n")
        #expect(found?.code == .syntax)
        #expect(found?.line == 3 && found?.column == 1, "\(String(describing: found))")
        #expect(found?.reason.hasPrefix("invalid YAML: ") == true)
    }

    @Test func unclosedFlowSequenceNamesWhereItStarted() {
        let found = error("a: [1, 2\nb: 3\n")
        #expect(found?.code == .syntax)
        #expect(found?.line == 2, "\(String(describing: found))")
        #expect(found?.reason.contains("at 1:4") == true, "\(String(describing: found))")
    }

    @Test func duplicateKeysAreRefusedAtTheSecondKey() throws {
        let found = error("a: 1\nb:\n  c: 1\n  c: 2\n")
        #expect(found?.code == .syntax)
        #expect(found?.description == "d.yaml:4:3: invalid YAML: duplicate key \"c\"")
        // Keys differing in case are different keys; lookups take the last (Jackson's case-insensitive mapper).
        #expect(try document("Key: 1\nkey: 2\n").member("KEY")?.value.json == 2)
    }

    @Test func oneDocumentOnly() {
        #expect(error("a: 1\n---\nb: 2\n")?.line == 2)
        #expect(error("a: 1\n---\nb: 2\n")?.code == .syntax)
        #expect(error("# only a comment\n")?.code == .emptyRecipe)
    }

    @Test func containerKeysAreRefused() {
        let found = error("? [a, b]\n: 1\n")
        #expect(found?.code == .wrongType)
        #expect(found?.line == 1 && found?.column == 3)
    }

    @Test(arguments: [
        ("1", JSONValue.int(1)), ("-17", .int(-17)), ("+5", .int(5)), ("0", .int(0)), ("1_000", .int(1000)),
        ("0x1F", .int(31)), ("0b101", .int(5)), ("017", .int(15)), ("0o17", .int(15)), ("1:30", .int(90)),
        ("99999999999999999999", .double(1e20)), ("2.5", .double(2.5)), ("1e3", .double(1000)), (".5", .double(0.5)),
        ("-1.5e-3", .double(-0.0015)), ("1:30.5", .double(90.5)), (".inf", .string(".inf")), (".NaN", .string(".NaN")),
        ("true", .bool(true)), ("Yes", .bool(true)), ("OFF", .bool(false)), ("y", .string("y")), ("tRUE", .string("tRUE")),
        ("~", .null), ("null", .null), ("NULL", .null), ("nULL", .string("nULL")), ("", .null),
        ("2020-01-25", .string("2020-01-25")), ("<<", .string("<<")), ("=", .string("=")), ("1.0.0", .string("1.0.0")),
        ("0x", .string("0x")), ("1e", .string("1e")), ("1:75", .string("1:75")), ("08", .double(8)),
        ("\"1\"", .string("1")), ("'true'", .string("true")), ("\"\"", .string("")), ("'~'", .string("~")),
        ("|\n  42\n", .string("42\n")), ("!!str 12", .string("12")), ("!!int \"12\"", .string("12")), ("!!int 12", .int(12)),
        ("!!float 1", .double(1)), ("!!bool \"yes\"", .bool(true)), ("!!null x", .null), ("! 12", .string("12")),
        ("!custom 12", .string("12")), ("\"a\\tb\\u00e9\"", .string("a\tbé")),
    ])
    func scalarsAreTypedAsYAML11(text: String, expected: JSONValue) throws {
        let root = try document("v: " + text)
        #expect(root.member("v")?.value.json == expected, "\(text)")
    }

    @Test func keysAreTheirTextAsWritten() throws {
        let root = try document("1: a\ntrue: b\n~: c\n\"q\": d\n1.0: e\n")
        #expect(root.members?.map(\.key) == ["1", "true", "~", "q", "1.0"])
    }

    @Test func positionsAreOneBasedAndCountCharactersNotBytes() throws {
        let root = try document("é: [x, \"ü\", {k: v}]\n")
        let list = try #require(root.member("é")?.value)
        #expect(list.location == SourcePosition(line: 1, column: 4))
        guard case .sequence(let elements) = list.content else { Issue.record("not a list"); return }
        #expect(elements.map(\.location) == [
            SourcePosition(line: 1, column: 5), SourcePosition(line: 1, column: 8), SourcePosition(line: 1, column: 13),
        ])
    }
}

@Suite struct YAMLWriterTests {
    static let awkwardStrings: [String] = [
        "", " leading", "trailing ", "a: b", "# not a comment", "a #b", "true", "yes", "no", "null", "~", "1", "1.0", "0x1F",
        "1:30", "2020-01-25", "line\nbreak", "tab\there", "quote\" and \\ backslash", "'single'", "- dash", "[flow]", "{m}",
        "é ü 日本 🚀", "\u{85}nel\u{2028}ls\u{2029}ps", "\u{1}\u{7F}\u{FEFF}", "*alias", "&anchor", "!tag", "%directive",
        "@at", "`tick", "|", ">", "---", "...", "?", ": x", "\r\n",
    ]

    static var everything: JSONValue {
        var strings: [String: JSONValue] = [:]
        for (index, text) in awkwardStrings.enumerated() { strings["s\(index)"] = .string(text) }
        var keys: [String: JSONValue] = [:]
        for text in awkwardStrings { keys[text] = .string(text) }
        return [
            "strings": .array(awkwardStrings.map(JSONValue.string)),
            "byKey": .object(strings), "awkwardKeys": .object(keys),
            "numbers": [0, -1, .int(Int.max), .int(Int.min), 2.5, 1e16, -1e-7, 0.1, 5.0, 1e300],
            "flags": [true, false], "nothing": nil, "emptyList": [], "emptyMap": [:],
            "nested": [[[1, [2, [:]]], ["a": [["b": []]]]], ["x": ["y": ["z": "deep"]]]],
            "aws.greengrass.Nucleus": ["configuration": ["mqtt": ["port": 8883]]],
        ]
    }

    @Test func writtenYAMLReadsBackToTheSameValue() throws {
        let value = Self.everything
        let text = YAMLWriter.document(value)
        let read = try RecipeNode(parsingDocument: text, fileName: "effectiveConfig.yaml", kind: .configuration)
        #expect(read.json == value, "\(text)")
    }

    @Test(arguments: [JSONValue.null, true, 3, 2.5, "text", [], [:], ["a"], ["k": "v"]])
    func topLevelValuesRoundTrip(value: JSONValue) throws {
        let read = try RecipeNode(parsingDocument: YAMLWriter.document(value), fileName: "x.yaml", kind: .configuration)
        #expect(read.json == value)
    }

    @Test func outputIsBlockStyleForPeople() {
        let text = YAMLWriter.document([
            "services": ["aws.greengrass.Nucleus": ["version": "2.14.0", "ports": [1, 2], "list": [["a": 1, "b": true]]]],
            "system": ["true": "x"],
        ])
        #expect(text == """
            services:
              aws.greengrass.Nucleus:
                list:
                  - a: 1
                    b: true
                ports:
                  - 1
                  - 2
                version: "2.14.0"
            system:
              "true": "x"

            """)
        #expect(YAMLWriter.document(1e16) == "1.0e+16\n")
    }
}

import GreengrassLifecycle
import Testing

@Suite("OutputLineSplitter")
struct OutputLineSplitterTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: String
        var lines: [String]
        var testDescription: String { input.debugDescription }
    }

    static let cases: [Case] = [
        Case(input: "hello\n", lines: ["hello"]),
        Case(input: "a\nb\n", lines: ["a", "b"]),
        Case(input: "crlf\r\nnext\r\n", lines: ["crlf", "next"]),
        Case(input: "cr only\rsecond\r", lines: ["cr only", "second"]),
        Case(input: "  padded\t \n", lines: ["padded"]),
        Case(input: "\n\n   \n\r\n", lines: []),
        Case(input: "no newline at end", lines: ["no newline at end"]),
        Case(input: "x\n  last  ", lines: ["x", "last"]),
        Case(input: "", lines: []),
        Case(input: "ünïcödé ✓\n", lines: ["ünïcödé ✓"]),
        Case(input: "tab\tinside\n", lines: ["tab\tinside"]),
    ]

    func split(_ bytes: [UInt8], chunk: Int, maximum: Int = 1024) -> [String] {
        var splitter = OutputLineSplitter(maximumLineLength: maximum)
        var lines: [String] = []
        var index = 0
        while index < bytes.count {
            let end = min(index + chunk, bytes.count)
            lines += splitter.feed(bytes[index..<end])
            index = end
        }
        return lines + splitter.finish()
    }

    @Test(arguments: cases)
    func splitsLikeGreengrass(_ testCase: Case) {
        let bytes = Array(testCase.input.utf8)
        for chunk in [1, 2, 3, 7, max(1, bytes.count)] {
            #expect(split(bytes, chunk: chunk) == testCase.lines, "chunk size \(chunk)")
        }
    }

    @Test("a line longer than the cap is cut into pieces and the buffer stays bounded")
    func longLinesAreBounded() {
        var splitter = OutputLineSplitter(maximumLineLength: 10)
        var lines: [String] = []
        for _ in 0..<1000 {
            lines += splitter.feed(Array("abcdefg".utf8))
            #expect(splitter.bufferedByteCount < 10)
        }
        lines += splitter.finish()
        #expect(lines.count == 700)
        #expect(lines.allSatisfy { $0.utf8.count == 10 })
        #expect(lines.joined().utf8.count == 7000)
    }

    @Test("invalid UTF-8 is replaced, never trusted")
    func invalidUTF8() {
        var splitter = OutputLineSplitter()
        let lines = splitter.feed([0x61, 0xFF, 0xFE, 0x62, 0x0A])
        #expect(lines == ["a\u{FFFD}\u{FFFD}b"])
    }
}

@Suite("SkipCondition")
struct SkipConditionTests {
    @Test(arguments: [
        ("exists /tmp/x", SkipCondition(check: .exists, argument: "/tmp/x")),
        ("onpath git", SkipCondition(check: .onPath, argument: "git")),
        ("!onpath python3", SkipCondition(check: .onPath, argument: "python3", negated: true)),
        ("  ! exists   ~/marker file  ", SkipCondition(check: .exists, argument: "~/marker file", negated: true)),
        ("ONPATH sh", SkipCondition(check: .onPath, argument: "sh")),
        ("exists\t/a", SkipCondition(check: .exists, argument: "/a")),
    ])
    func parses(_ text: String, _ expected: SkipCondition) throws {
        #expect(try SkipCondition(parsing: text) == expected)
    }

    @Test(arguments: ["", "exists", "exists   ", "found /x", "!", "onpathgit", "! nothing here"])
    func rejects(_ text: String) {
        #expect(throws: SkipConditionError(expression: text)) { try SkipCondition(parsing: text) }
    }

    @Test func negationFlipsTheResult() {
        let plain = SkipCondition(check: .exists, argument: "/x")
        let negated = SkipCondition(check: .exists, argument: "/x", negated: true)
        #expect(plain.skips(checkHolds: true))
        #expect(!plain.skips(checkHolds: false))
        #expect(!negated.skips(checkHolds: true))
        #expect(negated.skips(checkHolds: false))
        #expect(negated.description == "!exists /x")
        #expect(SkipConditionError(expression: "bad").description.contains("\"bad\""))
    }
}

@Suite("DependencyOrder")
struct DependencyOrderTests {
    static let graph: [String: [String]] = [
        "app": ["db", "broker"],
        "db": ["storage"],
        "broker": [],
        "storage": [],
        "reporter": ["app", "missing.Component"],
    ]

    @Test func startOrderPutsDependenciesFirst() {
        let order = DependencyOrder.startOrder(Self.graph)
        #expect(order == ["broker", "storage", "db", "app", "reporter"])
        for (name, deps) in Self.graph {
            for dep in deps where Self.graph[dep] != nil {
                #expect(order.firstIndex(of: dep)! < order.firstIndex(of: name)!)
            }
        }
    }

    @Test func stopOrderIsReversed() {
        #expect(DependencyOrder.stopOrder(Self.graph) == ["reporter", "app", "db", "storage", "broker"])
    }

    @Test func dependentsAreTransitiveInStopOrder() {
        #expect(DependencyOrder.dependents(of: "storage", in: Self.graph) == ["reporter", "app", "db"])
        #expect(DependencyOrder.dependents(of: "reporter", in: Self.graph) == [])
    }

    @Test("a cycle does not hang or drop components")
    func cycles() {
        let order = DependencyOrder.startOrder(["a": ["b"], "b": ["a"], "c": [], "self": ["self"]])
        #expect(order == ["c", "self", "a", "b"])
    }
}

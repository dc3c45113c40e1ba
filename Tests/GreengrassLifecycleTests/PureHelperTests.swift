import GreengrassLifecycle
import Testing

@Suite("SkipCondition")
struct SkipConditionTests {
    @Test(arguments: [
        ("exists /tmp/x", SkipCondition(check: .exists, argument: "/tmp/x")),
        ("onpath git", SkipCondition(check: .onPath, argument: "git")),
        ("!onpath python3", SkipCondition(check: .onPath, argument: "python3", negated: true)),
        ("  ! exists   ~/marker file  ", SkipCondition(check: .exists, argument: "~/marker file", negated: true)),
        ("  exists   /a  ", SkipCondition(check: .exists, argument: "/a")),
        ("! exists ~/file with spaces", SkipCondition(check: .exists, argument: "~/file with spaces", negated: true)),
    ])
    func parses(_ text: String, _ expected: SkipCondition) throws {
        #expect(try SkipCondition(parsing: text) == expected)
    }

    @Test(arguments: [
        "", "exists", "exists   ", "found /x", "!", "onpathgit", "! nothing here", "ONPATH sh", "Exists /x", "exists\t/a",
        "!!exists /x", "existsx /a", "which docker",
    ])
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
        #expect((try? SkipCondition(parsing: "!onpath b"))?.description == "!onpath b")
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

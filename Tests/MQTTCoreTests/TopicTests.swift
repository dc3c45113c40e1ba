import MQTTCore
import Testing

@Suite("TopicFilter and TopicTrie")
struct TopicTests {
    static let matching: [(String, String, Bool)] = [
        ("a/b", "a/b", true), ("a/b", "a/c", false), ("a/b", "a/b/c", false), ("a/b/c", "a/b", false),
        ("a/+", "a/b", true), ("a/+", "a/", true), ("a/+", "a", false), ("a/+", "a/b/c", false),
        ("+/+", "/x", true), ("+", "/x", false), ("/+", "/x", true),
        ("a/#", "a", true), ("a/#", "a/b", true), ("a/#", "a/b/c", true), ("a/#", "b", false),
        ("#", "a/b/c", true), ("#", "/", true), ("+/b/#", "x/b", true), ("+/b/#", "x/c/b", false),
        ("#", "$SYS/broker", false), ("+/broker", "$SYS/broker", false), ("$SYS/#", "$SYS/broker", true),
        ("$SYS/+", "$SYS/broker", true), ("$aws/things/+/shadow/#", "$aws/things/t1/shadow/update", true),
        ("$share/g/a/+", "a/b", true), ("$share/g/#", "x", true), ("A/b", "a/b", false), ("ü/+", "ü/x", true),
    ]

    @Test("matches(topic:)", arguments: matching)
    func matches(filter: String, topic: String, expected: Bool) throws {
        #expect(try TopicFilter(filter).matches(topic: topic) == expected)
    }

    @Test("TopicTrie agrees with matches(topic:)", arguments: matching)
    func trieAgrees(filter: String, topic: String, expected: Bool) throws {
        var trie = TopicTrie<Int>()
        trie.insert(try TopicFilter(filter), 1)
        #expect(trie.match(topic: topic) == (expected ? [1] : []))
    }

    @Test("invalid filters", arguments: ["", "a/#/b", "a#", "#a", "a/b+", "+a/b", "$share/g", "$share//a", "$share/g+/a", "a\u{0}b"])
    func invalid(filter: String) {
        #expect(throws: TopicFilter.ValidationError.self) { try TopicFilter(filter) }
    }

    @Test("shared subscription parts")
    func shared() throws {
        let filter = TopicFilter("$share/group/a/+/c")
        #expect(filter.shareName == "group")
        #expect(filter.levels == [.literal("a"), .singleWildcard, .literal("c")])
        #expect(filter.hasWildcards)
        #expect(!TopicFilter("a/b").hasWildcards)
    }

    static let coverage: [(String, String, Bool)] = [
        ("a/b", "a/b", true), ("a/b", "a/+", true), ("a/b", "a/#", true), ("a/b", "#", true), ("a", "a/#", true),
        ("a/+", "a/#", true), ("a/+", "a/+", true), ("a/+", "a/b", false), ("a/#", "a/+", false), ("a/#", "a/#", true),
        ("a/b/c", "a/+/c", true), ("a/+/c", "a/b/c", false), ("a/b", "a/b/c", false), ("a/b/c", "a/b", false),
        ("#", "a/#", false), ("+", "#", true), ("$aws/x", "#", false), ("$aws/x", "+/x", false), ("$aws/x", "$aws/#", true),
        ("$share/g/a/b", "a/#", true), ("a/b", "$share/g/a/#", false), ("$share/g/a/b", "$share/g/a/#", true),
        ("$share/g/a/b", "$share/h/a/#", false),
    ]

    @Test("isCovered(by:) for authorization", arguments: coverage)
    func covered(requested: String, allowed: String, expected: Bool) throws {
        #expect(try TopicFilter(requested).isCovered(by: TopicFilter(allowed)) == expected)
    }

    @Test("trie with many filters returns every match and removes precisely")
    func trieMany() throws {
        var trie = TopicTrie<String>()
        let filters = ["a/b", "a/+", "a/#", "#", "+/b", "a/b/c", "$SYS/#", "a/b"]
        for (index, filter) in filters.enumerated() { trie.insert(try TopicFilter(filter), "\(filter)#\(index)") }
        #expect(trie.count == filters.count)
        #expect(Set(trie.match(topic: "a/b")) == ["a/b#0", "a/+#1", "a/##2", "##3", "+/b#4", "a/b#7"])
        #expect(Set(trie.match(topic: "$SYS/x")) == ["$SYS/##6"])
        #expect(trie.match(topic: "+").count == 1) // only '#': a literal '+' topic must not hit the '+' node
        #expect(trie.remove(TopicFilter("a/b")) { $0 == "a/b#0" } == 1)
        #expect(Set(trie.values(for: TopicFilter("a/b"))) == ["a/b#7"])
        #expect(trie.removeAll(TopicFilter("#")) == 1)
        #expect(Set(trie.match(topic: "a/b")) == ["a/+#1", "a/##2", "+/b#4", "a/b#7"])
        for filter in Set(filters) { trie.removeAll(try TopicFilter(filter)) }
        #expect(trie.isEmpty)
        #expect(trie.match(topic: "a/b").isEmpty)
    }

    @Test("topic name validation")
    func topicNames() {
        #expect(TopicName.isValid("a/b"))
        #expect(TopicName.isValid("/"))
        #expect(!TopicName.isValid(""))
        #expect(!TopicName.isValid("a/+"))
        #expect(!TopicName.isValid("#"))
        #expect(!TopicName.isValid("a\u{0}"))
        #expect(!TopicName.isValid(String(repeating: "x", count: 65_536)))
    }
}

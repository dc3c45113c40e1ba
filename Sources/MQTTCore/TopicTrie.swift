/// A trie of topic filters mapping each to values, answering "which values' filters match this topic".
///
/// Used for fanning inbound messages out to subscriptions (the IPC bridge) and for authorization.
/// A value type: copies are independent. Shared-subscription filters are stored under their
/// filter proper (the `$share/<group>/` prefix is not part of the match).
public struct TopicTrie<Value>: Sendable where Value: Sendable {
    private struct Node: Sendable {
        var values: [Value] = []
        // Wildcards live under the keys "+" and "#": a literal level can never be either.
        var children: [String: Node] = [:]
        var isEmpty: Bool { values.isEmpty && children.isEmpty }
    }

    private var root = Node()
    /// Number of stored values.
    public private(set) var count = 0

    public init() {}

    /// True when the trie holds no values.
    public var isEmpty: Bool { count == 0 }

    private static func key(_ level: TopicFilter.Level) -> String {
        switch level {
        case .literal(let literal): literal
        case .singleWildcard: "+"
        case .multiWildcard: "#"
        }
    }

    /// Adds `value` under `filter` (several values may share one filter).
    public mutating func insert(_ filter: TopicFilter, _ value: Value) {
        Self.insert(&root, filter.levels[...], value)
        count += 1
    }

    private static func insert(_ node: inout Node, _ levels: ArraySlice<TopicFilter.Level>, _ value: Value) {
        guard let first = levels.first else {
            node.values.append(value)
            return
        }
        insert(&node.children[key(first), default: Node()], levels.dropFirst(), value)
    }

    /// Removes the values stored under exactly `filter` for which `predicate` is true.
    /// - Returns: how many values were removed.
    @discardableResult
    public mutating func remove(_ filter: TopicFilter, where predicate: (Value) -> Bool) -> Int {
        let removed = Self.remove(&root, filter.levels[...], predicate)
        count -= removed
        return removed
    }

    /// Removes every value stored under exactly `filter`.
    @discardableResult
    public mutating func removeAll(_ filter: TopicFilter) -> Int { remove(filter) { _ in true } }

    private static func remove(_ node: inout Node, _ levels: ArraySlice<TopicFilter.Level>, _ predicate: (Value) -> Bool) -> Int {
        guard let first = levels.first else {
            let before = node.values.count
            node.values.removeAll(where: predicate)
            return before - node.values.count
        }
        let key = key(first)
        guard var child = node.children[key] else { return 0 }
        let removed = remove(&child, levels.dropFirst(), predicate)
        node.children[key] = child.isEmpty ? nil : child
        return removed
    }

    /// The values stored under exactly `filter` (no wildcard matching).
    public func values(for filter: TopicFilter) -> [Value] {
        var node = root
        for level in filter.levels {
            guard let child = node.children[Self.key(level)] else { return [] }
            node = child
        }
        return node.values
    }

    /// Every value whose filter matches `topic`, applying the `$`-topic rule.
    public func match(topic: String) -> [Value] {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        var result: [Value] = []
        Self.collect(root, levels[...], isRoot: true, dollar: topic.hasPrefix("$"), into: &result)
        return result
    }

    private static func collect(_ node: Node, _ levels: ArraySlice<Substring>, isRoot: Bool, dollar: Bool, into result: inout [Value]) {
        let wildcardsAllowed = !(isRoot && dollar)
        if wildcardsAllowed, let multi = node.children["#"] { result.append(contentsOf: multi.values) }
        guard let level = levels.first else {
            result.append(contentsOf: node.values)
            return
        }
        // A topic level of "+" or "#" is invalid input; never let it reach the wildcard nodes as a literal.
        if level != "+", level != "#", let exact = node.children[String(level)] {
            collect(exact, levels.dropFirst(), isRoot: false, dollar: dollar, into: &result)
        }
        if wildcardsAllowed, let single = node.children["+"] {
            collect(single, levels.dropFirst(), isRoot: false, dollar: dollar, into: &result)
        }
    }
}

/// Rules for MQTT topic names (what PUBLISH carries).
public enum TopicName {
    /// Longest UTF-8 encoding a topic or filter can have (two-byte length prefix).
    public static let maximumLength = 65_535

    /// Returns a description of what is wrong with `topic` as a PUBLISH topic name, or nil when it is valid.
    ///
    /// A topic name is non-empty, at most 65,535 UTF-8 bytes, and has no `+`, `#` or U+0000 (MQTT-3.3.2-2, MQTT-4.7.3-1).
    public static func validationFailure(_ topic: String) -> String? {
        if topic.isEmpty { return "topic name is empty" }
        if topic.utf8.count > maximumLength { return "topic name is longer than \(maximumLength) bytes" }
        // Scanned as contiguous bytes (every published message is checked; the UTF-8 view's index is slower).
        let forbidden = topic.utf8.withContiguousStorageIfAvailable(firstForbiddenByte) ?? firstForbiddenByte(topic.utf8)
        switch forbidden {
        case UInt8(ascii: "+"), UInt8(ascii: "#"): return "topic name '\(topic)' contains a wildcard character"
        case 0: return "topic name contains U+0000"
        default: return nil
        }
    }

    /// The first `+`, `#` or NUL in `bytes`.
    private static func firstForbiddenByte(_ bytes: some Sequence<UInt8>) -> UInt8? {
        for byte in bytes where byte == UInt8(ascii: "+") || byte == UInt8(ascii: "#") || byte == 0 { return byte }
        return nil
    }

    /// True when `topic` may be used as a PUBLISH topic name.
    public static func isValid(_ topic: String) -> Bool { validationFailure(topic) == nil }
}

/// A validated MQTT topic filter (what SUBSCRIBE carries), parsed once into levels.
///
/// Supports the single-level wildcard `+`, the multi-level wildcard `#` (last level only),
/// the `$`-topic rule (a filter starting with a wildcard never matches a topic starting with `$`),
/// and MQTT 5 shared subscriptions `$share/<group>/<filter>`.
public struct TopicFilter: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// One level of a filter.
    public enum Level: Hashable, Sendable {
        case literal(String)
        /// `+`
        case singleWildcard
        /// `#`
        case multiWildcard
    }

    /// The filter exactly as written (including any `$share/<group>/` prefix).
    public let string: String
    /// The share group when this is a shared subscription (`$share/<group>/…`).
    public let shareName: String?
    /// The levels of the filter proper (after any share prefix).
    public let levels: [Level]

    /// Why a string is not a valid topic filter.
    public struct ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
        public let filter: String
        public let reason: String
        public var description: String { "invalid topic filter '\(filter)': \(reason)" }
    }

    /// Parses and validates a topic filter.
    /// - Throws: ``ValidationError`` naming the rule that was broken.
    public init(_ string: String) throws(ValidationError) {
        func fail(_ reason: String) -> ValidationError { ValidationError(filter: string, reason: reason) }
        if string.isEmpty { throw fail("it is empty") }
        if string.utf8.count > TopicName.maximumLength { throw fail("it is longer than \(TopicName.maximumLength) bytes") }
        if string.utf8.contains(0) { throw fail("it contains U+0000") }
        var rawLevels = string.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var share: String?
        if rawLevels.count >= 1, rawLevels[0] == "$share" {
            guard rawLevels.count >= 3 else { throw fail("a shared subscription needs '$share/<group>/<filter>'") }
            let group = rawLevels[1]
            if group.isEmpty || group.contains("+") || group.contains("#") {
                throw fail("share name '\(group)' must be non-empty and contain no wildcard")
            }
            share = group
            rawLevels.removeFirst(2)
        }
        var levels: [Level] = []
        levels.reserveCapacity(rawLevels.count)
        for (index, level) in rawLevels.enumerated() {
            switch level {
            case "+": levels.append(.singleWildcard)
            case "#":
                guard index == rawLevels.count - 1 else { throw fail("'#' must be the last level") }
                levels.append(.multiWildcard)
            default:
                if level.contains("+") || level.contains("#") {
                    throw fail("wildcard characters must occupy a whole level, found '\(level)'")
                }
                levels.append(.literal(level))
            }
        }
        self.string = string
        self.shareName = share
        self.levels = levels
    }

    /// Creates a filter from a literal known to be valid; traps if it is not (programmer error).
    public init(stringLiteral value: String) {
        do { try self.init(value) } catch { preconditionFailure(error.description) }
    }

    public var description: String { string }

    /// True when the filter has a `+` or `#`.
    public var hasWildcards: Bool { levels.contains { !$0.isLiteral } }

    /// Whether a message published on `topic` is delivered to this filter.
    public func matches(topic: String) -> Bool {
        let topicLevels = topic.split(separator: "/", omittingEmptySubsequences: false)
        if topic.hasPrefix("$"), let first = levels.first, !first.isLiteral { return false }
        var index = 0
        for level in levels {
            switch level {
            case .multiWildcard: return true
            case .singleWildcard:
                guard index < topicLevels.count else { return false }
            case .literal(let literal):
                guard index < topicLevels.count, topicLevels[index] == literal else { return false }
            }
            index += 1
        }
        return index == topicLevels.count
    }

    /// Whether every topic matched by this filter is also matched by `other`
    /// ("is the requested filter within the allowed filter" for authorization).
    ///
    /// A shared filter is covered only by a filter with the same share name; a non-shared
    /// `other` covers the filter proper of a shared subscription.
    public func isCovered(by other: TopicFilter) -> Bool {
        if let otherShare = other.shareName, otherShare != shareName { return false }
        if let first = levels.first, case .literal(let literal) = first, literal.hasPrefix("$"),
            let otherFirst = other.levels.first, !otherFirst.isLiteral
        {
            return false
        }
        var index = 0
        while index < levels.count {
            guard index < other.levels.count else { return false }
            switch (levels[index], other.levels[index]) {
            case (_, .multiWildcard): return true
            case (.multiWildcard, _): return false
            case (.singleWildcard, .singleWildcard): break
            case (.singleWildcard, .literal): return false
            case (.literal, .singleWildcard): break
            case (.literal(let mine), .literal(let theirs)):
                guard mine == theirs else { return false }
            }
            index += 1
        }
        // `a` is covered by `a/#` because `#` also matches the parent level.
        if other.levels.count == levels.count { return true }
        return other.levels.count == levels.count + 1 && other.levels[index] == .multiWildcard
    }
}

extension TopicFilter.Level {
    var isLiteral: Bool {
        if case .literal = self { return true }
        return false
    }
}

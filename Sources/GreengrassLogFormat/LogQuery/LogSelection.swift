/// An entry `logs get` prints, with the keywords to highlight (none for a context line).
public struct LogSelection: Hashable, Sendable {
    public var entry: LogQueryEntry
    public var keywords: [String]

    public init(entry: LogQueryEntry, keywords: [String] = []) {
        self.entry = entry
        self.keywords = keywords
    }
}

/// `-b/--before N` and `-a/--after N` over one time-ordered stream (one log's files): passes matched entries,
/// up to `before` entries preceding each and up to `after` following it, each entry at most once.
public struct LogContextSelector: Sendable {
    public let before: Int
    public let after: Int
    private var recent: [LogQueryEntry] = []
    private var afterRemaining = 0

    public init(before: Int, after: Int) {
        self.before = max(0, before)
        self.after = max(0, after)
    }

    /// What to print for the next entry of the stream; `keywords` is nil when the entry did not match.
    public mutating func select(_ entry: LogQueryEntry, keywords: [String]?) -> [LogSelection] {
        if let keywords {
            afterRemaining = after
            let selected = recent.map { LogSelection(entry: $0) } + [LogSelection(entry: entry, keywords: keywords)]
            recent.removeAll(keepingCapacity: true)
            return selected
        }
        if afterRemaining > 0 {
            afterRemaining -= 1
            return [LogSelection(entry: entry)]
        }
        if before > 0 {
            if recent.count == before { recent.removeFirst() }
            recent.append(entry)
        }
        return []
    }
}

/// K-way merge of streams that are each in time order: always yields the earliest head, ties going to the stream
/// listed first, so the output is in time order while only one pending element per stream is held.
public struct TimeOrderedMerge<Source: IteratorProtocol>: IteratorProtocol {
    private var sources: [Source]
    private var heads: [Source.Element?]
    private let timestamp: (Source.Element) -> Int64

    public init(_ sources: [Source], timestamp: @escaping (Source.Element) -> Int64) {
        self.sources = sources
        self.timestamp = timestamp
        self.heads = []
        for index in self.sources.indices { heads.append(self.sources[index].next()) }
    }

    public mutating func next() -> Source.Element? {
        var earliest: Int?
        for index in heads.indices {
            guard let head = heads[index] else { continue }
            if let best = earliest, let bestHead = heads[best], timestamp(bestHead) <= timestamp(head) { continue }
            earliest = index
        }
        guard let earliest else { return nil }
        let element = heads[earliest]
        heads[earliest] = sources[earliest].next()
        return element
    }
}

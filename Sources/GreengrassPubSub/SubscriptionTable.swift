import MQTTCore

/// One local subscription: who subscribed to what, and whether they hear their own messages.
public struct LocalSubscription: Sendable, Hashable {
    /// Unique for the life of the service.
    public var id: UInt64
    /// The subscribing component (the IPC principal).
    public var component: String
    /// The subscribed filter (MQTT `+`/`#` allowed).
    public var filter: TopicFilter
    public var receiveMode: ReceiveMode
}

/// Every live subscription, indexed by a topic trie. A pure value: the service keeps it behind a lock.
public struct SubscriptionTable: Sendable {
    private var subscriptions: [UInt64: LocalSubscription] = [:]
    private var trie = TopicTrie<UInt64>()
    private var nextID: UInt64 = 1

    public init() {}

    /// How many subscriptions are live.
    public var count: Int { subscriptions.count }

    /// Parses `topic` as a subscription filter; the error names the topic and the rule it breaks.
    public static func filter(for topic: String) throws(InvalidSubscriptionTopic) -> TopicFilter {
        let filter: TopicFilter
        do {
            filter = try TopicFilter(topic)
        } catch {
            throw InvalidSubscriptionTopic(topic: topic, reason: error.reason)
        }
        // `$share/…` means nothing locally; refuse it rather than silently subscribing to the inner filter.
        if filter.shareName != nil {
            throw InvalidSubscriptionTopic(topic: topic, reason: "shared subscriptions ($share/) are not supported by local publish/subscribe")
        }
        return filter
    }

    /// Adds a subscription and returns it with its new id.
    public mutating func add(component: String, filter: TopicFilter, receiveMode: ReceiveMode) -> LocalSubscription {
        let subscription = LocalSubscription(id: nextID, component: component, filter: filter, receiveMode: receiveMode)
        nextID += 1
        subscriptions[subscription.id] = subscription
        trie.insert(filter, subscription.id)
        return subscription
    }

    /// Removes one subscription; nil if it was already gone.
    @discardableResult
    public mutating func remove(id: UInt64) -> LocalSubscription? {
        guard let subscription = subscriptions.removeValue(forKey: id) else { return nil }
        trie.remove(subscription.filter) { $0 == id }
        return subscription
    }

    /// The subscriptions of `component`.
    public func subscriptions(of component: String) -> [LocalSubscription] {
        subscriptions.values.filter { $0.component == component }.sorted { $0.id < $1.id }
    }

    /// The subscriptions a message published by `publisher` on `topic` goes to, oldest subscription first:
    /// matching filters, minus the publisher's own `RECEIVE_MESSAGES_FROM_OTHERS` subscriptions.
    public func recipients(topic: String, publisher: String) -> [LocalSubscription] {
        trie.match(topic: topic)
            .compactMap { subscriptions[$0] }
            .filter { !($0.component == publisher && $0.receiveMode == .receiveMessagesFromOthers) }
            .sorted { $0.id < $1.id }
    }
}

/// A `SubscribeToTopic` topic that is not a usable filter.
public struct InvalidSubscriptionTopic: Error, Sendable, Hashable, CustomStringConvertible {
    /// The topic as requested.
    public var topic: String
    /// The rule it breaks.
    public var reason: String

    public init(topic: String, reason: String) {
        self.topic = topic
        self.reason = reason
    }

    public var description: String { "invalid topic filter '\(topic)': \(reason)" }
}

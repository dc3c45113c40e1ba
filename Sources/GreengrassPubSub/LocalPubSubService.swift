import EventStreamRPCServer
import GreengrassAuthorization
import GreengrassIPCModel
import GreengrassIPCServices
import Logging
import MQTTCore
import Synchronization

/// Bounds on what one subscriber may have waiting for delivery.
public struct LocalPubSubLimits: Sendable, Hashable {
    /// Messages queued for one subscriber before further ones to it are dropped.
    public var maxQueuedMessagesPerSubscriber: Int
    /// Bytes (message bodies) queued for one subscriber before further ones to it are dropped.
    public var maxQueuedBytesPerSubscriber: Int

    /// Creates limits; the defaults hold a burst of a thousand small messages or 8 MiB.
    public init(maxQueuedMessagesPerSubscriber: Int = 1000, maxQueuedBytesPerSubscriber: Int = 8 << 20) {
        self.maxQueuedMessagesPerSubscriber = maxQueuedMessagesPerSubscriber
        self.maxQueuedBytesPerSubscriber = maxQueuedBytesPerSubscriber
    }
}

/// Counters of the service since it started.
public struct LocalPubSubStatistics: Sendable, Hashable {
    /// Accepted publishes (IPC and internal).
    public var published = 0
    /// Events handed to subscribers' IPC streams.
    public var delivered = 0
    /// Events dropped because a subscriber's queue was full (it receives slower than messages arrive).
    public var droppedQueueFull = 0
    /// Events dropped because the subscriber's client is not reading its socket (``IPCStreamError/outboundQueueFull(streamID:limit:)``).
    public var droppedClientNotReading = 0
    /// Events the IPC stream refused for another reason (e.g. too many before the subscription's response).
    public var failedDeliveries = 0
    /// Live subscriptions.
    public var subscriptions = 0
}

/// Local publish/subscribe between components: `aws.greengrass#PublishToTopic` and `aws.greengrass#SubscribeToTopic`,
/// authorized by the `aws.greengrass.ipc.pubsub` policies in components' `accessControl`.
///
/// ```swift
/// let pubsub = LocalPubSubService(authorizer: engine, logger: logger)
/// var router = IPCRouter()
/// pubsub.register(on: &router)
/// ```
///
/// Delivery is asynchronous and never stalls a publisher: each subscription has its own bounded queue drained
/// by one task, so messages reach a subscriber in publish order, and a subscriber that cannot keep up loses
/// messages (counted in ``statistics`` and logged) instead of slowing anyone else. No retention: a message
/// nobody is subscribed to is gone. A subscription ends when its stream is closed by either side, when its
/// connection closes, or through ``removeSubscriptions(of:)``.
///
/// Differences from the Java nucleus, on purpose: an empty topic is `InvalidArgumentsError` before authorization
/// (Java reports it as `UnauthorizedError`), a subscription filter MQTT would reject (`a/#/b`, `a+`) or a
/// `$share/` filter is `InvalidArgumentsError`, and filters starting with a wildcard do not match `$` topics
/// (the MQTT rule, from ``TopicTrie``).
public final class LocalPubSubService: Sendable {
    /// The `accessControl` service id.
    public static let authorizationService = IPCAuthorizationService.pubsub
    /// `aws.greengrass#PublishToTopic`.
    public static let publishOperation = IPCOperationName.publishToTopic
    /// `aws.greengrass#SubscribeToTopic`.
    public static let subscribeOperation = IPCOperationName.subscribeToTopic
    static let eventShape = "aws.greengrass#SubscriptionResponseMessage"

    private struct State: ~Copyable {
        var table = SubscriptionTable()
        var deliveries: [UInt64: Delivery] = [:]
        var statistics = LocalPubSubStatistics()
    }

    private let authorizer: any IPCAuthorizer
    private let limits: LocalPubSubLimits
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates the service.
    /// - Parameters:
    ///   - authorizer: decides `aws.greengrass.ipc.pubsub` calls (the nucleus passes its ``AuthorizationEngine``).
    ///   - limits: per-subscriber queue bounds.
    public init(authorizer: any IPCAuthorizer, limits: LocalPubSubLimits = LocalPubSubLimits(), logger: Logger) {
        self.authorizer = authorizer
        self.limits = limits
        self.logger = logger
    }

    /// Registers both operations on `router`.
    public func register(on router: inout IPCRouter) {
        router.register(Self.publishOperation) { call in await self.handlePublish(call) }
        router.register(Self.subscribeOperation) { call in await self.handleSubscribe(call) }
    }

    /// The counters so far.
    public var statistics: LocalPubSubStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.subscriptions = state.table.count
            return statistics
        }
    }

    // MARK: Operations

    func handlePublish(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try PubSubCodec.decodePublish(call.payload)
            try await authorize(call, resource: request.topic)
            guard !request.topic.contains(where: { $0 == "+" || $0 == "#" || $0 == "*" }) else {
                throw .invalidArguments("Publish topic must not contain a wildcard.")
            }
            publish(topic: request.topic, message: request.message, publisher: call.principal)
            return .response(shape: "aws.greengrass#PublishToTopicResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }

    func handleSubscribe(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try PubSubCodec.decodeSubscribe(call.payload)
            try await authorize(call, resource: request.topic)
            let filter: TopicFilter
            do {
                filter = try SubscriptionTable.filter(for: request.topic)
            } catch {
                throw .invalidArguments("Subscribe topic is not a valid topic filter: \(error)")
            }
            subscribe(call, filter: filter, receiveMode: request.receiveMode)
            return .streamOpened(shape: "aws.greengrass#SubscribeToTopicResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }

    private func authorize(_ call: IPCCall, resource: String) async throws(IPCModeledError) {
        let allowed = await authorizer.isAuthorized(
            principal: call.principal, service: Self.authorizationService, operation: call.operation, resource: resource)
        guard allowed else {
            throw .unauthorized(AuthorizationPolicies.denialMessage(
                principal: call.principal, service: Self.authorizationService, operation: call.operation, resource: resource))
        }
    }

    // MARK: Publishing and subscribing

    /// Publishes `message` on `topic` as `publisher` (already authorized and validated): queues it for every
    /// matching subscription and returns how many it was queued for. Also the entry point for messages that
    /// originate inside the nucleus.
    @discardableResult
    public func publish(topic: String, message: PubSubMessage, publisher: String) -> Int {
        let targets: [Delivery] = state.withLock { state in
            state.statistics.published += 1
            return state.table.recipients(topic: topic, publisher: publisher).compactMap { state.deliveries[$0.id] }
        }
        guard !targets.isEmpty else { return 0 }
        let event = PubSubCodec.encodeEvent(message, topic: topic)
        var queued = 0
        for delivery in targets {
            switch delivery.offer(event) {
            case .queued:
                queued += 1
            case .full:
                let total = state.withLock { state -> Int in
                    state.statistics.droppedQueueFull += 1
                    return state.statistics.droppedQueueFull
                }
                logDrop(delivery, topic: topic, reason: "subscriber queue full", total: total)
            case .ended:
                // The subscription ended between the lookup and now: not a drop.
                continue
            }
        }
        return queued
    }

    private func subscribe(_ call: IPCCall, filter: TopicFilter, receiveMode: ReceiveMode) {
        let stream = call.stream
        let (events, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let delivery = state.withLock { state -> Delivery in
            let subscription = state.table.add(component: call.principal, filter: filter, receiveMode: receiveMode)
            let delivery = Delivery(subscription: subscription, stream: stream, continuation: continuation, limits: limits)
            state.deliveries[subscription.id] = delivery
            return delivery
        }
        logger.debug(
            "Subscribed to topic",
            metadata: ["eventType": "pubsub-subscribe", "componentName": "\(call.principal)", "topic": "\(filter)",
                       "receiveMode": "\(receiveMode.rawValue)"])
        // Registered after the insert: if the stream already ended, this runs at once and undoes it.
        stream.onTermination { [weak self] _ in self?.remove(id: delivery.subscription.id) }
        Task { await self.drain(events, of: delivery) }
    }

    /// Sends a subscription's queued events in order until the subscription ends.
    private func drain(_ events: AsyncStream<[UInt8]>, of delivery: Delivery) async {
        for await event in events {
            delivery.dequeued(event)
            do {
                try await delivery.stream.send(event: Self.eventShape, json: event)
                state.withLock { $0.statistics.delivered += 1 }
            } catch {
                switch error {
                case .outboundQueueFull:
                    let total = state.withLock { state -> Int in
                        state.statistics.droppedClientNotReading += 1
                        return state.statistics.droppedClientNotReading
                    }
                    logDrop(delivery, topic: delivery.subscription.filter.string, reason: "client not reading", total: total)
                case .streamClosed:
                    remove(id: delivery.subscription.id)
                    return
                default:
                    state.withLock { $0.statistics.failedDeliveries += 1 }
                    logger.warning(
                        "Cannot deliver a message to a subscriber",
                        metadata: ["eventType": "pubsub-delivery-failed", "componentName": "\(delivery.subscription.component)",
                                   "topic": "\(delivery.subscription.filter)", "error": "\(error)"])
                }
            }
        }
    }

    private func logDrop(_ delivery: Delivery, topic: String, reason: String, total: Int) {
        // First drop and then every thousandth: a stuck subscriber must not flood the log.
        guard total == 1 || total % 1000 == 0 else { return }
        logger.warning(
            "Dropping local pub/sub messages for a subscriber that cannot keep up",
            metadata: ["eventType": "pubsub-subscriber-slow", "componentName": "\(delivery.subscription.component)",
                       "topic": "\(topic)", "reason": "\(reason)", "droppedTotal": "\(total)"])
    }

    private func remove(id: UInt64) {
        let removed = state.withLock { state -> Delivery? in
            state.table.remove(id: id)
            return state.deliveries.removeValue(forKey: id)
        }
        removed?.finish()
    }

    /// Ends every subscription of `component` (it stopped, or was removed by a deployment): its streams are
    /// closed from the server side and nothing more is queued for it. Returns how many ended.
    @discardableResult
    public func removeSubscriptions(of component: String) async -> Int {
        let removed: [Delivery] = state.withLock { state in
            state.table.subscriptions(of: component).compactMap { subscription in
                state.table.remove(id: subscription.id)
                return state.deliveries.removeValue(forKey: subscription.id)
            }
        }
        for delivery in removed {
            delivery.finish()
            await delivery.stream.close()
        }
        return removed.count
    }
}

/// One subscription's delivery queue: bounded in messages and bytes, drained by one task in order.
final class Delivery: Sendable {
    let subscription: LocalSubscription
    let stream: IPCStream
    private let continuation: AsyncStream<[UInt8]>.Continuation
    private let limits: LocalPubSubLimits
    private let queued = Mutex((messages: 0, bytes: 0))

    init(subscription: LocalSubscription, stream: IPCStream, continuation: AsyncStream<[UInt8]>.Continuation, limits: LocalPubSubLimits) {
        self.subscription = subscription
        self.stream = stream
        self.continuation = continuation
        self.limits = limits
    }

    /// What happened to an offered event.
    enum Offer {
        case queued
        /// The queue is at its message or byte bound: the event is dropped.
        case full
        /// The subscription has ended.
        case ended
    }

    /// Queues an event unless the queue is full or the subscription has ended.
    func offer(_ event: [UInt8]) -> Offer {
        let admitted = queued.withLock { queued -> Bool in
            guard queued.messages < limits.maxQueuedMessagesPerSubscriber,
                queued.bytes + event.count <= limits.maxQueuedBytesPerSubscriber || queued.messages == 0
            else { return false }
            queued.messages += 1
            queued.bytes += event.count
            return true
        }
        guard admitted else { return .full }
        if case .terminated = continuation.yield(event) {
            dequeued(event)
            return .ended
        }
        return .queued
    }

    /// The drain task took `event` off the queue.
    func dequeued(_ event: [UInt8]) {
        queued.withLock { queued in
            queued.messages -= 1
            queued.bytes -= event.count
        }
    }

    /// No more events: the drain task ends once it has sent what is queued.
    func finish() {
        continuation.finish()
    }
}

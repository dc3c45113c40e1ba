import MQTTCore
import NIOCore

/// An application message received from the broker.
public struct MQTTMessage: Hashable, Sendable {
    public var topic: String
    public var payload: ByteBuffer
    public var qos: QoS
    public var retain: Bool
    /// True when the broker marked this as a possible redelivery.
    public var dup: Bool
    /// MQTT 5 properties (user properties, message expiry, correlation data, response topic, content type, ...).
    public var properties: MQTTProperties

    public init(topic: String, payload: ByteBuffer, qos: QoS, retain: Bool, dup: Bool = false, properties: MQTTProperties = MQTTProperties()) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.properties = properties
    }
}

/// A change in the connection's state, in order.
public enum MQTTConnectionEvent: Hashable, Sendable {
    /// CONNACK accepted. The subscriptions the broker does not hold (all of them without a session present) have
    /// been re-sent.
    case connected(sessionPresent: Bool)
    /// An established connection (CONNACK accepted) ended for this reason.
    case disconnected(MQTTClientError)
    /// A connect attempt failed before any connection existed (TCP/TLS failure, CONNACK refused or timed out).
    case connectFailed(MQTTClientError)
    /// The next attempt will start after `delay`.
    case reconnecting(attempt: Int, delay: Duration)
    /// A subscription that was re-sent after a reconnect without session was refused.
    case resubscribeFailed(TopicFilter, MQTTReasonCode)
}

/// What ``MQTTClient/subscribe(_:properties:whenOffline:)`` does while the client is not connected.
public enum MQTTOfflineSubscription: Hashable, Sendable {
    /// Throw `.notConnected`; nothing is kept.
    case fail
    /// Keep the subscription and send it once connected (and still throw `.notConnected`).
    case sendOnConnect
}

/// When ``MQTTClient/publish(topic:payload:qos:retain:properties:until:)`` returns.
public enum MQTTPublishCompletion: Hashable, Sendable {
    /// Once the client accepted the message (sent, or kept in the spool). Greengrass answers components at this point.
    case accepted
    /// Once QoS 0 was written or QoS 1/2 was acknowledged by the broker.
    case acknowledged
}

/// The broker's answer for one filter of a SUBSCRIBE.
public struct MQTTSubscribeResult: Hashable, Sendable {
    public var filter: TopicFilter
    public var reasonCode: MQTTReasonCode
    /// The QoS granted, or nil when the subscription was refused (``reasonCode`` says why).
    public var grantedQoS: QoS? { reasonCode.isFailure ? nil : QoS(rawValue: reasonCode.rawValue) }
}

/// Counters that make drops observable.
public struct MQTTClientStatistics: Hashable, Sendable {
    /// Inbound messages dropped because the consumer of ``MQTTClient/messages`` fell behind.
    public var inboundDropped = 0
    /// Inbound messages dropped because the consumer of an ``MQTTSubscription`` fell behind.
    public var subscriptionDropped = 0
    public var inboundReceived = 0
    /// Publishes refused because the spool was full of QoS 1/2 messages.
    public var outboundDroppedSpoolFull = 0
    /// QoS 0 messages evicted from the full spool for newer messages.
    public var outboundEvictedQoS0 = 0
    public var outboundDroppedOfflineQoS0 = 0
    public var outboundDroppedLargerThanSpool = 0
    /// In-flight QoS 1/2 messages whose MQTT 5 expiry interval passed before a reconnect let them be sent again.
    public var outboundDroppedExpired = 0
    public var spooledMessages = 0
    public var spooledBytes = 0
    public var inflightMessages = 0
    public var connects = 0
}

/// The messages of one subscription, as an `AsyncSequence`. When the sequence is dropped (or its iterating
/// task cancelled) the filters are unsubscribed, unless another live subscription still uses them.
public struct MQTTSubscription: AsyncSequence, Sendable {
    public typealias Element = MQTTMessage
    /// The broker's answer per filter.
    public let results: [MQTTSubscribeResult]
    let stream: AsyncStream<MQTTMessage>

    public func makeAsyncIterator() -> AsyncStream<MQTTMessage>.AsyncIterator {
        stream.makeAsyncIterator()
    }
}

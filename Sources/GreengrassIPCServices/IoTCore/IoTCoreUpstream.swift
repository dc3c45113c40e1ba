import MQTTCore
import NIOCore

/// The cloud connection as the IoT Core IPC operations see it: the contract between the IPC side and whatever
/// carries messages to AWS IoT Core (the nucleus's MQTT client, through `GreengrassBridge`). The operations own
/// the IPC semantics (decoding, validation, authorization, fan-out to streams); an upstream only moves messages
/// and keeps subscriptions.
public protocol IoTCoreUpstream: Sendable {
    /// Hands a message on; returns once Greengrass answers the component: the message is accepted (sent, or
    /// kept in the spool), not when the broker acknowledges it.
    func publish(_ message: MQTTOutboundMessage) async throws(IoTCoreUpstreamError)

    /// Hands a message on when that is decided without waiting (e.g. a QoS 0 message into the client's queue);
    /// returns false, having done nothing, when only ``publish(_:)`` can take it (e.g. waiting for a durable
    /// spool). Lets a publish be answered on the IPC connection's loop. Default: false.
    func publishImmediately(_ message: MQTTOutboundMessage) throws(IoTCoreUpstreamError) -> Bool

    /// For a message ``publishImmediately(_:)`` declines because the component is answered only later (a durable
    /// spool: once the message is on disk): hands it on now, from the IPC connection's loop, without waiting, and
    /// calls `answer` once the component may be told it was accepted (success) or why not — on that loop, when
    /// called from one. Returns false, having done nothing, when only ``publish(_:)`` can take it; throws, without
    /// calling `answer`, when the message is refused at once (e.g. a full spool). Lets the request be decoded and
    /// authorized once, on the connection's loop, with no task until the answer. Default: false.
    func publishAnsweringLater(
        _ message: MQTTOutboundMessage, answer: @escaping @Sendable (Result<Void, IoTCoreUpstreamError>) -> Void
    ) throws(IoTCoreUpstreamError) -> Bool

    /// Takes one reference on a subscription to `filter`. Users share one upstream subscription per filter.
    /// - Returns: whether it is active now or kept until the connection comes back.
    /// - Throws: when the subscription is refused or cannot be kept; no reference is held then.
    func subscribe(_ filter: TopicFilter, qos: QoS) async throws(IoTCoreUpstreamError) -> IoTCoreSubscriptionState

    /// Gives back one reference taken by a successful ``subscribe(_:qos:)``.
    func unsubscribe(_ filter: TopicFilter) async

    /// Delivers inbound messages and connection events to `sink` until the upstream ends or the task is cancelled.
    func run(deliveringTo sink: any IoTCoreUpstreamSink) async
}

extension IoTCoreUpstream {
    public func publishImmediately(_ message: MQTTOutboundMessage) throws(IoTCoreUpstreamError) -> Bool { false }

    public func publishAnsweringLater(
        _ message: MQTTOutboundMessage, answer: @escaping @Sendable (Result<Void, IoTCoreUpstreamError>) -> Void
    ) throws(IoTCoreUpstreamError) -> Bool { false }
}

/// What an upstream reports to the IPC side.
public protocol IoTCoreUpstreamSink: Sendable {
    /// A message arrived on a filter some user subscribed to.
    func deliver(_ message: IoTCoreInboundMessage) async
    /// The connection changed.
    func connectionChanged(_ event: IoTCoreConnectionEvent) async
}

/// An application message from the cloud.
public struct IoTCoreInboundMessage: Sendable, Hashable {
    public var topic: String
    public var payload: ByteBuffer
    public var retain: Bool
    public var properties: MQTTProperties

    public init(topic: String, payload: ByteBuffer, retain: Bool = false, properties: MQTTProperties = MQTTProperties()) {
        self.topic = topic
        self.payload = payload
        self.retain = retain
        self.properties = properties
    }
}

/// A change of the upstream connection.
public enum IoTCoreConnectionEvent: Sendable, Hashable {
    case connected(sessionPresent: Bool)
    /// An established connection ended.
    case disconnected(reason: String)
    /// An attempt failed before any connection existed.
    case connectFailed(reason: String)
    case reconnecting(attempt: Int, delay: Duration)
    /// A subscription re-sent after a reconnect was refused; its users get no more messages.
    case resubscribeFailed(filter: TopicFilter, reason: String)
}

/// Where a subscription stands after ``IoTCoreUpstream/subscribe(_:qos:)``.
public enum IoTCoreSubscriptionState: Sendable, Hashable {
    /// The broker granted it.
    case active
    /// Not connected: it is sent once the connection is up.
    case deferred(reason: String)
}

/// Why an upstream did not take a message or a subscription.
public enum IoTCoreUpstreamError: Error, Sendable, Hashable {
    /// The topic is not a valid MQTT topic name (the component's fault).
    case invalidTopic(String)
    /// The broker refused the subscription (its reason code).
    case refused(String)
    /// Anything else, in Greengrass's words where it has some (e.g. "Message spool is full. Message could not be
    /// added."), so components can recognise it.
    case failed(String)
}

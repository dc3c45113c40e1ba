import NIOCore

/// Identifies one publish request across spooling, sending and acknowledgement.
public typealias MQTTMessageToken = UInt64

/// How a publish request ended.
public enum MQTTPublishOutcome: Hashable, Sendable {
    /// QoS 0: handed to the connection.
    case written
    /// QoS 1/2: the broker acknowledged with a success reason code (PUBACK or PUBCOMP).
    case acknowledged(MQTTReasonCode)
    /// QoS 1/2: the broker answered with a failure reason code.
    case rejected(MQTTReasonCode, reasonString: String?)
    /// The message never reached the broker; see the reason.
    case dropped(MQTTDropReason)
}

/// Why a message was discarded without reaching the broker. Every drop is reported, never silent.
public enum MQTTDropReason: Hashable, Sendable, CustomStringConvertible {
    /// The offline spool is full of messages that cannot be evicted (QoS 1/2): this message was refused.
    case spoolFull
    /// A QoS 0 message was evicted from the full spool to make room for a newer message.
    case evictedFromSpool
    /// The message alone is larger than the whole spool.
    case largerThanSpool
    /// QoS 0 while offline and the configuration does not keep QoS 0 offline.
    case offlineQoS0
    /// The client shut down before the message was sent or acknowledged.
    case shutdown
    /// The message exceeds the broker's maximum packet size.
    case packetTooLarge
    /// Its MQTT 5 message expiry interval passed before it could be sent (or sent again after a reconnect).
    case expired

    public var description: String {
        switch self {
        // The first and last wordings are Greengrass's, which components may match on (reference §7).
        case .spoolFull: "Message spool is full. Message could not be added."
        case .evictedFromSpool: "the offline spool is full; this QoS 0 message was evicted for a newer message"
        case .largerThanSpool: "Message is larger than the size of message spool."
        case .offlineQoS0: "Device is offline. Dropping QoS 0 message."
        case .shutdown: "the client shut down before the message was delivered"
        case .packetTooLarge: "the message exceeds the broker's maximum packet size"
        case .expired: "the message expiry interval passed before the message could be sent"
        }
    }
}

/// An application message to publish.
public struct MQTTOutboundMessage: Hashable, Sendable {
    public var topic: String
    public var payload: ByteBuffer
    public var qos: QoS
    public var retain: Bool
    public var properties: MQTTProperties

    public init(topic: String, payload: ByteBuffer, qos: QoS, retain: Bool = false, properties: MQTTProperties = MQTTProperties()) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
    }
}

/// Limits of the session's outbound flow.
public struct MQTTSessionConfiguration: Hashable, Sendable {
    /// Most QoS 1/2 messages awaiting acknowledgement at once (further bounded by the broker's receive maximum).
    public var inflightWindow: Int
    /// Most bytes waiting in the spool (offline, or online with a full in-flight window), counted with
    /// ``MQTTOutboundMessage/spoolCharge``. The only bound: see ``MQTTSpool`` for what happens when it is reached.
    public var spoolMaximumBytes: Int
    /// Whether QoS 0 messages are spooled while offline (otherwise they are dropped and reported).
    public var keepQoS0WhenOffline: Bool

    public init(inflightWindow: Int = 100, spoolMaximumBytes: Int = 2_621_440, keepQoS0WhenOffline: Bool = false) {
        self.inflightWindow = max(1, inflightWindow)
        self.spoolMaximumBytes = max(1, spoolMaximumBytes)
        self.keepQoS0WhenOffline = keepQoS0WhenOffline
    }
}

/// The MQTT session's message flow as a pure value: packet identifiers, the in-flight window,
/// the bounded offline spool, QoS 1/2 handshakes in both directions, and what to resend on reconnect.
///
/// It survives connections: the I/O shell reports ``connected(sessionPresent:receiveMaximum:)`` and
/// ``disconnected()`` and performs the returned ``Action``s in order.
public struct MQTTSession: Sendable {
    /// Something the I/O shell must do.
    public enum Action: Hashable, Sendable {
        /// Write this packet. When `completing` is set (QoS 0), finish that request once written.
        case send(MQTTPacket, completing: MQTTMessageToken?)
        /// Finish a publish request.
        case complete(MQTTMessageToken, MQTTPublishOutcome)
        /// Hand an inbound application message to subscribers.
        case deliver(MQTTPublishPacket)
    }

    /// Counters for what the session dropped, so drops are observable.
    public struct Statistics: Hashable, Sendable {
        /// Messages refused because the spool was full of QoS 1/2 messages.
        public var droppedSpoolFull = 0
        /// QoS 0 messages evicted from the full spool for newer messages.
        public var evictedQoS0 = 0
        public var droppedOfflineQoS0 = 0
        public var droppedLargerThanSpool = 0
        /// In-flight messages whose expiry interval passed before they could be sent again after a reconnect.
        public var droppedExpired = 0
    }

    private enum Stage: Hashable, Sendable {
        case awaitingPuback, awaitingPubrec, awaitingPubcomp
    }

    private struct Inflight: Sendable {
        var token: MQTTMessageToken
        var sequence: UInt64
        var packet: MQTTPublishPacket
        var stage: Stage
        /// When `packet` was (last) handed to the connection: its expiry interval counts from then.
        var sentAt: ContinuousClock.Instant
    }

    private struct Spooled: Sendable {
        var token: MQTTMessageToken
        var message: MQTTOutboundMessage
    }

    public let configuration: MQTTSessionConfiguration
    public private(set) var statistics = Statistics()
    public private(set) var isOnline = false
    private var window: Int
    private var inflight: [UInt16: Inflight] = [:]
    private var spool: MQTTSpool<Spooled>
    private var controlIdentifiers: Set<UInt16> = []
    private var inboundAwaitingRelease: Set<UInt16> = []
    private var nextIdentifier: UInt16 = 1
    private var nextToken: MQTTMessageToken = 1
    private var nextSequence: UInt64 = 0

    public init(configuration: MQTTSessionConfiguration) {
        self.configuration = configuration
        self.window = configuration.inflightWindow
        self.spool = MQTTSpool(capacity: configuration.spoolMaximumBytes)
    }

    /// Messages waiting in the spool.
    public var spooledCount: Int { spool.count }
    /// Bytes (``MQTTOutboundMessage/spoolCharge``) waiting in the spool.
    public var spooledBytes: Int { spool.chargedBytes }
    /// Bytes of the spooled messages that can never be evicted (QoS 1/2).
    public var spooledRetainedBytes: Int { spool.retainedBytes }
    /// QoS 1/2 messages sent and not yet fully acknowledged.
    public var inflightCount: Int { inflight.count }

    // MARK: Outbound

    /// Accepts a publish request at `now` (the time a message sent now starts its expiry interval from).
    /// - Returns: the request's token, whether it was accepted (sent or spooled), and the actions to perform.
    ///   A request that is not accepted has already been completed with `.dropped` in the actions.
    public mutating func publish(
        _ message: MQTTOutboundMessage, now: ContinuousClock.Instant
    ) -> (token: MQTTMessageToken, accepted: Bool, actions: [Action]) {
        var actions: [Action] = []
        let (token, accepted) = publish(message, now: now, appendingTo: &actions)
        return (token, accepted, actions)
    }

    /// ``publish(_:now:)`` appending its actions to `actions`: a caller publishing many messages reuses one array
    /// instead of allocating one per message.
    public mutating func publish(
        _ message: MQTTOutboundMessage, now: ContinuousClock.Instant, appendingTo actions: inout [Action]
    ) -> (token: MQTTMessageToken, accepted: Bool) {
        let token = nextToken
        nextToken += 1
        if !isOnline, message.qos == .atMostOnce, !configuration.keepQoS0WhenOffline {
            statistics.droppedOfflineQoS0 += 1
            actions.append(.complete(token, .dropped(.offlineQoS0)))
            return (token, false)
        }
        // Fast path keeps order: only bypass the spool when nothing is waiting in it.
        if isOnline, spool.isEmpty {
            if message.qos == .atMostOnce {
                actions.append(.send(.publish(Self.packet(for: message, identifier: nil)), completing: token))
                return (token, true)
            }
            if inflight.count < window, let id = allocateIdentifier() {
                actions.append(startInflight(token: token, message: message, identifier: id, now: now))
                return (token, true)
            }
        }
        switch spool.append(Spooled(token: token, message: message), charge: message.spoolCharge, evictable: message.qos == .atMostOnce) {
        case .accepted(let evicted):
            statistics.evictedQoS0 += evicted.count
            actions.append(contentsOf: evicted.map { .complete($0.token, .dropped(.evictedFromSpool)) })
            return (token, true)
        case .refused(let reason):
            if reason == .largerThanSpool { statistics.droppedLargerThanSpool += 1 } else { statistics.droppedSpoolFull += 1 }
            actions.append(.complete(token, .dropped(reason)))
            return (token, false)
        }
    }

    private static func packet(for message: MQTTOutboundMessage, identifier: UInt16?) -> MQTTPublishPacket {
        MQTTPublishPacket(
            topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain,
            packetIdentifier: identifier, properties: message.properties)
    }

    private mutating func startInflight(token: MQTTMessageToken, message: MQTTOutboundMessage, identifier: UInt16, now: ContinuousClock.Instant) -> Action {
        let packet = Self.packet(for: message, identifier: identifier)
        inflight[identifier] = Inflight(
            token: token, sequence: nextSequence, packet: packet,
            stage: message.qos == .atLeastOnce ? .awaitingPuback : .awaitingPubrec, sentAt: now)
        nextSequence += 1
        return .send(.publish(packet), completing: nil)
    }

    /// Allocates an identifier not used by any in-flight publish or pending SUBSCRIBE/UNSUBSCRIBE.
    private mutating func allocateIdentifier() -> UInt16? {
        guard inflight.count + controlIdentifiers.count < Int(UInt16.max) else { return nil }
        while true {
            let candidate = nextIdentifier
            nextIdentifier = nextIdentifier == UInt16.max ? 1 : nextIdentifier + 1
            if inflight[candidate] == nil, !controlIdentifiers.contains(candidate) { return candidate }
        }
    }

    /// Reserves a packet identifier for a SUBSCRIBE or UNSUBSCRIBE; release it when its ack arrives.
    public mutating func reserveControlIdentifier() -> UInt16? {
        guard let id = allocateIdentifier() else { return nil }
        controlIdentifiers.insert(id)
        return id
    }

    /// Releases an identifier from ``reserveControlIdentifier()``.
    public mutating func releaseControlIdentifier(_ id: UInt16) {
        controlIdentifiers.remove(id)
    }

    /// Moves spooled messages onto the wire while online and the window has room, oldest first.
    private mutating func drain(into actions: inout [Action], now: ContinuousClock.Instant) {
        while isOnline, let next = spool.first {
            if next.message.qos == .atMostOnce {
                _ = spool.popFirst()
                actions.append(.send(.publish(Self.packet(for: next.message, identifier: nil)), completing: next.token))
                continue
            }
            guard inflight.count < window, let id = allocateIdentifier() else { return }
            _ = spool.popFirst()
            actions.append(startInflight(token: next.token, message: next.message, identifier: id, now: now))
        }
    }

    // MARK: Connection events

    /// The connection is up (CONNACK accepted) at `now`.
    ///
    /// With a session present, unacknowledged PUBLISH packets are resent with DUP set and PUBREL resent
    /// (MQTT-4.4.0-1); without one, the broker has forgotten them, so QoS 1/2 messages are sent again as
    /// new messages and released QoS 2 messages (PUBREC seen) count as delivered. Then the spool drains.
    ///
    /// A resent PUBLISH carries the expiry interval it has left since it was last sent, not the one it first went
    /// out with; one whose interval passed meanwhile is dropped (`.expired`, counted) instead. Except a QoS 2
    /// message without PUBREC when the session is present: the broker may hold its packet identifier, which only
    /// this message's PUBREL frees, so it is resent (with at least one second left) rather than dropped.
    public mutating func connected(sessionPresent: Bool, receiveMaximum: Int, now: ContinuousClock.Instant) -> [Action] {
        isOnline = true
        window = max(1, min(configuration.inflightWindow, receiveMaximum))
        var actions: [Action] = []
        if !sessionPresent { inboundAwaitingRelease.removeAll() }
        for entry in inflight.values.sorted(by: { $0.sequence < $1.sequence }) {
            guard let id = entry.packet.packetIdentifier else { continue }
            switch (entry.stage, sessionPresent) {
            case (.awaitingPubcomp, true):
                actions.append(.send(.pubrel(MQTTAckPacket(packetIdentifier: id)), completing: nil))
            case (.awaitingPubcomp, false):
                inflight[id] = nil
                actions.append(.complete(entry.token, .acknowledged(.success)))
            default:
                let brokerMayHoldIdentifier = sessionPresent && entry.stage == .awaitingPubrec
                let waited = Self.milliseconds(entry.sentAt.duration(to: now))
                guard let properties = entry.packet.properties.afterWaiting(milliseconds: waited) ?? (brokerMayHoldIdentifier ? entry.packet.properties.withExpiryInterval(1) : nil) else {
                    inflight[id] = nil
                    statistics.droppedExpired += 1
                    actions.append(.complete(entry.token, .dropped(.expired)))
                    continue
                }
                var packet = entry.packet
                packet.properties = properties
                inflight[id]?.packet = packet
                inflight[id]?.sentAt = now
                packet.dup = sessionPresent
                actions.append(.send(.publish(packet), completing: nil))
            }
        }
        drain(into: &actions, now: now)
        return actions
    }

    /// Whole milliseconds in `duration`, rounded down (negative for a clock that went backwards).
    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? (seconds < 0 ? Int64.min : Int64.max) : whole.addingReportingOverflow(attoseconds / 1_000_000_000_000_000).partialValue
    }

    /// The connection is gone. Spooled QoS 0 messages are dropped unless configured to be kept.
    public mutating func disconnected() -> [Action] {
        isOnline = false
        controlIdentifiers.removeAll()
        guard !configuration.keepQoS0WhenOffline else { return [] }
        let purged = spool.removeAllEvictable()
        statistics.droppedOfflineQoS0 += purged.count
        return purged.map { .complete($0.token, .dropped(.offlineQoS0)) }
    }

    /// Fails every pending request (spooled and in flight), e.g. on shutdown.
    public mutating func failAll(_ reason: MQTTDropReason) -> [Action] {
        var actions: [Action] = []
        for entry in inflight.values.sorted(by: { $0.sequence < $1.sequence }) {
            actions.append(.complete(entry.token, .dropped(reason)))
        }
        inflight.removeAll()
        while let entry = spool.popFirst() { actions.append(.complete(entry.token, .dropped(reason))) }
        return actions
    }

    /// Fails one in-flight or spooled request (e.g. it could not be encoded within the broker's limits).
    public mutating func fail(packetIdentifier: UInt16, _ reason: MQTTDropReason, now: ContinuousClock.Instant) -> [Action] {
        guard let entry = inflight.removeValue(forKey: packetIdentifier) else { return [] }
        var actions: [Action] = [.complete(entry.token, .dropped(reason))]
        drain(into: &actions, now: now)
        return actions
    }

    // MARK: Inbound

    /// Handles a packet of the publish flows (PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP) received at `now`; other
    /// packets give no actions.
    public mutating func received(_ packet: MQTTPacket, now: ContinuousClock.Instant) -> [Action] {
        switch packet {
        case .publish(let publish):
            switch (publish.qos, publish.packetIdentifier) {
            case (.atLeastOnce, let id?):
                return [.deliver(publish), .send(.puback(MQTTAckPacket(packetIdentifier: id)), completing: nil)]
            case (.exactlyOnce, let id?):
                // Deliver on first receipt only; a resent PUBLISH before PUBREL is a duplicate (method B of §4.3.3).
                let first = inboundAwaitingRelease.insert(id).inserted
                let ack = Action.send(.pubrec(MQTTAckPacket(packetIdentifier: id)), completing: nil)
                return first ? [.deliver(publish), ack] : [ack]
            default:
                return [.deliver(publish)]
            }
        case .pubrel(let ack):
            let known = inboundAwaitingRelease.remove(ack.packetIdentifier) != nil
            return [.send(.pubcomp(MQTTAckPacket(packetIdentifier: ack.packetIdentifier, reasonCode: known ? .success : .packetIdentifierNotFound)), completing: nil)]
        case .puback(let ack):
            return finish(ack, expecting: .awaitingPuback, now: now)
        case .pubcomp(let ack):
            return finish(ack, expecting: .awaitingPubcomp, now: now)
        case .pubrec(let ack):
            guard var entry = inflight[ack.packetIdentifier], entry.stage == .awaitingPubrec else {
                return [.send(.pubrel(MQTTAckPacket(packetIdentifier: ack.packetIdentifier, reasonCode: .packetIdentifierNotFound)), completing: nil)]
            }
            if ack.reasonCode.isFailure { return finish(ack, expecting: .awaitingPubrec, now: now) }
            entry.stage = .awaitingPubcomp
            inflight[ack.packetIdentifier] = entry
            return [.send(.pubrel(MQTTAckPacket(packetIdentifier: ack.packetIdentifier)), completing: nil)]
        default:
            return []
        }
    }

    private mutating func finish(_ ack: MQTTAckPacket, expecting stage: Stage, now: ContinuousClock.Instant) -> [Action] {
        guard let entry = inflight[ack.packetIdentifier], entry.stage == stage else { return [] }
        inflight[ack.packetIdentifier] = nil
        let outcome: MQTTPublishOutcome =
            ack.reasonCode.isFailure
            ? .rejected(ack.reasonCode, reasonString: ack.properties.reasonString) : .acknowledged(ack.reasonCode)
        var actions: [Action] = [.complete(entry.token, outcome)]
        drain(into: &actions, now: now)
        return actions
    }
}

/// A FIFO queue with amortised O(1) push and pop, so a large spool never costs O(n) per message.
struct RingQueue<Element: Sendable>: Sendable {
    private var storage: [Element?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    var first: Element? { count == 0 ? nil : storage[head] }

    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head + count) % storage.count] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        return element
    }

    private mutating func grow() {
        var grown = [Element?](repeating: nil, count: max(16, storage.count * 2))
        for index in 0..<count { grown[index] = storage[(head + index) % storage.count] }
        storage = grown
        head = 0
    }
}

/// Why a connection ended, as decided by the protocol logic.
public enum MQTTConnectionCloseReason: Hashable, Sendable, CustomStringConvertible {
    /// CONNACK refused the connection (bad credentials, not authorized, ...).
    case connectionRefused(MQTTReasonCode, reasonString: String?)
    /// The broker sent DISCONNECT (session taken over, server shutting down, ...).
    case serverDisconnected(MQTTReasonCode, reasonString: String?)
    /// The connection (TCP, and TLS when configured) was not up before the connect timeout.
    case connectTimeout
    /// No CONNACK before the connect timeout.
    case connAckTimeout
    /// No PINGRESP before the ping timeout: the connection is dead.
    case keepAliveTimeout
    /// The peer violated the protocol.
    case protocolError(MQTTProtocolError)

    public var description: String {
        switch self {
        case .connectionRefused(let code, let text): "connection refused by broker: \(code)" + (text.map { ": \($0)" } ?? "")
        case .serverDisconnected(let code, let text): "broker disconnected: \(code)" + (text.map { ": \($0)" } ?? "")
        case .connectTimeout: "no connection to the broker before the connect timeout"
        case .connAckTimeout: "no CONNACK received before the connect timeout"
        case .keepAliveTimeout: "no PINGRESP received before the ping timeout; connection presumed dead"
        case .protocolError(let error): error.description
        }
    }

    /// The DISCONNECT reason code we send to the broker before closing, if any.
    public var disconnectReasonCode: MQTTReasonCode? {
        switch self {
        case .protocolError(let error): error.code.reasonCode
        case .keepAliveTimeout: .keepAliveTimeout
        default: nil
        }
    }
}

/// What the broker granted in CONNACK, merged with our own settings.
public struct MQTTNegotiatedSettings: Hashable, Sendable {
    public var sessionPresent: Bool
    /// The effective keep alive (the broker's Server Keep Alive wins).
    public var keepAliveSeconds: UInt16
    /// How many QoS 1/2 publishes the broker accepts in flight.
    public var receiveMaximum: Int
    /// The broker's maximum packet size (what we may send).
    public var maximumPacketSize: Int
    /// Highest QoS the broker supports.
    public var maximumQoS: QoS
    public var retainAvailable: Bool
    /// Topic aliases we may use towards the broker (0: none).
    public var topicAliasMaximum: UInt16
    /// The client identifier the broker assigned when we sent an empty one.
    public var assignedClientIdentifier: String?

    public init(
        sessionPresent: Bool, keepAliveSeconds: UInt16, receiveMaximum: Int, maximumPacketSize: Int, maximumQoS: QoS,
        retainAvailable: Bool, topicAliasMaximum: UInt16, assignedClientIdentifier: String?
    ) {
        self.sessionPresent = sessionPresent
        self.keepAliveSeconds = keepAliveSeconds
        self.receiveMaximum = receiveMaximum
        self.maximumPacketSize = maximumPacketSize
        self.maximumQoS = maximumQoS
        self.retainAvailable = retainAvailable
        self.topicAliasMaximum = topicAliasMaximum
        self.assignedClientIdentifier = assignedClientIdentifier
    }
}

/// One connection's protocol logic as a pure value: CONNECT/CONNACK, keep alive with PINGREQ and a
/// dead-connection timeout, DISCONNECT from the broker, and topic aliases in both directions.
///
/// Time is a parameter: every event takes `now`, and ``nextDeadline`` says when to call
/// ``deadlineReached(now:)``, so tests drive it with plain instants instead of sleeping.
public struct MQTTConnectionStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration, Instant: Sendable {
    /// Something the I/O shell must do.
    public enum Action: Hashable, Sendable {
        case none
        /// CONNACK accepted: the connection is usable.
        case connected(MQTTNegotiatedSettings)
        /// Write a PINGREQ.
        case sendPingRequest
        /// Pass this packet to the session / request tracking.
        case forward(MQTTPacket)
        /// Close the connection (after a DISCONNECT with ``MQTTConnectionCloseReason/disconnectReasonCode`` on MQTT 5).
        case close(MQTTConnectionCloseReason)
    }

    /// Per-connection settings.
    public struct Configuration: Hashable, Sendable {
        public var version: MQTTProtocolVersion
        public var keepAliveSeconds: UInt16
        /// How long to wait for PINGRESP before declaring the connection dead.
        public var pingTimeout: Duration
        /// How long opening the connection may take, and then how long to wait for CONNACK.
        public var connectTimeout: Duration
        /// Topic aliases we accept from the broker (advertised in CONNECT).
        public var inboundTopicAliasMaximum: UInt16

        public init(version: MQTTProtocolVersion, keepAliveSeconds: UInt16, pingTimeout: Duration, connectTimeout: Duration, inboundTopicAliasMaximum: UInt16 = 0) {
            self.version = version
            self.keepAliveSeconds = keepAliveSeconds
            self.pingTimeout = pingTimeout
            self.connectTimeout = connectTimeout
            self.inboundTopicAliasMaximum = inboundTopicAliasMaximum
        }
    }

    private struct Connected: Sendable {
        var settings: MQTTNegotiatedSettings
        var lastSent: Instant
        var pingDeadline: Instant?
        var inboundAliases: [UInt16: String] = [:]
    }

    private enum State: Sendable {
        case idle
        /// The transport is opening the connection; CONNECT is written once it is up.
        case opening(deadline: Instant)
        case awaitingConnAck(deadline: Instant)
        case connected(Connected)
        case closed
    }

    public let configuration: Configuration
    private var state: State = .idle {
        didSet {
            if case .connected = state { return }
            if outboundAliases.maximum > 0 { outboundAliases = MQTTOutboundTopicAliases() }
        }
    }
    /// The topic aliases of this connection's PUBLISH packets: none (maximum 0) except while connected, reset by
    /// every accepted CONNACK. Stored beside `state`, not in ``Connected``, and not behind a generic method, so the
    /// shell applies them to every PUBLISH with ``MQTTOutboundTopicAliases/apply(to:)`` without copying the
    /// connected state or instantiating this type's generic metadata. Only the shell sending PUBLISH packets
    /// should change it.
    public var outboundAliases = MQTTOutboundTopicAliases()

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// True between an accepted CONNACK and the close.
    public var isConnected: Bool {
        if case .connected = state { return true }
        return false
    }

    /// The negotiated settings while connected.
    public var negotiated: MQTTNegotiatedSettings? {
        if case .connected(let connected) = state { return connected.settings }
        return nil
    }

    /// When the shell should call ``deadlineReached(now:)`` next; nil when nothing is pending.
    public var nextDeadline: Instant? {
        switch state {
        case .opening(let deadline), .awaitingConnAck(let deadline): return deadline
        case .connected(let connected):
            let keepAlive = connected.settings.keepAliveSeconds
            let pingAt: Instant? =
                keepAlive == 0 || connected.pingDeadline != nil ? nil : connected.lastSent.advanced(by: .seconds(Int(keepAlive)))
            switch (pingAt, connected.pingDeadline) {
            case (let a?, let b?): return min(a, b)
            case (let a?, nil): return a
            case (nil, let b?): return b
            case (nil, nil): return nil
            }
        case .idle, .closed: return nil
        }
    }

    /// The transport started opening the connection: it must be up, and CONNECT written, within the connect timeout.
    public mutating func openingStarted(now: Instant) {
        state = .opening(deadline: now.advanced(by: configuration.connectTimeout))
    }

    /// CONNECT was written (the connection is up): CONNACK is due within the connect timeout.
    public mutating func connectSent(now: Instant) {
        state = .awaitingConnAck(deadline: now.advanced(by: configuration.connectTimeout))
    }

    /// Any packet was written (resets the keep-alive timer: MQTT-3.1.2-23 counts any control packet).
    public mutating func packetSent(now: Instant) {
        guard case .connected(var connected) = state else { return }
        connected.lastSent = now
        state = .connected(connected)
    }

    /// A timer fired.
    public mutating func deadlineReached(now: Instant) -> Action {
        switch state {
        case .opening(let deadline) where now >= deadline:
            state = .closed
            return .close(.connectTimeout)
        case .awaitingConnAck(let deadline) where now >= deadline:
            state = .closed
            return .close(.connAckTimeout)
        case .connected(var connected):
            if let pingDeadline = connected.pingDeadline {
                if now >= pingDeadline {
                    state = .closed
                    return .close(.keepAliveTimeout)
                }
                return .none
            }
            let keepAlive = connected.settings.keepAliveSeconds
            guard keepAlive > 0, now >= connected.lastSent.advanced(by: .seconds(Int(keepAlive))) else { return .none }
            connected.pingDeadline = now.advanced(by: configuration.pingTimeout)
            connected.lastSent = now
            state = .connected(connected)
            return .sendPingRequest
        default:
            return .none
        }
    }

    /// The connection closed (for whatever reason).
    public mutating func closed() {
        state = .closed
    }

    /// A packet arrived from the broker.
    public mutating func received(_ packet: MQTTPacket, now: Instant) -> Action {
        switch state {
        case .idle, .opening, .closed:
            return .none
        case .awaitingConnAck:
            guard case .connack(let connack) = packet else {
                state = .closed
                return .close(.protocolError(MQTTProtocolError(.unexpectedPacket, "expected CONNACK first, received \(packet.type)")))
            }
            guard !connack.reasonCode.isFailure else {
                state = .closed
                return .close(.connectionRefused(connack.reasonCode, reasonString: connack.properties.reasonString))
            }
            let properties = connack.properties
            let settings = MQTTNegotiatedSettings(
                sessionPresent: connack.sessionPresent,
                keepAliveSeconds: properties.serverKeepAlive ?? configuration.keepAliveSeconds,
                receiveMaximum: Int(properties.receiveMaximum ?? UInt16.max),
                maximumPacketSize: properties.maximumPacketSize.map { Int($0) } ?? MQTTLimits.maximumPacketSize,
                maximumQoS: properties.maximumQoS.flatMap { QoS(rawValue: $0) } ?? .exactlyOnce,
                retainAvailable: properties.retainAvailable != 0,
                topicAliasMaximum: configuration.version == .v5 ? properties.topicAliasMaximum ?? 0 : 0,
                assignedClientIdentifier: properties.assignedClientIdentifier)
            state = .connected(Connected(settings: settings, lastSent: now))
            outboundAliases = MQTTOutboundTopicAliases(maximum: settings.topicAliasMaximum)
            return .connected(settings)
        case .connected(var connected):
            switch packet {
            case .pingresp:
                connected.pingDeadline = nil
                state = .connected(connected)
                return .none
            case .disconnect(let reason):
                state = .closed
                return .close(.serverDisconnected(reason.reasonCode, reasonString: reason.properties.reasonString))
            case .connect, .connack, .subscribe, .unsubscribe, .pingreq:
                state = .closed
                return .close(.protocolError(MQTTProtocolError(.unexpectedPacket, "a broker must not send \(packet.type) to a client")))
            case .publish(var publish):
                if let alias = publish.properties.topicAlias {
                    guard alias <= configuration.inboundTopicAliasMaximum else {
                        state = .closed
                        return .close(.protocolError(MQTTProtocolError(.invalidTopicAlias, "topic alias \(alias) exceeds our maximum of \(configuration.inboundTopicAliasMaximum)")))
                    }
                    if publish.topic.isEmpty {
                        guard let topic = connected.inboundAliases[alias] else {
                            state = .closed
                            return .close(.protocolError(MQTTProtocolError(.invalidTopicAlias, "topic alias \(alias) was never defined")))
                        }
                        publish.topic = topic
                    } else {
                        connected.inboundAliases[alias] = publish.topic
                        state = .connected(connected)
                    }
                }
                return .forward(.publish(publish))
            default:
                return .forward(packet)
            }
        }
    }
}

/// The outbound topic aliases of one connection: the first PUBLISH on a topic defines an alias, later ones send an
/// empty topic with the alias, saving the topic bytes on every message. At most `maximum` aliases (the broker's
/// Topic Alias Maximum; 0: none), handed out in order from 1 and never reassigned.
public struct MQTTOutboundTopicAliases: Hashable, Sendable {
    /// How many aliases the broker accepts.
    public let maximum: UInt16
    /// Per topic its alias, and properties holding only that alias: a message without properties (most) gets those,
    /// shared, instead of properties of its own made for one field.
    private var aliases: [String: (alias: UInt16, properties: MQTTProperties)] = [:]

    public init(maximum: UInt16 = 0) {
        self.maximum = maximum
    }

    public static func == (lhs: MQTTOutboundTopicAliases, rhs: MQTTOutboundTopicAliases) -> Bool {
        lhs.maximum == rhs.maximum && lhs.aliases.mapValues(\.alias) == rhs.aliases.mapValues(\.alias)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(maximum)
        hasher.combine(aliases.mapValues(\.alias))
    }

    /// Gives `publish` its topic's alias (defining one while there is room), unless it already has one.
    public mutating func apply(to publish: inout MQTTPublishPacket) {
        guard maximum > 0, publish.properties.topicAlias == nil else { return }
        if let known = aliases[publish.topic] {
            publish.topic = ""
            setAlias(known, on: &publish)
        } else if aliases.count < Int(maximum) {
            let alias = UInt16(aliases.count + 1)
            var onlyAlias = MQTTProperties()
            onlyAlias.topicAlias = alias
            let defined = (alias: alias, properties: onlyAlias)
            aliases[publish.topic] = defined
            setAlias(defined, on: &publish)
        }
    }

    private func setAlias(_ known: (alias: UInt16, properties: MQTTProperties), on publish: inout MQTTPublishPacket) {
        if publish.properties.isEmpty {
            publish.properties = known.properties
        } else {
            publish.properties.topicAlias = known.alias
        }
    }
}

/// Exponential reconnect backoff with jitter, as a pure function of the attempt number.
public struct MQTTReconnectBackoff: Hashable, Sendable {
    public var minimum: Duration
    public var maximum: Duration

    public init(minimum: Duration = .seconds(1), maximum: Duration = .seconds(120)) {
        self.minimum = max(minimum, .milliseconds(1))
        self.maximum = max(maximum, self.minimum)
    }

    /// The delay before reconnect attempt `attempt` (1-based).
    ///
    /// The ceiling doubles per attempt from ``minimum`` up to ``maximum``; the delay is drawn from
    /// [ceiling/2, ceiling] ("equal jitter") so many devices restarting together do not reconnect in lockstep.
    /// - Parameter random: a value in 0..<1.
    public func delay(attempt: Int, random: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        var ceiling = minimum * (1 << exponent)
        if ceiling > maximum || ceiling < minimum { ceiling = maximum }
        let half = ceiling / 2
        return half + half * min(max(random, 0), 0.999_999)
    }
}

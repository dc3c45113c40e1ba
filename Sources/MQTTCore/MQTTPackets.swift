import NIOCore

/// The Last Will: published by the broker when the connection ends without DISCONNECT.
public struct MQTTWill: Hashable, Sendable {
    public var topic: String
    public var payload: ByteBuffer
    public var qos: QoS
    public var retain: Bool
    /// MQTT 5 Will properties (will delay, message expiry, content type, ...).
    public var properties: MQTTProperties

    public init(topic: String, payload: ByteBuffer, qos: QoS = .atMostOnce, retain: Bool = false, properties: MQTTProperties = MQTTProperties()) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
    }
}

/// CONNECT.
public struct MQTTConnectPacket: Hashable, Sendable {
    public var protocolVersion: MQTTProtocolVersion
    public var clientIdentifier: String
    /// Clean Session (3.1.1) / Clean Start (5).
    public var cleanStart: Bool
    /// Keep alive in seconds; 0 disables it.
    public var keepAliveSeconds: UInt16
    public var username: String?
    public var password: [UInt8]?
    public var will: MQTTWill?
    public var properties: MQTTProperties

    public init(
        protocolVersion: MQTTProtocolVersion, clientIdentifier: String, cleanStart: Bool, keepAliveSeconds: UInt16,
        username: String? = nil, password: [UInt8]? = nil, will: MQTTWill? = nil, properties: MQTTProperties = MQTTProperties()
    ) {
        self.protocolVersion = protocolVersion
        self.clientIdentifier = clientIdentifier
        self.cleanStart = cleanStart
        self.keepAliveSeconds = keepAliveSeconds
        self.username = username
        self.password = password
        self.will = will
        self.properties = properties
    }
}

/// CONNACK. Under 3.1.1 the return code is mapped onto ``MQTTReasonCode`` (see ``MQTTReasonCode/fromMQTT3ConnectReturnCode(_:)``).
public struct MQTTConnAckPacket: Hashable, Sendable {
    public var sessionPresent: Bool
    public var reasonCode: MQTTReasonCode
    public var properties: MQTTProperties

    public init(sessionPresent: Bool, reasonCode: MQTTReasonCode, properties: MQTTProperties = MQTTProperties()) {
        self.sessionPresent = sessionPresent
        self.reasonCode = reasonCode
        self.properties = properties
    }
}

/// PUBLISH.
public struct MQTTPublishPacket: Hashable, Sendable {
    /// The topic; empty only when an MQTT 5 topic alias stands in for it.
    public var topic: String
    public var payload: ByteBuffer
    public var qos: QoS
    public var retain: Bool
    public var dup: Bool
    /// Present for QoS 1 and 2 only.
    public var packetIdentifier: UInt16?
    public var properties: MQTTProperties

    public init(
        topic: String, payload: ByteBuffer, qos: QoS = .atMostOnce, retain: Bool = false, dup: Bool = false,
        packetIdentifier: UInt16? = nil, properties: MQTTProperties = MQTTProperties()
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.packetIdentifier = packetIdentifier
        self.properties = properties
    }
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (same layout; the kind is the packet type).
public struct MQTTAckPacket: Hashable, Sendable {
    public var packetIdentifier: UInt16
    public var reasonCode: MQTTReasonCode
    public var properties: MQTTProperties

    public init(packetIdentifier: UInt16, reasonCode: MQTTReasonCode = .success, properties: MQTTProperties = MQTTProperties()) {
        self.packetIdentifier = packetIdentifier
        self.reasonCode = reasonCode
        self.properties = properties
    }
}

/// MQTT 5 "Retain Handling" subscription option.
public enum MQTTRetainHandling: UInt8, Hashable, Sendable {
    case sendOnSubscribe = 0
    case sendOnSubscribeIfNew = 1
    case doNotSend = 2
}

/// One filter of a SUBSCRIBE with its options (the MQTT 5 ones are ignored under 3.1.1).
public struct MQTTSubscriptionRequest: Hashable, Sendable {
    public var filter: TopicFilter
    public var qos: QoS
    public var noLocal: Bool
    public var retainAsPublished: Bool
    public var retainHandling: MQTTRetainHandling

    public init(_ filter: TopicFilter, qos: QoS = .atLeastOnce, noLocal: Bool = false, retainAsPublished: Bool = false, retainHandling: MQTTRetainHandling = .sendOnSubscribe) {
        self.filter = filter
        self.qos = qos
        self.noLocal = noLocal
        self.retainAsPublished = retainAsPublished
        self.retainHandling = retainHandling
    }
}

/// SUBSCRIBE.
public struct MQTTSubscribePacket: Hashable, Sendable {
    public var packetIdentifier: UInt16
    public var subscriptions: [MQTTSubscriptionRequest]
    public var properties: MQTTProperties

    public init(packetIdentifier: UInt16, subscriptions: [MQTTSubscriptionRequest], properties: MQTTProperties = MQTTProperties()) {
        self.packetIdentifier = packetIdentifier
        self.subscriptions = subscriptions
        self.properties = properties
    }
}

/// SUBACK or UNSUBACK: one reason code per requested filter. Under 3.1.1 SUBACK's 0x80 maps to ``MQTTReasonCode/unspecifiedError``
/// and UNSUBACK carries no codes.
public struct MQTTSubAckPacket: Hashable, Sendable {
    public var packetIdentifier: UInt16
    public var reasonCodes: [MQTTReasonCode]
    public var properties: MQTTProperties

    public init(packetIdentifier: UInt16, reasonCodes: [MQTTReasonCode], properties: MQTTProperties = MQTTProperties()) {
        self.packetIdentifier = packetIdentifier
        self.reasonCodes = reasonCodes
        self.properties = properties
    }
}

/// UNSUBSCRIBE.
public struct MQTTUnsubscribePacket: Hashable, Sendable {
    public var packetIdentifier: UInt16
    public var filters: [TopicFilter]
    public var properties: MQTTProperties

    public init(packetIdentifier: UInt16, filters: [TopicFilter], properties: MQTTProperties = MQTTProperties()) {
        self.packetIdentifier = packetIdentifier
        self.filters = filters
        self.properties = properties
    }
}

/// DISCONNECT (MQTT 5 carries a reason and properties; 3.1.1 has neither) or AUTH.
public struct MQTTReasonPacket: Hashable, Sendable {
    public var reasonCode: MQTTReasonCode
    public var properties: MQTTProperties

    public init(reasonCode: MQTTReasonCode = .success, properties: MQTTProperties = MQTTProperties()) {
        self.reasonCode = reasonCode
        self.properties = properties
    }
}

/// Any MQTT control packet.
public enum MQTTPacket: Hashable, Sendable {
    case connect(MQTTConnectPacket)
    case connack(MQTTConnAckPacket)
    case publish(MQTTPublishPacket)
    case puback(MQTTAckPacket)
    case pubrec(MQTTAckPacket)
    case pubrel(MQTTAckPacket)
    case pubcomp(MQTTAckPacket)
    case subscribe(MQTTSubscribePacket)
    case suback(MQTTSubAckPacket)
    case unsubscribe(MQTTUnsubscribePacket)
    case unsuback(MQTTSubAckPacket)
    case pingreq
    case pingresp
    case disconnect(MQTTReasonPacket)
    case auth(MQTTReasonPacket)

    /// The fixed-header packet type.
    public var type: MQTTPacketType {
        switch self {
        case .connect: .connect
        case .connack: .connack
        case .publish: .publish
        case .puback: .puback
        case .pubrec: .pubrec
        case .pubrel: .pubrel
        case .pubcomp: .pubcomp
        case .subscribe: .subscribe
        case .suback: .suback
        case .unsubscribe: .unsubscribe
        case .unsuback: .unsuback
        case .pingreq: .pingreq
        case .pingresp: .pingresp
        case .disconnect: .disconnect
        case .auth: .auth
        }
    }
}

import NIOCore

/// An MQTT 5 user property: a name/value pair that may repeat and keeps its order.
public struct MQTTUserProperty: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The MQTT 5 property identifiers (spec §2.2.2.2).
public enum MQTTPropertyIdentifier: UInt8, Sendable, CaseIterable {
    case payloadFormatIndicator = 0x01
    case messageExpiryInterval = 0x02
    case contentType = 0x03
    case responseTopic = 0x08
    case correlationData = 0x09
    case subscriptionIdentifier = 0x0B
    case sessionExpiryInterval = 0x11
    case assignedClientIdentifier = 0x12
    case serverKeepAlive = 0x13
    case authenticationMethod = 0x15
    case authenticationData = 0x16
    case requestProblemInformation = 0x17
    case willDelayInterval = 0x18
    case requestResponseInformation = 0x19
    case responseInformation = 0x1A
    case serverReference = 0x1C
    case reasonString = 0x1F
    case receiveMaximum = 0x21
    case topicAliasMaximum = 0x22
    case topicAlias = 0x23
    case maximumQoS = 0x24
    case retainAvailable = 0x25
    case userProperty = 0x26
    case maximumPacketSize = 0x27
    case wildcardSubscriptionAvailable = 0x28
    case subscriptionIdentifiersAvailable = 0x29
    case sharedSubscriptionAvailable = 0x2A

    /// Where a property may appear. "will" is the Will properties block inside CONNECT.
    public enum Context: Sendable, Hashable, CaseIterable {
        case connect, will, connack, publish, ack, subscribe, suback, unsubscribe, unsuback, disconnect, auth
    }

    /// The packets this property is allowed in (spec §2.2.2.2 table).
    public var allowedContexts: Set<Context> {
        switch self {
        case .payloadFormatIndicator, .messageExpiryInterval, .contentType, .responseTopic, .correlationData:
            [.publish, .will]
        case .subscriptionIdentifier: [.publish, .subscribe]
        case .sessionExpiryInterval: [.connect, .connack, .disconnect]
        case .assignedClientIdentifier, .serverKeepAlive, .responseInformation, .maximumQoS, .retainAvailable,
            .wildcardSubscriptionAvailable, .subscriptionIdentifiersAvailable, .sharedSubscriptionAvailable:
            [.connack]
        case .authenticationMethod, .authenticationData: [.connect, .connack, .auth]
        case .requestProblemInformation, .requestResponseInformation: [.connect]
        case .willDelayInterval: [.will]
        case .serverReference: [.connack, .disconnect]
        case .reasonString: [.connack, .ack, .suback, .unsuback, .disconnect, .auth]
        case .receiveMaximum, .topicAliasMaximum, .maximumPacketSize: [.connect, .connack]
        case .topicAlias: [.publish]
        case .userProperty: Set(Context.allCases)
        }
    }
}

/// The MQTT 5 properties of one packet. Fields are `nil` (or empty) when absent.
///
/// One struct for every packet type keeps the API small; the codec rejects a property
/// that is not allowed in the packet it arrives in, so a decoded value only has fields
/// the packet type permits.
public struct MQTTProperties: Hashable, Sendable {
    public var payloadFormatIndicator: UInt8?
    public var messageExpiryInterval: UInt32?
    public var contentType: String?
    public var responseTopic: String?
    public var correlationData: [UInt8]?
    /// Subscription identifiers; PUBLISH may carry several, SUBSCRIBE at most one.
    public var subscriptionIdentifiers: [Int] = []
    public var sessionExpiryInterval: UInt32?
    public var assignedClientIdentifier: String?
    public var serverKeepAlive: UInt16?
    public var authenticationMethod: String?
    public var authenticationData: [UInt8]?
    public var requestProblemInformation: UInt8?
    public var willDelayInterval: UInt32?
    public var requestResponseInformation: UInt8?
    public var responseInformation: String?
    public var serverReference: String?
    public var reasonString: String?
    public var receiveMaximum: UInt16?
    public var topicAliasMaximum: UInt16?
    public var topicAlias: UInt16?
    public var maximumQoS: UInt8?
    public var retainAvailable: UInt8?
    public var userProperties: [MQTTUserProperty] = []
    public var maximumPacketSize: UInt32?
    public var wildcardSubscriptionAvailable: UInt8?
    public var subscriptionIdentifiersAvailable: UInt8?
    public var sharedSubscriptionAvailable: UInt8?

    public init() {}

    /// True when no property is set. Field by field rather than `== MQTTProperties()`: it runs for every
    /// published message (its spool charge), and comparing all 27 fields with a fresh value costs more.
    public var isEmpty: Bool {
        payloadFormatIndicator == nil && messageExpiryInterval == nil && contentType == nil && responseTopic == nil
            && correlationData == nil && subscriptionIdentifiers.isEmpty && sessionExpiryInterval == nil
            && assignedClientIdentifier == nil && serverKeepAlive == nil && authenticationMethod == nil
            && authenticationData == nil && requestProblemInformation == nil && willDelayInterval == nil
            && requestResponseInformation == nil && responseInformation == nil && serverReference == nil
            && reasonString == nil && receiveMaximum == nil && topicAliasMaximum == nil && topicAlias == nil
            && maximumQoS == nil && retainAvailable == nil && userProperties.isEmpty && maximumPacketSize == nil
            && wildcardSubscriptionAvailable == nil && subscriptionIdentifiersAvailable == nil
            && sharedSubscriptionAvailable == nil
    }
}

extension MQTTProperties {
    /// Encoded length of the property block, without its own length prefix: counted, not encoded, so sizing a
    /// packet (every PUBLISH) allocates nothing. ``writeBody(to:)`` writes exactly this many bytes.
    func encodedLength() -> Int {
        func fixed(_ value: (some Any)?, _ size: Int) -> Int { value == nil ? 0 : 1 + size }
        func string(_ value: String?) -> Int { value.map { 3 + $0.utf8.count } ?? 0 }
        func binary(_ value: [UInt8]?) -> Int { value.map { 3 + $0.count } ?? 0 }
        var length = fixed(payloadFormatIndicator, 1) + fixed(messageExpiryInterval, 4) + string(contentType)
        length += string(responseTopic) + binary(correlationData)
        for identifier in subscriptionIdentifiers { length += 1 + mqttVariableIntSize(identifier) }
        length += fixed(sessionExpiryInterval, 4) + string(assignedClientIdentifier) + fixed(serverKeepAlive, 2)
        length += string(authenticationMethod) + binary(authenticationData) + fixed(requestProblemInformation, 1)
        length += fixed(willDelayInterval, 4) + fixed(requestResponseInformation, 1) + string(responseInformation)
        length += string(serverReference) + string(reasonString) + fixed(receiveMaximum, 2)
        length += fixed(topicAliasMaximum, 2) + fixed(topicAlias, 2) + fixed(maximumQoS, 1) + fixed(retainAvailable, 1)
        for property in userProperties { length += 5 + property.name.utf8.count + property.value.utf8.count }
        length += fixed(maximumPacketSize, 4) + fixed(wildcardSubscriptionAvailable, 1)
        length += fixed(subscriptionIdentifiersAvailable, 1) + fixed(sharedSubscriptionAvailable, 1)
        return length
    }

    /// Writes the property length followed by the properties, straight into `buffer` (no scratch buffer).
    func write(to buffer: inout ByteBuffer) {
        buffer.writeMQTTVariableInt(encodedLength())
        writeBody(to: &buffer)
    }

    func writeBody(to buffer: inout ByteBuffer) {
        func byte(_ id: MQTTPropertyIdentifier, _ value: UInt8?) {
            guard let value else { return }
            buffer.writeInteger(id.rawValue)
            buffer.writeInteger(value)
        }
        func two(_ id: MQTTPropertyIdentifier, _ value: UInt16?) {
            guard let value else { return }
            buffer.writeInteger(id.rawValue)
            buffer.writeInteger(value)
        }
        func four(_ id: MQTTPropertyIdentifier, _ value: UInt32?) {
            guard let value else { return }
            buffer.writeInteger(id.rawValue)
            buffer.writeInteger(value)
        }
        func string(_ id: MQTTPropertyIdentifier, _ value: String?) {
            guard let value else { return }
            buffer.writeInteger(id.rawValue)
            buffer.writeMQTTString(value)
        }
        func binary(_ id: MQTTPropertyIdentifier, _ value: [UInt8]?) {
            guard let value else { return }
            buffer.writeInteger(id.rawValue)
            buffer.writeMQTTBinary(value)
        }
        byte(.payloadFormatIndicator, payloadFormatIndicator)
        four(.messageExpiryInterval, messageExpiryInterval)
        string(.contentType, contentType)
        string(.responseTopic, responseTopic)
        binary(.correlationData, correlationData)
        for identifier in subscriptionIdentifiers {
            buffer.writeInteger(MQTTPropertyIdentifier.subscriptionIdentifier.rawValue)
            buffer.writeMQTTVariableInt(identifier)
        }
        four(.sessionExpiryInterval, sessionExpiryInterval)
        string(.assignedClientIdentifier, assignedClientIdentifier)
        two(.serverKeepAlive, serverKeepAlive)
        string(.authenticationMethod, authenticationMethod)
        binary(.authenticationData, authenticationData)
        byte(.requestProblemInformation, requestProblemInformation)
        four(.willDelayInterval, willDelayInterval)
        byte(.requestResponseInformation, requestResponseInformation)
        string(.responseInformation, responseInformation)
        string(.serverReference, serverReference)
        string(.reasonString, reasonString)
        two(.receiveMaximum, receiveMaximum)
        two(.topicAliasMaximum, topicAliasMaximum)
        two(.topicAlias, topicAlias)
        byte(.maximumQoS, maximumQoS)
        byte(.retainAvailable, retainAvailable)
        for property in userProperties {
            buffer.writeInteger(MQTTPropertyIdentifier.userProperty.rawValue)
            buffer.writeMQTTString(property.name)
            buffer.writeMQTTString(property.value)
        }
        four(.maximumPacketSize, maximumPacketSize)
        byte(.wildcardSubscriptionAvailable, wildcardSubscriptionAvailable)
        byte(.subscriptionIdentifiersAvailable, subscriptionIdentifiersAvailable)
        byte(.sharedSubscriptionAvailable, sharedSubscriptionAvailable)
    }

    /// Reads a property length and the properties, checking each is known, allowed in `context`,
    /// not repeated unless the spec allows it, and in range.
    static func read(from buffer: inout ByteBuffer, context: MQTTPropertyIdentifier.Context, packet: String) throws(MQTTProtocolError) -> MQTTProperties {
        let length = try buffer.readMQTTVariableInt("\(packet) property length")
        guard var block = buffer.readSlice(length: length) else {
            throw MQTTProtocolError(.truncatedPacket, "\(packet) property length \(length) exceeds the \(buffer.readableBytes) bytes left")
        }
        var properties = MQTTProperties()
        var seen = Set<MQTTPropertyIdentifier>()
        while block.readableBytes > 0 {
            let raw = try block.readMQTTVariableInt("\(packet) property identifier")
            guard raw <= 0xFF, let id = MQTTPropertyIdentifier(rawValue: UInt8(raw)) else {
                throw MQTTProtocolError(.unknownProperty, "\(packet) contains unknown property identifier 0x\(String(raw, radix: 16))")
            }
            guard id.allowedContexts.contains(context) else {
                throw MQTTProtocolError(.propertyNotAllowed, "property \(id) is not allowed in \(packet)")
            }
            let repeatable = id == .userProperty || (id == .subscriptionIdentifier && context == .publish)
            guard seen.insert(id).inserted || repeatable else {
                throw MQTTProtocolError(.duplicateProperty, "property \(id) appears more than once in \(packet)")
            }
            try properties.readValue(id, from: &block, packet: packet)
        }
        return properties
    }

    private mutating func readValue(_ id: MQTTPropertyIdentifier, from block: inout ByteBuffer, packet: String) throws(MQTTProtocolError) {
        let field = "\(packet) property \(id)"
        func flag() throws(MQTTProtocolError) -> UInt8 {
            let value = try block.readMQTTByte(field)
            guard value <= 1 else { throw MQTTProtocolError(.invalidPropertyValue, "\(field) must be 0 or 1, got \(value)") }
            return value
        }
        func nonZero16() throws(MQTTProtocolError) -> UInt16 {
            let value = try block.readMQTTUInt16(field)
            guard value != 0 else { throw MQTTProtocolError(.invalidPropertyValue, "\(field) must not be 0") }
            return value
        }
        switch id {
        case .payloadFormatIndicator: payloadFormatIndicator = try flag()
        case .messageExpiryInterval: messageExpiryInterval = try block.readMQTTUInt32(field)
        case .contentType: contentType = try block.readMQTTString(field)
        case .responseTopic:
            let topic = try block.readMQTTString(field)
            guard TopicName.isValid(topic) else { throw MQTTProtocolError(.invalidTopicName, "\(field) '\(topic)' is not a valid topic name") }
            responseTopic = topic
        case .correlationData: correlationData = try block.readMQTTBinary(field)
        case .subscriptionIdentifier:
            let value = try block.readMQTTVariableInt(field)
            guard value != 0 else { throw MQTTProtocolError(.invalidPropertyValue, "\(field) must not be 0") }
            subscriptionIdentifiers.append(value)
        case .sessionExpiryInterval: sessionExpiryInterval = try block.readMQTTUInt32(field)
        case .assignedClientIdentifier: assignedClientIdentifier = try block.readMQTTString(field)
        case .serverKeepAlive: serverKeepAlive = try block.readMQTTUInt16(field)
        case .authenticationMethod: authenticationMethod = try block.readMQTTString(field)
        case .authenticationData: authenticationData = try block.readMQTTBinary(field)
        case .requestProblemInformation: requestProblemInformation = try flag()
        case .willDelayInterval: willDelayInterval = try block.readMQTTUInt32(field)
        case .requestResponseInformation: requestResponseInformation = try flag()
        case .responseInformation: responseInformation = try block.readMQTTString(field)
        case .serverReference: serverReference = try block.readMQTTString(field)
        case .reasonString: reasonString = try block.readMQTTString(field)
        case .receiveMaximum: receiveMaximum = try nonZero16()
        case .topicAliasMaximum: topicAliasMaximum = try block.readMQTTUInt16(field)
        case .topicAlias: topicAlias = try nonZero16()
        case .maximumQoS: maximumQoS = try flag()
        case .retainAvailable: retainAvailable = try flag()
        case .userProperty:
            let name = try block.readMQTTString("\(field) name")
            let value = try block.readMQTTString("\(field) value")
            userProperties.append(MQTTUserProperty(name, value))
        case .maximumPacketSize:
            let value = try block.readMQTTUInt32(field)
            guard value != 0 else { throw MQTTProtocolError(.invalidPropertyValue, "\(field) must not be 0") }
            maximumPacketSize = value
        case .wildcardSubscriptionAvailable: wildcardSubscriptionAvailable = try flag()
        case .subscriptionIdentifiersAvailable: subscriptionIdentifiersAvailable = try flag()
        case .sharedSubscriptionAvailable: sharedSubscriptionAvailable = try flag()
        }
    }
}

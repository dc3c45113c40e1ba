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
    /// The properties themselves, behind one reference (copy on write): a packet or message is copied several times
    /// on its way to the socket, and copying 27 fields (a dozen of them reference counted) each time cost more
    /// than sending the message. A copy is now one retain; an empty value shares one box.
    struct Fields: Hashable, Sendable {
        var payloadFormatIndicator: UInt8?
        var messageExpiryInterval: UInt32?
        var contentType: String?
        var responseTopic: String?
        var correlationData: [UInt8]?
        var subscriptionIdentifiers: [Int] = []
        var sessionExpiryInterval: UInt32?
        var assignedClientIdentifier: String?
        var serverKeepAlive: UInt16?
        var authenticationMethod: String?
        var authenticationData: [UInt8]?
        var requestProblemInformation: UInt8?
        var willDelayInterval: UInt32?
        var requestResponseInformation: UInt8?
        var responseInformation: String?
        var serverReference: String?
        var reasonString: String?
        var receiveMaximum: UInt16?
        var topicAliasMaximum: UInt16?
        var topicAlias: UInt16?
        var maximumQoS: UInt8?
        var retainAvailable: UInt8?
        var userProperties: [MQTTUserProperty] = []
        var maximumPacketSize: UInt32?
        var wildcardSubscriptionAvailable: UInt8?
        var subscriptionIdentifiersAvailable: UInt8?
        var sharedSubscriptionAvailable: UInt8?
    }

    /// Shared until mutated: `fields` is only changed through ``unique()``.
    final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private static let empty = Box(Fields())
    private var box: Box

    /// The box, made this value's own first if it is shared.
    private mutating func unique() -> Box {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        return box
    }

    public var payloadFormatIndicator: UInt8? {
        get { box.fields.payloadFormatIndicator }
        _modify { yield &unique().fields.payloadFormatIndicator }
    }
    public var messageExpiryInterval: UInt32? {
        get { box.fields.messageExpiryInterval }
        _modify { yield &unique().fields.messageExpiryInterval }
    }
    public var contentType: String? {
        get { box.fields.contentType }
        _modify { yield &unique().fields.contentType }
    }
    public var responseTopic: String? {
        get { box.fields.responseTopic }
        _modify { yield &unique().fields.responseTopic }
    }
    public var correlationData: [UInt8]? {
        get { box.fields.correlationData }
        _modify { yield &unique().fields.correlationData }
    }
    /// Subscription identifiers; PUBLISH may carry several, SUBSCRIBE at most one.
    public var subscriptionIdentifiers: [Int] {
        get { box.fields.subscriptionIdentifiers }
        _modify { yield &unique().fields.subscriptionIdentifiers }
    }
    public var sessionExpiryInterval: UInt32? {
        get { box.fields.sessionExpiryInterval }
        _modify { yield &unique().fields.sessionExpiryInterval }
    }
    public var assignedClientIdentifier: String? {
        get { box.fields.assignedClientIdentifier }
        _modify { yield &unique().fields.assignedClientIdentifier }
    }
    public var serverKeepAlive: UInt16? {
        get { box.fields.serverKeepAlive }
        _modify { yield &unique().fields.serverKeepAlive }
    }
    public var authenticationMethod: String? {
        get { box.fields.authenticationMethod }
        _modify { yield &unique().fields.authenticationMethod }
    }
    public var authenticationData: [UInt8]? {
        get { box.fields.authenticationData }
        _modify { yield &unique().fields.authenticationData }
    }
    public var requestProblemInformation: UInt8? {
        get { box.fields.requestProblemInformation }
        _modify { yield &unique().fields.requestProblemInformation }
    }
    public var willDelayInterval: UInt32? {
        get { box.fields.willDelayInterval }
        _modify { yield &unique().fields.willDelayInterval }
    }
    public var requestResponseInformation: UInt8? {
        get { box.fields.requestResponseInformation }
        _modify { yield &unique().fields.requestResponseInformation }
    }
    public var responseInformation: String? {
        get { box.fields.responseInformation }
        _modify { yield &unique().fields.responseInformation }
    }
    public var serverReference: String? {
        get { box.fields.serverReference }
        _modify { yield &unique().fields.serverReference }
    }
    public var reasonString: String? {
        get { box.fields.reasonString }
        _modify { yield &unique().fields.reasonString }
    }
    public var receiveMaximum: UInt16? {
        get { box.fields.receiveMaximum }
        _modify { yield &unique().fields.receiveMaximum }
    }
    public var topicAliasMaximum: UInt16? {
        get { box.fields.topicAliasMaximum }
        _modify { yield &unique().fields.topicAliasMaximum }
    }
    public var topicAlias: UInt16? {
        get { box.fields.topicAlias }
        _modify { yield &unique().fields.topicAlias }
    }
    public var maximumQoS: UInt8? {
        get { box.fields.maximumQoS }
        _modify { yield &unique().fields.maximumQoS }
    }
    public var retainAvailable: UInt8? {
        get { box.fields.retainAvailable }
        _modify { yield &unique().fields.retainAvailable }
    }
    public var userProperties: [MQTTUserProperty] {
        get { box.fields.userProperties }
        _modify { yield &unique().fields.userProperties }
    }
    public var maximumPacketSize: UInt32? {
        get { box.fields.maximumPacketSize }
        _modify { yield &unique().fields.maximumPacketSize }
    }
    public var wildcardSubscriptionAvailable: UInt8? {
        get { box.fields.wildcardSubscriptionAvailable }
        _modify { yield &unique().fields.wildcardSubscriptionAvailable }
    }
    public var subscriptionIdentifiersAvailable: UInt8? {
        get { box.fields.subscriptionIdentifiersAvailable }
        _modify { yield &unique().fields.subscriptionIdentifiersAvailable }
    }
    public var sharedSubscriptionAvailable: UInt8? {
        get { box.fields.sharedSubscriptionAvailable }
        _modify { yield &unique().fields.sharedSubscriptionAvailable }
    }

    public init() {
        box = Self.empty
    }

    public static func == (lhs: MQTTProperties, rhs: MQTTProperties) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
    }

    public func hash(into hasher: inout Hasher) {
        box.fields.hash(into: &hasher)
    }

    /// True when no property is set. The shared empty box, or else field by field rather than `== MQTTProperties()`:
    /// it runs for every published message (its spool charge), and comparing all 27 fields with a fresh value costs more.
    public var isEmpty: Bool {
        box === Self.empty
            || payloadFormatIndicator == nil && messageExpiryInterval == nil && contentType == nil && responseTopic == nil
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

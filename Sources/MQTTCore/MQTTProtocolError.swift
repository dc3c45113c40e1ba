/// A violation of the MQTT protocol found while decoding or validating a packet.
///
/// Any of these closes the connection (with DISCONNECT reason ``code``'s ``Code/reasonCode`` on MQTT 5)
/// and is reported; none of them crashes the process.
public struct MQTTProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of violation it is. New codes may be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The MQTT 5 DISCONNECT reason code that describes this violation to the peer.
        public let reasonCode: MQTTReasonCode

        /// The remaining length used more than 4 bytes.
        public static let malformedRemainingLength = Code(name: "malformedRemainingLength", reasonCode: .malformedPacket)
        /// A field ran past the end of the packet.
        public static let truncatedPacket = Code(name: "truncatedPacket", reasonCode: .malformedPacket)
        /// Bytes left over after the last field of the packet.
        public static let trailingBytes = Code(name: "trailingBytes", reasonCode: .malformedPacket)
        /// Packet type 0, or AUTH under MQTT 3.1.1.
        public static let unknownPacketType = Code(name: "unknownPacketType", reasonCode: .malformedPacket)
        /// Reserved fixed-header flags were not as the spec requires.
        public static let invalidFlags = Code(name: "invalidFlags", reasonCode: .malformedPacket)
        /// A string was not well-formed UTF-8 or contained U+0000.
        public static let invalidUTF8 = Code(name: "invalidUTF8", reasonCode: .malformedPacket)
        /// A PUBLISH topic contained a wildcard or was otherwise not a valid topic name.
        public static let invalidTopicName = Code(name: "invalidTopicName", reasonCode: .topicNameInvalid)
        /// A topic filter was not valid.
        public static let invalidTopicFilter = Code(name: "invalidTopicFilter", reasonCode: .topicFilterInvalid)
        /// The packet exceeded the negotiated maximum packet size.
        public static let packetTooLarge = Code(name: "packetTooLarge", reasonCode: .packetTooLarge)
        /// QoS 3, or a QoS value out of range.
        public static let invalidQoS = Code(name: "invalidQoS", reasonCode: .malformedPacket)
        /// An unknown MQTT 5 property identifier.
        public static let unknownProperty = Code(name: "unknownProperty", reasonCode: .malformedPacket)
        /// A property that may appear once appeared twice.
        public static let duplicateProperty = Code(name: "duplicateProperty", reasonCode: .protocolError)
        /// A property that is not allowed in this packet.
        public static let propertyNotAllowed = Code(name: "propertyNotAllowed", reasonCode: .protocolError)
        /// A property value was out of range (e.g. receive maximum 0).
        public static let invalidPropertyValue = Code(name: "invalidPropertyValue", reasonCode: .protocolError)
        /// Packet identifier 0 where a non-zero one is required.
        public static let invalidPacketIdentifier = Code(name: "invalidPacketIdentifier", reasonCode: .protocolError)
        /// The packet is well formed but not allowed in this state or direction.
        public static let unexpectedPacket = Code(name: "unexpectedPacket", reasonCode: .protocolError)
        /// A field held a value the spec forbids (bad protocol name, empty SUBSCRIBE, ...).
        public static let invalidField = Code(name: "invalidField", reasonCode: .protocolError)
        /// A topic alias of 0, above our maximum, or unknown.
        public static let invalidTopicAlias = Code(name: "invalidTopicAlias", reasonCode: .topicAliasInvalid)
        /// The peer sent more QoS 1/2 PUBLISH packets than our receive maximum allows.
        public static let receiveMaximumExceeded = Code(name: "receiveMaximumExceeded", reasonCode: .receiveMaximumExceeded)

        public var description: String { name }
    }

    /// The kind of violation.
    public let code: Code
    /// What exactly was wrong, naming the packet and field.
    public let message: String

    /// Creates an error with a code and a message naming what was wrong.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "MQTT protocol error (\(code)): \(message)" }
}

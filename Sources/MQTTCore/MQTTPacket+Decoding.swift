import NIOCore

/// Splits a byte stream into MQTT packets, enforcing the 4-byte remaining length and a maximum packet size
/// before any packet bytes are buffered for it.
///
/// A single-step decoder: `decode` returns nil until a whole packet is available and never sees a channel.
public struct MQTTPacketDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    public typealias InboundOut = MQTTPacket

    /// The protocol version in use (CONNECT itself is decoded by its own version byte).
    public var version: MQTTProtocolVersion
    /// Largest packet accepted, in bytes, fixed header included.
    public var maximumPacketSize: Int

    public init(version: MQTTProtocolVersion, maximumPacketSize: Int = MQTTLimits.maximumPacketSize) {
        self.version = version
        self.maximumPacketSize = min(maximumPacketSize, MQTTLimits.maximumPacketSize)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> MQTTPacket? {
        try decodePacket(&buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> MQTTPacket? {
        try decodePacket(&buffer)
    }

    /// Decodes one packet if complete; typed-throwing twin of ``decode(buffer:)``.
    public func decodePacket(_ buffer: inout ByteBuffer) throws(MQTTProtocolError) -> MQTTPacket? {
        var peek = buffer
        guard let first = peek.readInteger(as: UInt8.self) else { return nil }
        var remaining = 0
        var multiplier = 1
        var lengthBytes = 0
        while true {
            guard let byte = peek.readInteger(as: UInt8.self) else { return nil }
            lengthBytes += 1
            remaining += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 { break }
            if lengthBytes == 4 {
                throw MQTTProtocolError(.malformedRemainingLength, "remaining length uses more than 4 bytes")
            }
            multiplier *= 128
        }
        let total = 1 + lengthBytes + remaining
        // Checked before waiting for the body: a hostile length never makes us buffer beyond the limit.
        guard total <= maximumPacketSize else {
            throw MQTTProtocolError(.packetTooLarge, "packet of \(total) bytes exceeds the maximum packet size of \(maximumPacketSize) bytes")
        }
        guard let body = peek.readSlice(length: remaining) else { return nil }
        buffer.moveReaderIndex(forwardBy: total)
        return try MQTTPacket.parse(first: first, body: body, version: version)
    }
}

extension MQTTPacket {
    /// Parses one packet from its first fixed-header byte and its body (the remaining-length bytes).
    public static func parse(first: UInt8, body: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTProtocolError) -> MQTTPacket {
        var body = body
        let flags = first & 0x0F
        guard let type = MQTTPacketType(rawValue: first >> 4), type != .auth || version == .v5 else {
            throw MQTTProtocolError(.unknownPacketType, "unknown packet type \(first >> 4) for \(version)")
        }
        let requiredFlags: UInt8 = (type == .pubrel || type == .subscribe || type == .unsubscribe) ? 0x02 : 0
        if type != .publish, flags != requiredFlags {
            throw MQTTProtocolError(.invalidFlags, "\(type) has fixed-header flags 0x\(String(flags, radix: 16)), expected 0x\(String(requiredFlags, radix: 16))")
        }
        let v5 = version == .v5
        let packet: MQTTPacket
        switch type {
        case .connect:
            packet = .connect(try parseConnect(&body))
        case .connack:
            let ackFlags = try body.readMQTTByte("CONNACK flags")
            guard ackFlags & 0xFE == 0 else { throw MQTTProtocolError(.invalidFlags, "CONNACK acknowledge flags 0x\(String(ackFlags, radix: 16)) use reserved bits") }
            let code = try body.readMQTTByte("CONNACK reason code")
            let properties = v5 ? try MQTTProperties.read(from: &body, context: .connack, packet: "CONNACK") : MQTTProperties()
            packet = .connack(MQTTConnAckPacket(
                sessionPresent: ackFlags == 1,
                reasonCode: v5 ? MQTTReasonCode(rawValue: code) : .fromMQTT3ConnectReturnCode(code),
                properties: properties))
        case .publish:
            return .publish(try parsePublish(flags: flags, body: &body, v5: v5))
        case .puback, .pubrec, .pubrel, .pubcomp:
            let id = try readPacketIdentifier(&body, type)
            var ack = MQTTAckPacket(packetIdentifier: id)
            if v5, body.readableBytes > 0 {
                ack.reasonCode = MQTTReasonCode(rawValue: try body.readMQTTByte("\(type) reason code"))
                if body.readableBytes > 0 { ack.properties = try MQTTProperties.read(from: &body, context: .ack, packet: "\(type)") }
            }
            switch type {
            case .puback: packet = .puback(ack)
            case .pubrec: packet = .pubrec(ack)
            case .pubrel: packet = .pubrel(ack)
            default: packet = .pubcomp(ack)
            }
        case .subscribe:
            packet = .subscribe(try parseSubscribe(&body, v5: v5))
        case .suback, .unsuback:
            let id = try readPacketIdentifier(&body, type)
            let context: MQTTPropertyIdentifier.Context = type == .suback ? .suback : .unsuback
            let properties = v5 ? try MQTTProperties.read(from: &body, context: context, packet: "\(type)") : MQTTProperties()
            var codes: [MQTTReasonCode] = []
            if v5 || type == .suback {
                guard body.readableBytes > 0 else { throw MQTTProtocolError(.invalidField, "\(type) carries no reason codes") }
                while let raw = body.readInteger(as: UInt8.self) {
                    if !v5, ![0, 1, 2, 0x80].contains(raw) {
                        throw MQTTProtocolError(.invalidField, "SUBACK return code 0x\(String(raw, radix: 16)) is not valid in MQTT 3.1.1")
                    }
                    codes.append(MQTTReasonCode(rawValue: raw))
                }
            }
            let ack = MQTTSubAckPacket(packetIdentifier: id, reasonCodes: codes, properties: properties)
            packet = type == .suback ? .suback(ack) : .unsuback(ack)
        case .unsubscribe:
            let id = try readPacketIdentifier(&body, type)
            let properties = v5 ? try MQTTProperties.read(from: &body, context: .unsubscribe, packet: "UNSUBSCRIBE") : MQTTProperties()
            var filters: [TopicFilter] = []
            while body.readableBytes > 0 { filters.append(try readFilter(&body, "UNSUBSCRIBE")) }
            guard !filters.isEmpty else { throw MQTTProtocolError(.invalidField, "UNSUBSCRIBE lists no topic filter") }
            packet = .unsubscribe(MQTTUnsubscribePacket(packetIdentifier: id, filters: filters, properties: properties))
        case .pingreq: packet = .pingreq
        case .pingresp: packet = .pingresp
        case .disconnect, .auth:
            var reason = MQTTReasonPacket()
            if v5, body.readableBytes > 0 {
                reason.reasonCode = MQTTReasonCode(rawValue: try body.readMQTTByte("\(type) reason code"))
                if body.readableBytes > 0 {
                    reason.properties = try MQTTProperties.read(from: &body, context: type == .auth ? .auth : .disconnect, packet: "\(type)")
                }
            }
            packet = type == .auth ? .auth(reason) : .disconnect(reason)
        }
        guard body.readableBytes == 0 else {
            throw MQTTProtocolError(.trailingBytes, "\(type) has \(body.readableBytes) unexpected trailing bytes")
        }
        return packet
    }

    private static func readPacketIdentifier(_ body: inout ByteBuffer, _ type: MQTTPacketType) throws(MQTTProtocolError) -> UInt16 {
        let id = try body.readMQTTUInt16("\(type) packet identifier")
        guard id != 0 else { throw MQTTProtocolError(.invalidPacketIdentifier, "\(type) has packet identifier 0") }
        return id
    }

    private static func readFilter(_ body: inout ByteBuffer, _ packet: String) throws(MQTTProtocolError) -> TopicFilter {
        let string = try body.readMQTTString("\(packet) topic filter")
        do {
            return try TopicFilter(string)
        } catch {
            throw MQTTProtocolError(.invalidTopicFilter, "\(packet): \(error.description)")
        }
    }

    private static func parseQoS(_ raw: UInt8, _ field: String) throws(MQTTProtocolError) -> QoS {
        guard let qos = QoS(rawValue: raw) else { throw MQTTProtocolError(.invalidQoS, "\(field) is \(raw); only 0, 1 and 2 exist") }
        return qos
    }

    private static func parsePublish(flags: UInt8, body: inout ByteBuffer, v5: Bool) throws(MQTTProtocolError) -> MQTTPublishPacket {
        let qos = try parseQoS((flags >> 1) & 0x03, "PUBLISH QoS")
        let dup = flags & 0x08 != 0
        if dup, qos == .atMostOnce { throw MQTTProtocolError(.invalidFlags, "PUBLISH with QoS 0 has the DUP flag set") }
        let topic = try body.readMQTTString("PUBLISH topic")
        var id: UInt16?
        if qos != .atMostOnce { id = try readPacketIdentifier(&body, .publish) }
        let properties = v5 ? try MQTTProperties.read(from: &body, context: .publish, packet: "PUBLISH") : MQTTProperties()
        // An empty topic is legal only in MQTT 5 when a topic alias names it.
        if !(topic.isEmpty && properties.topicAlias != nil), let failure = TopicName.validationFailure(topic) {
            throw MQTTProtocolError(.invalidTopicName, "PUBLISH \(failure)")
        }
        let payload = body.readSlice(length: body.readableBytes) ?? ByteBuffer()
        return MQTTPublishPacket(topic: topic, payload: payload, qos: qos, retain: flags & 0x01 != 0, dup: dup, packetIdentifier: id, properties: properties)
    }

    private static func parseSubscribe(_ body: inout ByteBuffer, v5: Bool) throws(MQTTProtocolError) -> MQTTSubscribePacket {
        let id = try readPacketIdentifier(&body, .subscribe)
        let properties = v5 ? try MQTTProperties.read(from: &body, context: .subscribe, packet: "SUBSCRIBE") : MQTTProperties()
        var requests: [MQTTSubscriptionRequest] = []
        while body.readableBytes > 0 {
            let filter = try readFilter(&body, "SUBSCRIBE")
            let options = try body.readMQTTByte("SUBSCRIBE options for '\(filter)'")
            let reservedMask: UInt8 = v5 ? 0xC0 : 0xFC
            guard options & reservedMask == 0 else {
                throw MQTTProtocolError(.invalidFlags, "SUBSCRIBE options 0x\(String(options, radix: 16)) for '\(filter)' use reserved bits")
            }
            guard let handling = MQTTRetainHandling(rawValue: (options >> 4) & 0x03) else {
                throw MQTTProtocolError(.invalidField, "SUBSCRIBE retain handling 3 for '\(filter)' is reserved")
            }
            requests.append(MQTTSubscriptionRequest(
                filter, qos: try parseQoS(options & 0x03, "SUBSCRIBE QoS for '\(filter)'"),
                noLocal: options & 0x04 != 0, retainAsPublished: options & 0x08 != 0, retainHandling: handling))
        }
        guard !requests.isEmpty else { throw MQTTProtocolError(.invalidField, "SUBSCRIBE lists no topic filter") }
        return MQTTSubscribePacket(packetIdentifier: id, subscriptions: requests, properties: properties)
    }

    private static func parseConnect(_ body: inout ByteBuffer) throws(MQTTProtocolError) -> MQTTConnectPacket {
        let name = try body.readMQTTString("CONNECT protocol name")
        guard name == "MQTT" else { throw MQTTProtocolError(.invalidField, "CONNECT protocol name is '\(name)', expected 'MQTT'") }
        let level = try body.readMQTTByte("CONNECT protocol level")
        guard let version = MQTTProtocolVersion(rawValue: level) else {
            throw MQTTProtocolError(.invalidField, "CONNECT protocol level \(level) is not supported (4 or 5)")
        }
        let v5 = version == .v5
        let flags = try body.readMQTTByte("CONNECT flags")
        guard flags & 0x01 == 0 else { throw MQTTProtocolError(.invalidFlags, "CONNECT reserved flag is set") }
        let hasWill = flags & 0x04 != 0
        let willQoS = try parseQoS((flags >> 3) & 0x03, "CONNECT Will QoS")
        let willRetain = flags & 0x20 != 0
        if !hasWill, willQoS != .atMostOnce || willRetain {
            throw MQTTProtocolError(.invalidFlags, "CONNECT sets Will QoS or Will retain without the Will flag")
        }
        let hasPassword = flags & 0x40 != 0
        let hasUsername = flags & 0x80 != 0
        if !v5, hasPassword, !hasUsername { throw MQTTProtocolError(.invalidFlags, "CONNECT password flag set without user name flag") }
        let keepAlive = try body.readMQTTUInt16("CONNECT keep alive")
        let properties = v5 ? try MQTTProperties.read(from: &body, context: .connect, packet: "CONNECT") : MQTTProperties()
        let clientID = try body.readMQTTString("CONNECT client identifier")
        var will: MQTTWill?
        if hasWill {
            let willProperties = v5 ? try MQTTProperties.read(from: &body, context: .will, packet: "CONNECT Will") : MQTTProperties()
            let topic = try body.readMQTTString("CONNECT Will topic")
            if let failure = TopicName.validationFailure(topic) { throw MQTTProtocolError(.invalidTopicName, "CONNECT Will \(failure)") }
            let length = Int(try body.readMQTTUInt16("CONNECT Will payload length"))
            guard let payload = body.readSlice(length: length) else {
                throw MQTTProtocolError(.truncatedPacket, "CONNECT Will payload declares \(length) bytes but only \(body.readableBytes) remain")
            }
            will = MQTTWill(topic: topic, payload: payload, qos: willQoS, retain: willRetain, properties: willProperties)
        }
        let username = hasUsername ? try body.readMQTTString("CONNECT user name") : nil
        let password = hasPassword ? try body.readMQTTBinary("CONNECT password") : nil
        return MQTTConnectPacket(
            protocolVersion: version, clientIdentifier: clientID, cleanStart: flags & 0x02 != 0, keepAliveSeconds: keepAlive,
            username: username, password: password, will: will, properties: properties)
    }
}

import NIOCore

extension MQTTPacket {
    /// Encodes the packet for `version` and appends it to `buffer`.
    ///
    /// - Parameter maximumPacketSize: the peer's limit (MQTT 5 CONNACK/CONNECT "Maximum Packet Size");
    ///   nothing is written when the packet would exceed it.
    /// - Throws: ``MQTTProtocolError`` with code ``MQTTProtocolError/Code/packetTooLarge`` when over the limit.
    public func write(version: MQTTProtocolVersion, to buffer: inout ByteBuffer, maximumPacketSize: Int = MQTTLimits.maximumPacketSize) throws(MQTTProtocolError) {
        if case .publish(let publish) = self {
            try Self.write(publish, version: version, to: &buffer, maximumPacketSize: maximumPacketSize)
            return
        }
        let v5 = version == .v5
        var body = ByteBuffer()
        var flags: UInt8 = 0
        switch self {
        case .connect(let connect):
            flags = 0
            Self.writeConnect(connect, to: &body)
        case .connack(let connack):
            body.writeInteger(UInt8(connack.sessionPresent ? 1 : 0))
            body.writeInteger(v5 ? connack.reasonCode.rawValue : connack.reasonCode.mqtt3ConnectReturnCode)
            if v5 { connack.properties.write(to: &body) }
        case .publish:
            return  // written above, without a body buffer
        case .puback(let ack), .pubrec(let ack), .pubcomp(let ack):
            Self.writeAck(ack, v5: v5, to: &body)
        case .pubrel(let ack):
            flags = 0x02
            Self.writeAck(ack, v5: v5, to: &body)
        case .subscribe(let subscribe):
            flags = 0x02
            body.writeInteger(subscribe.packetIdentifier)
            if v5 { subscribe.properties.write(to: &body) }
            for request in subscribe.subscriptions {
                body.writeMQTTString(request.filter.string)
                var options = request.qos.rawValue
                if v5 {
                    options |= (request.noLocal ? 0x04 : 0) | (request.retainAsPublished ? 0x08 : 0) | (request.retainHandling.rawValue << 4)
                }
                body.writeInteger(options)
            }
        case .suback(let ack), .unsuback(let ack):
            body.writeInteger(ack.packetIdentifier)
            if v5 { ack.properties.write(to: &body) }
            if v5 || type == .suback {
                for code in ack.reasonCodes { body.writeInteger(code.rawValue) }
            }
        case .unsubscribe(let unsubscribe):
            flags = 0x02
            body.writeInteger(unsubscribe.packetIdentifier)
            if v5 { unsubscribe.properties.write(to: &body) }
            for filter in unsubscribe.filters { body.writeMQTTString(filter.string) }
        case .pingreq, .pingresp:
            break
        case .disconnect(let reason), .auth(let reason):
            if v5, reason.reasonCode != .success || !reason.properties.isEmpty {
                body.writeInteger(reason.reasonCode.rawValue)
                if !reason.properties.isEmpty { reason.properties.write(to: &body) }
            }
        }
        let remainingLength = body.readableBytes
        try Self.writeFixedHeader(type, flags: flags, remainingLength: remainingLength, to: &buffer, maximumPacketSize: maximumPacketSize)
        buffer.writeImmutableBuffer(body)
    }

    /// Encodes a PUBLISH for `version` and appends it to `buffer`, as ``write(version:to:maximumPacketSize:)`` does
    /// for `.publish(publish)`: the hot path of every forwarded message, so its length is counted up front and the
    /// fields go straight into `buffer` (no body buffer, no copy of the packet into an enum).
    /// - Throws: ``MQTTProtocolError`` `.packetTooLarge` (nothing written) when over `maximumPacketSize`.
    public static func write(
        _ publish: MQTTPublishPacket, version: MQTTProtocolVersion, to buffer: inout ByteBuffer, maximumPacketSize: Int = MQTTLimits.maximumPacketSize
    ) throws(MQTTProtocolError) {
        let v5 = version == .v5
        let propertiesLength = v5 ? publish.properties.encodedLength() : 0
        var remainingLength = 2 + publish.topic.utf8.count + publish.payload.readableBytes
        if publish.qos != .atMostOnce { remainingLength += 2 }
        if v5 { remainingLength += mqttVariableIntSize(propertiesLength) + propertiesLength }
        let flags = (publish.dup ? 0x08 : 0) | (publish.qos.rawValue << 1) | (publish.retain ? 0x01 : 0)
        try writeFixedHeader(.publish, flags: flags, remainingLength: remainingLength, to: &buffer, maximumPacketSize: maximumPacketSize)
        buffer.writeMQTTString(publish.topic)
        if publish.qos != .atMostOnce { buffer.writeInteger(publish.packetIdentifier ?? 0) }
        if v5 {
            buffer.writeMQTTVariableInt(propertiesLength)
            publish.properties.writeBody(to: &buffer)
        }
        buffer.writeImmutableBuffer(publish.payload)
    }

    /// Checks the packet's size against the limits (throwing before anything is written), reserves room for all
    /// of it and writes the fixed header.
    private static func writeFixedHeader(
        _ type: MQTTPacketType, flags: UInt8, remainingLength: Int, to buffer: inout ByteBuffer, maximumPacketSize: Int
    ) throws(MQTTProtocolError) {
        let total = 1 + mqttVariableIntSize(remainingLength) + remainingLength
        guard remainingLength <= MQTTLimits.maximumVariableByteInteger, total <= maximumPacketSize else {
            throw MQTTProtocolError(.packetTooLarge, "\(type) of \(total) bytes exceeds the maximum packet size of \(min(maximumPacketSize, MQTTLimits.maximumPacketSize)) bytes")
        }
        buffer.reserveCapacity(minimumWritableBytes: total)
        buffer.writeInteger(type.rawValue << 4 | flags)
        buffer.writeMQTTVariableInt(remainingLength)
    }

    private static func writeAck(_ ack: MQTTAckPacket, v5: Bool, to body: inout ByteBuffer) {
        body.writeInteger(ack.packetIdentifier)
        // MQTT 5 lets a successful ack without properties stop after the identifier (§3.4.2.1).
        guard v5, ack.reasonCode != .success || !ack.properties.isEmpty else { return }
        body.writeInteger(ack.reasonCode.rawValue)
        if !ack.properties.isEmpty { ack.properties.write(to: &body) }
    }

    private static func writeConnect(_ connect: MQTTConnectPacket, to body: inout ByteBuffer) {
        let v5 = connect.protocolVersion == .v5
        body.writeMQTTString("MQTT")
        body.writeInteger(connect.protocolVersion.rawValue)
        var flags: UInt8 = connect.cleanStart ? 0x02 : 0
        if let will = connect.will {
            flags |= 0x04 | (will.qos.rawValue << 3) | (will.retain ? 0x20 : 0)
        }
        if connect.password != nil { flags |= 0x40 }
        if connect.username != nil { flags |= 0x80 }
        body.writeInteger(flags)
        body.writeInteger(connect.keepAliveSeconds)
        if v5 { connect.properties.write(to: &body) }
        body.writeMQTTString(connect.clientIdentifier)
        if let will = connect.will {
            if v5 { will.properties.write(to: &body) }
            body.writeMQTTString(will.topic)
            body.writeInteger(UInt16(truncatingIfNeeded: will.payload.readableBytes))
            body.writeImmutableBuffer(will.payload)
        }
        if let username = connect.username { body.writeMQTTString(username) }
        if let password = connect.password { body.writeMQTTBinary(password) }
    }
}

import MQTTCore
import NIOCore
import Testing

@Suite("MQTT packet codec")
struct MQTTCodecTests {
    static var fullPublishProperties: MQTTProperties {
        var properties = MQTTProperties()
        properties.payloadFormatIndicator = 1
        properties.messageExpiryInterval = 3600
        properties.contentType = "application/json"
        properties.responseTopic = "reply/here"
        properties.correlationData = [1, 2, 3, 0]
        properties.subscriptionIdentifiers = [7, 268_435_455]
        properties.topicAlias = 3
        properties.userProperties = [MQTTUserProperty("a", "1"), MQTTUserProperty("a", "2"), MQTTUserProperty("ü", "ß")]
        return properties
    }

    static var allPackets: [MQTTPacket] {
        var connectProperties = MQTTProperties()
        connectProperties.sessionExpiryInterval = 604_800
        connectProperties.receiveMaximum = 100
        connectProperties.maximumPacketSize = 1 << 20
        connectProperties.topicAliasMaximum = 10
        connectProperties.requestResponseInformation = 1
        connectProperties.requestProblemInformation = 0
        connectProperties.authenticationMethod = "SCRAM"
        connectProperties.authenticationData = [9, 9]
        connectProperties.userProperties = [MQTTUserProperty("k", "v")]
        var willProperties = MQTTProperties()
        willProperties.willDelayInterval = 5
        willProperties.payloadFormatIndicator = 1
        willProperties.messageExpiryInterval = 10
        willProperties.contentType = "text/plain"
        willProperties.responseTopic = "r"
        willProperties.correlationData = [4]
        willProperties.userProperties = [MQTTUserProperty("w", "x")]
        var connackProperties = MQTTProperties()
        connackProperties.sessionExpiryInterval = 10
        connackProperties.receiveMaximum = 20
        connackProperties.maximumQoS = 1
        connackProperties.retainAvailable = 0
        connackProperties.maximumPacketSize = 4096
        connackProperties.assignedClientIdentifier = "auto-1"
        connackProperties.topicAliasMaximum = 5
        connackProperties.reasonString = "ok"
        connackProperties.userProperties = [MQTTUserProperty("u", "v")]
        connackProperties.wildcardSubscriptionAvailable = 1
        connackProperties.subscriptionIdentifiersAvailable = 0
        connackProperties.sharedSubscriptionAvailable = 1
        connackProperties.serverKeepAlive = 30
        connackProperties.responseInformation = "resp"
        connackProperties.serverReference = "other:1883"
        connackProperties.authenticationMethod = "SCRAM"
        connackProperties.authenticationData = [1]
        var reasonProperties = MQTTProperties()
        reasonProperties.reasonString = "because"
        reasonProperties.userProperties = [MQTTUserProperty("x", "y")]
        var disconnectProperties = reasonProperties
        disconnectProperties.sessionExpiryInterval = 0
        disconnectProperties.serverReference = "elsewhere"
        var subscribeProperties = MQTTProperties()
        subscribeProperties.subscriptionIdentifiers = [42]
        subscribeProperties.userProperties = [MQTTUserProperty("s", "t")]
        var authProperties = reasonProperties
        authProperties.authenticationMethod = "SCRAM"
        authProperties.authenticationData = [7, 7]
        let will = MQTTWill(topic: "will/topic", payload: ByteBuffer(string: "bye"), qos: .atLeastOnce, retain: true, properties: willProperties)
        return [
            .connect(MQTTConnectPacket(protocolVersion: .v5, clientIdentifier: "client-1", cleanStart: true, keepAliveSeconds: 60,
                                       username: "user", password: [0, 1, 2, 255], will: will, properties: connectProperties)),
            .connect(MQTTConnectPacket(protocolVersion: .v5, clientIdentifier: "", cleanStart: false, keepAliveSeconds: 0)),
            .connack(MQTTConnAckPacket(sessionPresent: true, reasonCode: .success, properties: connackProperties)),
            .connack(MQTTConnAckPacket(sessionPresent: false, reasonCode: .badUserNameOrPassword)),
            .publish(MQTTPublishPacket(topic: "a/b", payload: ByteBuffer(string: "hello"), qos: .atMostOnce, retain: true)),
            .publish(MQTTPublishPacket(topic: "a/b", payload: ByteBuffer(), qos: .atLeastOnce, dup: true, packetIdentifier: 1, properties: fullPublishProperties)),
            .publish(MQTTPublishPacket(topic: "x", payload: ByteBuffer(repeating: 0xAB, count: 70_000), qos: .exactlyOnce, packetIdentifier: 65_535)),
            .puback(MQTTAckPacket(packetIdentifier: 1)),
            .puback(MQTTAckPacket(packetIdentifier: 2, reasonCode: .noMatchingSubscribers)),
            .puback(MQTTAckPacket(packetIdentifier: 3, reasonCode: .quotaExceeded, properties: reasonProperties)),
            .pubrec(MQTTAckPacket(packetIdentifier: 4)),
            .pubrec(MQTTAckPacket(packetIdentifier: 4, reasonCode: .notAuthorized, properties: reasonProperties)),
            .pubrel(MQTTAckPacket(packetIdentifier: 5)),
            .pubrel(MQTTAckPacket(packetIdentifier: 5, reasonCode: .packetIdentifierNotFound)),
            .pubcomp(MQTTAckPacket(packetIdentifier: 6)),
            .pubcomp(MQTTAckPacket(packetIdentifier: 6, reasonCode: .packetIdentifierNotFound, properties: reasonProperties)),
            .subscribe(MQTTSubscribePacket(packetIdentifier: 7, subscriptions: [
                MQTTSubscriptionRequest("a/+/c", qos: .atMostOnce),
                MQTTSubscriptionRequest("#", qos: .atLeastOnce, noLocal: true, retainAsPublished: true, retainHandling: .doNotSend),
                MQTTSubscriptionRequest("$share/g/x/#", qos: .exactlyOnce, retainHandling: .sendOnSubscribeIfNew),
            ], properties: subscribeProperties)),
            .suback(MQTTSubAckPacket(packetIdentifier: 7, reasonCodes: [.success, .grantedQoS1, .grantedQoS2, .notAuthorized], properties: reasonProperties)),
            .unsubscribe(MQTTUnsubscribePacket(packetIdentifier: 8, filters: ["a/b", "c/#"], properties: MQTTProperties())),
            .unsuback(MQTTSubAckPacket(packetIdentifier: 8, reasonCodes: [.success, .noSubscriptionExisted], properties: reasonProperties)),
            .pingreq,
            .pingresp,
            .disconnect(MQTTReasonPacket()),
            .disconnect(MQTTReasonPacket(reasonCode: .sessionTakenOver, properties: disconnectProperties)),
            .auth(MQTTReasonPacket(reasonCode: .continueAuthentication, properties: authProperties)),
        ]
    }

    @Test("every MQTT 5 packet round-trips", arguments: allPackets)
    func roundTripV5(packet: MQTTPacket) throws {
        #expect(try roundTrip(packet, version: .v5) == packet)
    }

    /// The MQTT 3.1.1 form of a packet: no properties, no MQTT 5 options.
    static func mqtt3Form(_ packet: MQTTPacket) -> MQTTPacket? {
        switch packet {
        case .connect(var connect):
            connect.protocolVersion = .v3_1_1
            connect.properties = MQTTProperties()
            connect.will?.properties = MQTTProperties()
            return .connect(connect)
        case .connack(var connack):
            connack.properties = MQTTProperties()
            return .connack(connack)
        case .publish(var publish):
            publish.properties = MQTTProperties()
            return .publish(publish)
        case .puback(let ack): return .puback(MQTTAckPacket(packetIdentifier: ack.packetIdentifier))
        case .pubrec(let ack): return .pubrec(MQTTAckPacket(packetIdentifier: ack.packetIdentifier))
        case .pubrel(let ack): return .pubrel(MQTTAckPacket(packetIdentifier: ack.packetIdentifier))
        case .pubcomp(let ack): return .pubcomp(MQTTAckPacket(packetIdentifier: ack.packetIdentifier))
        case .subscribe(let subscribe):
            return .subscribe(MQTTSubscribePacket(packetIdentifier: subscribe.packetIdentifier, subscriptions: subscribe.subscriptions.map {
                MQTTSubscriptionRequest($0.filter, qos: $0.qos)
            }))
        case .suback(let ack):
            return .suback(MQTTSubAckPacket(packetIdentifier: ack.packetIdentifier, reasonCodes: ack.reasonCodes.map { $0.isFailure ? .unspecifiedError : $0 }))
        case .unsubscribe(var unsubscribe):
            unsubscribe.properties = MQTTProperties()
            return .unsubscribe(unsubscribe)
        case .unsuback(let ack): return .unsuback(MQTTSubAckPacket(packetIdentifier: ack.packetIdentifier, reasonCodes: []))
        case .pingreq, .pingresp: return packet
        case .disconnect: return .disconnect(MQTTReasonPacket())
        case .auth: return nil
        }
    }

    @Test("every MQTT 3.1.1 packet round-trips", arguments: allPackets.compactMap(mqtt3Form))
    func roundTripV3(packet: MQTTPacket) throws {
        #expect(try roundTrip(packet, version: .v3_1_1) == packet)
    }

    @Test("CONNACK return codes of MQTT 3.1.1 map onto reason codes", arguments: [
        (UInt8(0), MQTTReasonCode.success), (1, .unsupportedProtocolVersion), (2, .clientIdentifierNotValid),
        (3, .serverUnavailable), (4, .badUserNameOrPassword), (5, .notAuthorized), (6, .unspecifiedError),
    ])
    func connackV3Codes(raw: UInt8, expected: MQTTReasonCode) throws {
        #expect(try decodeBytes(frame(0x20, [0, raw]), version: .v3_1_1) == .connack(MQTTConnAckPacket(sessionPresent: false, reasonCode: expected)))
        #expect(!expected.message.isEmpty)
    }

    @Test("known bytes: MQTT 3.1.1 CONNECT as paho writes it")
    func connectBytes() throws {
        let packet = MQTTPacket.connect(MQTTConnectPacket(protocolVersion: .v3_1_1, clientIdentifier: "c", cleanStart: true, keepAliveSeconds: 60))
        var buffer = ByteBuffer()
        try packet.write(version: .v3_1_1, to: &buffer)
        #expect(Array(buffer.readableBytesView) == [0x10, 13, 0, 4, 77, 81, 84, 84, 4, 0x02, 0, 60, 0, 1, 99])
    }

    @Test("decoder waits for complete packets when fed byte by byte and in chunks")
    func streaming() throws {
        var all = ByteBuffer()
        for packet in Self.allPackets { try packet.write(version: .v5, to: &all) }
        for chunkSize in [1, 2, 3, 7, 64, 1000] {
            var decoder = MQTTPacketDecoder(version: .v5)
            var pending = ByteBuffer()
            var decoded: [MQTTPacket] = []
            var input = all
            while input.readableBytes > 0 {
                var chunk = input.readSlice(length: min(chunkSize, input.readableBytes))!
                pending.writeBuffer(&chunk)
                while let packet = try decoder.decode(buffer: &pending) { decoded.append(packet) }
            }
            #expect(decoded == Self.allPackets, "chunk size \(chunkSize)")
            #expect(pending.readableBytes == 0)
        }
    }

    @Test("variable byte integer boundaries", arguments: [0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152])
    func remainingLengthBoundaries(size: Int) throws {
        // A PUBLISH whose remaining length is exactly `size + 3` exercises 1- to 4-byte length encodings.
        let packet = MQTTPacket.publish(MQTTPublishPacket(topic: "t", payload: ByteBuffer(repeating: 1, count: size)))
        #expect(try roundTrip(packet, version: .v3_1_1) == packet)
    }

    @Test("encoder refuses packets over the peer's maximum packet size")
    func encodeTooLarge() {
        let packet = MQTTPacket.publish(MQTTPublishPacket(topic: "t", payload: ByteBuffer(repeating: 1, count: 100)))
        var buffer = ByteBuffer()
        #expect(throws: MQTTProtocolError.self) { try packet.write(version: .v5, to: &buffer, maximumPacketSize: 50) }
        #expect(buffer.readableBytes == 0)
        #expect((try? packet.write(version: .v5, to: &buffer, maximumPacketSize: 106)) != nil)
    }
}

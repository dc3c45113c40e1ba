import GreengrassTestSupport
import MQTTCore
import NIOCore
import Testing

@Suite("MQTT decoder rejects malformed input with typed errors")
struct MQTTMalformedInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var version: MQTTProtocolVersion = .v5
        var maximumPacketSize = MQTTLimits.maximumPacketSize
        var expected: MQTTProtocolError.Code
        var testDescription: String { name }
    }

    static let topicAB = mqttString("a/b")

    /// A v5 PUBLISH QoS 0 on "t" with the given property block (length-prefixed here).
    static func publishWithProperties(_ properties: [UInt8]) -> [UInt8] {
        frame(0x30, mqttString("t") + [UInt8(properties.count)] + properties)
    }

    static let cases: [Case] = [
        Case(name: "remaining length over 4 bytes", bytes: [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], expected: .malformedRemainingLength),
        Case(name: "packet over the maximum packet size is refused before its body arrives",
             bytes: [0x30, 0xFF, 0xFF, 0x03], maximumPacketSize: 1024, expected: .packetTooLarge),
        Case(name: "packet type 0", bytes: frame(0x00, []), expected: .unknownPacketType),
        Case(name: "AUTH under MQTT 3.1.1", bytes: frame(0xF0, []), version: .v3_1_1, expected: .unknownPacketType),
        Case(name: "PINGREQ with flags", bytes: frame(0xC1, []), expected: .invalidFlags),
        Case(name: "SUBSCRIBE without the 0b0010 flags", bytes: frame(0x80, [0, 1] + [0] + mqttString("a") + [0]), expected: .invalidFlags),
        Case(name: "PUBREL without the 0b0010 flags", bytes: frame(0x60, [0, 1]), expected: .invalidFlags),
        Case(name: "PUBLISH QoS 3", bytes: frame(0x36, topicAB + [0, 1, 0]), expected: .invalidQoS),
        Case(name: "PUBLISH QoS 0 with DUP", bytes: frame(0x38, topicAB + [0]), expected: .invalidFlags),
        Case(name: "PUBLISH topic with '+'", bytes: frame(0x30, mqttString("a/+") + [0]), expected: .invalidTopicName),
        Case(name: "PUBLISH topic with '#'", bytes: frame(0x30, mqttString("a/#") + [0]), expected: .invalidTopicName),
        Case(name: "PUBLISH empty topic without alias", bytes: frame(0x30, mqttString("") + [0]), expected: .invalidTopicName),
        Case(name: "PUBLISH topic with invalid UTF-8", bytes: frame(0x30, mqttRawString([0x61, 0xC3, 0x28]) + [0]), expected: .invalidUTF8),
        Case(name: "PUBLISH topic with U+0000", bytes: frame(0x30, mqttRawString([0x61, 0x00]) + [0]), expected: .invalidUTF8),
        Case(name: "PUBLISH topic longer than the packet", bytes: frame(0x30, [0, 50, 0x61]), expected: .truncatedPacket),
        Case(name: "PUBLISH QoS 1 missing packet identifier", bytes: frame(0x32, mqttString("t") + [0]), expected: .truncatedPacket),
        Case(name: "PUBLISH QoS 1 with packet identifier 0", bytes: frame(0x32, mqttString("t") + [0, 0, 0]), expected: .invalidPacketIdentifier),
        Case(name: "property length beyond the packet", bytes: frame(0x30, mqttString("t") + [9, 1]), expected: .truncatedPacket),
        Case(name: "unknown property identifier", bytes: publishWithProperties([0x7F, 0]), expected: .unknownProperty),
        Case(name: "payload format indicator repeated", bytes: publishWithProperties([0x01, 1, 0x01, 0]), expected: .duplicateProperty),
        Case(name: "content type repeated", bytes: publishWithProperties([0x03] + mqttString("a") + [0x03] + mqttString("b")), expected: .duplicateProperty),
        Case(name: "topic alias repeated", bytes: publishWithProperties([0x23, 0, 1, 0x23, 0, 2]), expected: .duplicateProperty),
        Case(name: "session expiry not allowed in PUBLISH", bytes: publishWithProperties([0x11, 0, 0, 0, 1]), expected: .propertyNotAllowed),
        Case(name: "will delay not allowed in PUBLISH", bytes: publishWithProperties([0x18, 0, 0, 0, 1]), expected: .propertyNotAllowed),
        Case(name: "payload format indicator 2", bytes: publishWithProperties([0x01, 2]), expected: .invalidPropertyValue),
        Case(name: "topic alias 0", bytes: publishWithProperties([0x23, 0, 0]), expected: .invalidPropertyValue),
        Case(name: "subscription identifier 0", bytes: publishWithProperties([0x0B, 0]), expected: .invalidPropertyValue),
        Case(name: "response topic with wildcard", bytes: publishWithProperties([0x08] + mqttString("r/#")), expected: .invalidTopicName),
        Case(name: "truncated user property", bytes: publishWithProperties([0x26] + mqttString("k")), expected: .truncatedPacket),
        Case(name: "CONNACK receive maximum 0", bytes: frame(0x20, [0, 0, 3, 0x21, 0, 0]), expected: .invalidPropertyValue),
        Case(name: "CONNACK maximum packet size 0", bytes: frame(0x20, [0, 0, 5, 0x27, 0, 0, 0, 0]), expected: .invalidPropertyValue),
        Case(name: "CONNACK maximum QoS repeated", bytes: frame(0x20, [0, 0, 4, 0x24, 1, 0x24, 0]), expected: .duplicateProperty),
        Case(name: "CONNACK with reserved acknowledge flags", bytes: frame(0x20, [2, 0, 0]), expected: .invalidFlags),
        Case(name: "CONNACK truncated", bytes: frame(0x20, [0]), expected: .truncatedPacket),
        Case(name: "CONNACK with trailing bytes (3.1.1)", bytes: frame(0x20, [0, 0, 9]), version: .v3_1_1, expected: .trailingBytes),
        Case(name: "PUBACK packet identifier 0", bytes: frame(0x40, [0, 0]), expected: .invalidPacketIdentifier),
        Case(name: "PUBACK truncated", bytes: frame(0x40, [0]), expected: .truncatedPacket),
        Case(name: "PUBACK with a property not allowed in acks", bytes: frame(0x40, [0, 1, 0, 2, 0x01, 1]), expected: .propertyNotAllowed),
        Case(name: "PUBACK reason string repeated", bytes: frame(0x40, [0, 1, 0, 8] + [0x1F] + mqttString("a") + [0x1F] + mqttString("b")), expected: .duplicateProperty),
        Case(name: "PUBACK with trailing bytes (3.1.1)", bytes: frame(0x40, [0, 1, 0]), version: .v3_1_1, expected: .trailingBytes),
        Case(name: "SUBACK without codes", bytes: frame(0x90, [0, 1, 0]), expected: .invalidField),
        Case(name: "SUBACK code 3 under 3.1.1", bytes: frame(0x90, [0, 1, 3]), version: .v3_1_1, expected: .invalidField),
        Case(name: "SUBSCRIBE with no filters", bytes: frame(0x82, [0, 1, 0]), expected: .invalidField),
        Case(name: "SUBSCRIBE filter with misplaced '#'", bytes: frame(0x82, [0, 1, 0] + mqttString("a/#/b") + [1]), expected: .invalidTopicFilter),
        Case(name: "SUBSCRIBE filter with partial '+'", bytes: frame(0x82, [0, 1, 0] + mqttString("a+") + [1]), expected: .invalidTopicFilter),
        Case(name: "SUBSCRIBE reserved option bits", bytes: frame(0x82, [0, 1, 0] + mqttString("a") + [0xC1]), expected: .invalidFlags),
        Case(name: "SUBSCRIBE retain handling 3", bytes: frame(0x82, [0, 1, 0] + mqttString("a") + [0x30]), expected: .invalidField),
        Case(name: "SUBSCRIBE QoS 3", bytes: frame(0x82, [0, 1, 0] + mqttString("a") + [3]), expected: .invalidQoS),
        Case(name: "SUBSCRIBE MQTT 5 option bits under 3.1.1", bytes: frame(0x82, [0, 1] + mqttString("a") + [0x04]), version: .v3_1_1, expected: .invalidFlags),
        Case(name: "SUBSCRIBE two subscription identifiers", bytes: frame(0x82, [0, 1, 4, 0x0B, 1, 0x0B, 2] + mqttString("a") + [0]), expected: .duplicateProperty),
        Case(name: "UNSUBSCRIBE with no filters", bytes: frame(0xA2, [0, 1, 0]), expected: .invalidField),
        Case(name: "UNSUBSCRIBE with a property other than user property", bytes: frame(0xA2, [0, 1, 2, 0x01, 1] + mqttString("a")), expected: .propertyNotAllowed),
        Case(name: "PINGRESP with a body", bytes: frame(0xD0, [0]), expected: .trailingBytes),
        Case(name: "DISCONNECT with a body under 3.1.1", bytes: frame(0xE0, [0]), version: .v3_1_1, expected: .trailingBytes),
        Case(name: "DISCONNECT property not allowed", bytes: frame(0xE0, [0x8E, 2, 0x24, 1]), expected: .propertyNotAllowed),
        Case(name: "CONNECT with wrong protocol name", bytes: frame(0x10, mqttString("MQIsdp") + [3, 2, 0, 60] + mqttString("c")), expected: .invalidField),
        Case(name: "CONNECT with protocol level 6", bytes: frame(0x10, mqttString("MQTT") + [6, 2, 0, 60] + mqttString("c")), expected: .invalidField),
        Case(name: "CONNECT with the reserved flag", bytes: frame(0x10, mqttString("MQTT") + [4, 3, 0, 60] + mqttString("c")), expected: .invalidFlags),
        Case(name: "CONNECT Will QoS without Will flag", bytes: frame(0x10, mqttString("MQTT") + [4, 0x0A, 0, 60] + mqttString("c")), expected: .invalidFlags),
        Case(name: "CONNECT password without user name (3.1.1)", bytes: frame(0x10, mqttString("MQTT") + [4, 0x42, 0, 60] + mqttString("c") + mqttString("p")), expected: .invalidFlags),
        Case(name: "CONNECT Will topic with wildcard", bytes: frame(0x10, mqttString("MQTT") + [4, 0x06, 0, 60] + mqttString("c") + mqttString("w/#") + [0, 0]), expected: .invalidTopicName),
        Case(name: "CONNECT Will payload truncated", bytes: frame(0x10, mqttString("MQTT") + [4, 0x06, 0, 60] + mqttString("c") + mqttString("w") + [0, 9, 1]), expected: .truncatedPacket),
        Case(name: "CONNECT will delay outside the Will block", bytes: frame(0x10, mqttString("MQTT") + [5, 2, 0, 60, 5, 0x18, 0, 0, 0, 1] + mqttString("c")), expected: .propertyNotAllowed),
    ]

    @Test("malformed packet", arguments: cases)
    func malformed(_ testCase: Case) {
        #expect(decodeErrorCode(testCase.bytes, version: testCase.version, maximumPacketSize: testCase.maximumPacketSize) == testCase.expected)
    }

    @Test("every error names a reason code to send in DISCONNECT", arguments: cases)
    func errorsHaveReasonCodes(_ testCase: Case) {
        #expect(testCase.expected.reasonCode.isFailure)
    }

    @Test("an empty topic with a topic alias is accepted in MQTT 5")
    func emptyTopicWithAlias() throws {
        let packet = try decodeBytes(Self.publishWithProperties([0x23, 0, 1]).replacingTopic())
        guard case .publish(let publish) = packet else { Issue.record("not a PUBLISH"); return }
        #expect(publish.topic.isEmpty)
        #expect(publish.properties.topicAlias == 1)
    }

    @Test("incomplete input is not an error: the decoder waits")
    func incomplete() throws {
        let full = frame(0x30, mqttString("a/b") + [0] + Array("payload".utf8))
        for length in 0..<full.count {
            #expect(try decodeBytes(Array(full[0..<length])) == nil, "prefix \(length)")
        }
        #expect(try decodeBytes(full) != nil)
    }

    @Test("random garbage never crashes the decoder and never over-reads")
    func fuzz() {
        var generator = SplitMix64(state: 0x5EED)
        var decoded = 0
        var rejected = 0
        for _ in 0..<20_000 {
            let count = Int(generator.next() % 48)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Bias towards plausible fixed headers so the deeper parsers get exercised.
            if !bytes.isEmpty { bytes[0] = UInt8(truncatingIfNeeded: generator.next() % 16) << 4 | (bytes[0] & 0x0F) }
            if bytes.count > 1 { bytes[1] = UInt8(count - 2) & 0x7F }
            for version in [MQTTProtocolVersion.v3_1_1, .v5] {
                var buffer = ByteBuffer(bytes: bytes)
                do {
                    if try MQTTPacketDecoder(version: version, maximumPacketSize: 64).decodePacket(&buffer) != nil { decoded += 1 }
                } catch {
                    rejected += 1
                }
                #expect(buffer.readableBytes <= bytes.count)
            }
        }
        #expect(decoded > 0)
        #expect(rejected > 0)
    }
}

extension Array where Element == UInt8 {
    /// Rewrites a `publishWithProperties` frame (topic "t") to have an empty topic.
    func replacingTopic() -> [UInt8] {
        // [0x30, len, 0, 1, 't', props...] -> [0x30, len-1, 0, 0, props...]
        var bytes = self
        bytes.remove(at: 4)
        bytes[1] -= 1
        bytes[3] = 0
        return bytes
    }
}

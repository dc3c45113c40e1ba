import NIOCore
import Testing
@testable import MQTTCore

/// The PUBLISH hot path: its length is counted up front and its fields written straight into the output, so the
/// counting must agree with the writing for every property, and the bytes must be the protocol's.
@Suite("PUBLISH encoding and property lengths")
struct MQTTPublishEncodingTests {
    /// Every property set once (and the repeatable ones twice), with multi-byte UTF-8 and variable-length integers.
    static var everyProperty: MQTTProperties {
        var properties = MQTTCodecTests.fullPublishProperties
        properties.sessionExpiryInterval = 1
        properties.assignedClientIdentifier = "client-ü"
        properties.serverKeepAlive = 2
        properties.authenticationMethod = "SCRAM"
        properties.authenticationData = [0, 255]
        properties.requestProblemInformation = 1
        properties.willDelayInterval = 3
        properties.requestResponseInformation = 0
        properties.responseInformation = "info"
        properties.serverReference = "other"
        properties.reasonString = "why"
        properties.receiveMaximum = 4
        properties.topicAliasMaximum = 5
        properties.maximumQoS = 1
        properties.retainAvailable = 0
        properties.maximumPacketSize = 6
        properties.wildcardSubscriptionAvailable = 1
        properties.subscriptionIdentifiersAvailable = 0
        properties.sharedSubscriptionAvailable = 1
        properties.subscriptionIdentifiers = [1, 128, 16_384, 2_097_152]
        return properties
    }

    /// One property set at a time, through every stored property, so none is left out of the count or of `isEmpty`.
    static var oneEach: [MQTTProperties] {
        let full = everyProperty
        let keyPaths: [PartialKeyPath<MQTTProperties>] = [
            \.payloadFormatIndicator, \.messageExpiryInterval, \.contentType, \.responseTopic, \.correlationData,
            \.subscriptionIdentifiers, \.sessionExpiryInterval, \.assignedClientIdentifier, \.serverKeepAlive,
            \.authenticationMethod, \.authenticationData, \.requestProblemInformation, \.willDelayInterval,
            \.requestResponseInformation, \.responseInformation, \.serverReference, \.reasonString, \.receiveMaximum,
            \.topicAliasMaximum, \.topicAlias, \.maximumQoS, \.retainAvailable, \.userProperties, \.maximumPacketSize,
            \.wildcardSubscriptionAvailable, \.subscriptionIdentifiersAvailable, \.sharedSubscriptionAvailable,
        ]
        return keyPaths.map { keyPath in
            var properties = MQTTProperties()
            func copy<Value>(_ path: WritableKeyPath<MQTTProperties, Value>) { properties[keyPath: path] = full[keyPath: path] }
            switch keyPath {
            case let path as WritableKeyPath<MQTTProperties, UInt8?>: copy(path)
            case let path as WritableKeyPath<MQTTProperties, UInt16?>: copy(path)
            case let path as WritableKeyPath<MQTTProperties, UInt32?>: copy(path)
            case let path as WritableKeyPath<MQTTProperties, String?>: copy(path)
            case let path as WritableKeyPath<MQTTProperties, [UInt8]?>: copy(path)
            case let path as WritableKeyPath<MQTTProperties, [Int]>: copy(path)
            case let path as WritableKeyPath<MQTTProperties, [MQTTUserProperty]>: copy(path)
            default: Issue.record("unexpected property type at \(keyPath)")
            }
            return properties
        }
    }

    @Test("the counted property length is the written length, for each property alone and all together")
    func countedLengthMatchesWritten() {
        for properties in Self.oneEach + [Self.everyProperty, MQTTProperties()] {
            var written = ByteBuffer()
            properties.writeBody(to: &written)
            #expect(properties.encodedLength() == written.readableBytes, "\(properties)")
        }
    }

    @Test("isEmpty is false as soon as any one property is set")
    func isEmptyPerProperty() {
        #expect(MQTTProperties().isEmpty)
        let oneEach = Self.oneEach
        #expect(oneEach.count == 27)
        for properties in oneEach { #expect(!properties.isEmpty, "\(properties)") }
    }

    @Test("PUBLISH known bytes: MQTT 5 QoS 0 with a topic alias, MQTT 3.1.1 QoS 1 retained")
    func knownBytes() throws {
        var properties = MQTTProperties()
        properties.topicAlias = 2
        var buffer = ByteBuffer(bytes: [0xEE])  // appended after what is already there
        try MQTTPacket.write(MQTTPublishPacket(topic: "", payload: ByteBuffer(string: "hi"), properties: properties), version: .v5, to: &buffer)
        #expect(Array(buffer.readableBytesView) == [0xEE, 0x30, 0x08, 0x00, 0x00, 0x03, 0x23, 0x00, 0x02, UInt8(ascii: "h"), UInt8(ascii: "i")])

        buffer.clear()
        let qos1 = MQTTPublishPacket(topic: "a/b", payload: ByteBuffer(string: "x"), qos: .atLeastOnce, retain: true, dup: true, packetIdentifier: 0x0102)
        try MQTTPacket.write(qos1, version: .v3_1_1, to: &buffer)
        #expect(Array(buffer.readableBytesView) == [0x3B, 0x08, 0x00, 0x03, UInt8(ascii: "a"), UInt8(ascii: "/"), UInt8(ascii: "b"), 0x01, 0x02, UInt8(ascii: "x")])
    }

    @Test("a PUBLISH written directly decodes to itself, with each property PUBLISH allows", arguments: [MQTTProtocolVersion.v3_1_1, .v5])
    func directRoundTrip(version: MQTTProtocolVersion) throws {
        let allowed = Self.oneEach.filter { properties in
            var block = ByteBuffer()
            properties.writeBody(to: &block)
            let identifier = block.readInteger(as: UInt8.self).flatMap(MQTTPropertyIdentifier.init(rawValue:))
            return identifier?.allowedContexts.contains(.publish) == true
        }
        #expect(allowed.count == 8)
        for properties in allowed + [MQTTCodecTests.fullPublishProperties] {
            let publish = MQTTPublishPacket(topic: "t/ü", payload: ByteBuffer(string: "payload"), qos: .exactlyOnce, packetIdentifier: 9, properties: properties)
            var buffer = ByteBuffer()
            try MQTTPacket.write(publish, version: version, to: &buffer)
            var decoder = MQTTPacketDecoder(version: version, maximumPacketSize: 1 << 20)
            var expected = publish
            if version == .v3_1_1 { expected.properties = MQTTProperties() }
            #expect(try decoder.decode(buffer: &buffer) == .publish(expected))
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("a PUBLISH over the maximum packet size writes nothing")
    func directTooLarge() {
        var properties = MQTTProperties()
        properties.contentType = String(repeating: "c", count: 40)
        let publish = MQTTPublishPacket(topic: "t", payload: ByteBuffer(repeating: 1, count: 10), properties: properties)
        var buffer = ByteBuffer(string: "kept")
        // 1 + 1 + (3 + 1 + 43 + 10) = 59 bytes.
        #expect(throws: MQTTProtocolError.self) { try MQTTPacket.write(publish, version: .v5, to: &buffer, maximumPacketSize: 58) }
        #expect(String(buffer: buffer) == "kept")
        #expect((try? MQTTPacket.write(publish, version: .v5, to: &buffer, maximumPacketSize: 59)) != nil)
    }
}

@Suite("Outbound topic aliases")
struct MQTTOutboundTopicAliasesTests {
    @Test("the first PUBLISH on a topic defines its alias, later ones send only the alias, until the maximum is used up")
    func definesThenUses() {
        var aliases = MQTTOutboundTopicAliases(maximum: 2)
        var first = MQTTPublishPacket(topic: "a", payload: ByteBuffer())
        aliases.apply(to: &first)
        #expect(first.topic == "a" && first.properties.topicAlias == 1)
        var again = MQTTPublishPacket(topic: "a", payload: ByteBuffer())
        aliases.apply(to: &again)
        #expect(again.topic.isEmpty && again.properties.topicAlias == 1)
        var second = MQTTPublishPacket(topic: "b", payload: ByteBuffer())
        aliases.apply(to: &second)
        #expect(second.topic == "b" && second.properties.topicAlias == 2)
        var third = MQTTPublishPacket(topic: "c", payload: ByteBuffer())
        aliases.apply(to: &third)
        #expect(third.topic == "c" && third.properties.topicAlias == nil, "alias space exhausted")
    }

    @Test("no aliases when the broker allows none, and a caller's own alias is left alone")
    func noneOrCallers() {
        var none = MQTTOutboundTopicAliases()
        var publish = MQTTPublishPacket(topic: "a", payload: ByteBuffer())
        none.apply(to: &publish)
        #expect(publish == MQTTPublishPacket(topic: "a", payload: ByteBuffer()))

        var aliases = MQTTOutboundTopicAliases(maximum: 5)
        var properties = MQTTProperties()
        properties.topicAlias = 4
        var own = MQTTPublishPacket(topic: "a", payload: ByteBuffer(), properties: properties)
        aliases.apply(to: &own)
        #expect(own.topic == "a" && own.properties.topicAlias == 4)
        var next = MQTTPublishPacket(topic: "a", payload: ByteBuffer())
        aliases.apply(to: &next)
        #expect(next.properties.topicAlias == 1, "the caller's alias defined nothing")
    }

    @Test("a message with properties of its own keeps them and gains the alias; one without gets exactly the alias")
    func ownPropertiesKept() {
        var aliases = MQTTOutboundTopicAliases(maximum: 3)
        var plain = MQTTPublishPacket(topic: "a", payload: ByteBuffer())
        aliases.apply(to: &plain)
        var onlyAlias = MQTTProperties()
        onlyAlias.topicAlias = 1
        #expect(plain.properties == onlyAlias)

        var properties = MQTTProperties()
        properties.userProperties = [MQTTUserProperty("k", "v")]
        properties.contentType = "text/plain"
        var rich = MQTTPublishPacket(topic: "a", payload: ByteBuffer(), properties: properties)
        aliases.apply(to: &rich)
        var expected = properties
        expected.topicAlias = 1
        #expect(rich.topic.isEmpty && rich.properties == expected)
        var again = MQTTPublishPacket(topic: "a", payload: ByteBuffer())
        aliases.apply(to: &again)
        #expect(again.properties == onlyAlias, "the shared alias-only properties were not changed by the rich message")
    }

}

import MQTTCore
import NIOCore
import Testing
@testable import MQTTClient

/// The client's I/O shell against a broker scripted by the test.
@Suite("MQTTClient against a scripted broker", .serialized)
struct ScriptedBrokerTests {
    static func config(_ broker: ScriptedBroker, id: String = "scripted", version: MQTTProtocolVersion = .v5) -> MQTTClientConfiguration {
        MQTTClientConfiguration(
            host: "127.0.0.1", port: broker.port, protocolVersion: version, clientIdentifier: id, cleanStart: true, keepAliveSeconds: 30,
            connectTimeout: .seconds(5), reconnectBackoff: MQTTReconnectBackoff(minimum: .seconds(20), maximum: .seconds(20)))
    }

    @Test("DISCONNECT 0x8E (session taken over) surfaces as a typed error")
    func sessionTakenOver() async throws {
        let broker = try await ScriptedBroker.start()
        try await withClient(Self.config(broker), waitForConnection: false) { _, recorder in
            try await broker.serve { _, connection in
                try await connection.accept()
                try await recorder.waitForConnections(1)
                var properties = MQTTProperties()
                properties.reasonString = "another client connected with your id"
                try await connection.send(.disconnect(MQTTReasonPacket(reasonCode: .sessionTakenOver, properties: properties)))
                _ = try await connection.read()
            }
            try await eventually("the disconnect event") { !recorder.errors.isEmpty }
            let error = recorder.errors[0]
            #expect(error.code == .serverDisconnected)
            #expect(error.reasonCode == .sessionTakenOver)
            #expect(error.message.contains("another client connected with your id"))
        }
    }

    @Test("CONNACK refusal carries the reason code and reason string")
    func refused() async throws {
        let broker = try await ScriptedBroker.start()
        try await withClient(Self.config(broker), waitForConnection: false) { _, recorder in
            try await broker.serve { _, connection in
                _ = try await connection.read()
                var properties = MQTTProperties()
                properties.reasonString = "policy forbids client/scripted"
                try await connection.send(.connack(MQTTConnAckPacket(sessionPresent: false, reasonCode: .notAuthorized, properties: properties)))
                _ = try await connection.read()
            }
            try await eventually("the refusal") { !recorder.errors.isEmpty }
            #expect(recorder.errors[0].code == .connectionRefused)
            #expect(recorder.errors[0].reasonCode == .notAuthorized)
            #expect(recorder.errors[0].message.contains("policy forbids"))
        }
    }

    @Test("a broker that stops answering PINGREQ is declared dead (DISCONNECT 0x8D, keepAliveTimeout)")
    func deadConnection() async throws {
        let broker = try await ScriptedBroker.start()
        var config = Self.config(broker)
        config.keepAliveSeconds = 1
        config.pingTimeout = .milliseconds(300)
        try await withClient(config, waitForConnection: false) { _, recorder in
            try await broker.serve { _, connection in
                try await connection.accept()
                #expect(try await connection.read() == .pingreq)
                #expect(try await connection.read() == .disconnect(MQTTReasonPacket(reasonCode: .keepAliveTimeout)))
                #expect(try await connection.read() == nil)
            }
            try await eventually("the keep-alive timeout") { !recorder.errors.isEmpty }
            #expect(recorder.errors[0].code == .keepAliveTimeout)
        }
    }

    @Test("PINGRESP keeps the connection alive")
    func pingPong() async throws {
        let broker = try await ScriptedBroker.start()
        var config = Self.config(broker)
        config.keepAliveSeconds = 1
        // Generous ping timeout: the suite runs beside CPU-heavy tests on a shared machine.
        config.pingTimeout = .seconds(3)
        try await withClient(config, waitForConnection: false) { client, recorder in
            try await broker.serve { _, connection in
                try await connection.accept()
                for _ in 0..<2 {
                    #expect(try await connection.read() == .pingreq)
                    try await connection.send(.pingresp)
                }
                #expect(recorder.errors.isEmpty)
                #expect(await client.isConnected())
            }
        }
    }

    @Test("garbage from the broker: DISCONNECT 0x81 malformed packet, typed protocol error, no crash")
    func garbage() async throws {
        let broker = try await ScriptedBroker.start()
        try await withClient(Self.config(broker), waitForConnection: false) { _, recorder in
            try await broker.serve { _, connection in
                try await connection.accept()
                try await connection.sendRaw([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
                #expect(try await connection.read(until: { $0.type == .disconnect }) == .disconnect(MQTTReasonPacket(reasonCode: .malformedPacket)))
            }
            try await eventually("the protocol error") { !recorder.errors.isEmpty }
            #expect(recorder.errors[0].code == .protocolError)
            #expect(recorder.errors[0].reasonCode == .malformedPacket)
        }
    }

    @Test("a packet over our maximum packet size is refused with DISCONNECT 0x95")
    func oversized() async throws {
        let broker = try await ScriptedBroker.start()
        var config = Self.config(broker)
        config.maximumPacketSize = 1024
        try await withClient(config, waitForConnection: false) { _, recorder in
            try await broker.serve { _, connection in
                let connect = try await connection.accept()
                #expect(connect?.properties.maximumPacketSize == 1024)
                try await connection.send(.publish(MQTTPublishPacket(topic: "big", payload: ByteBuffer(repeating: 0, count: 2048))))
                #expect(try await connection.read(until: { $0.type == .disconnect }) == .disconnect(MQTTReasonPacket(reasonCode: .packetTooLarge)))
            }
            try await eventually("the protocol error") { !recorder.errors.isEmpty }
            #expect(recorder.errors[0].reasonCode == .packetTooLarge)
        }
    }

    @Test("inbound QoS 2 resent before PUBREL is delivered once")
    func inboundQoS2Duplicate() async throws {
        let broker = try await ScriptedBroker.start()
        try await withClient(Self.config(broker), waitForConnection: false) { _, recorder in
            try await broker.serve { _, connection in
                try await connection.accept()
                let publish = MQTTPublishPacket(topic: "q2", payload: ByteBuffer(string: "once"), qos: .exactlyOnce, packetIdentifier: 7)
                try await connection.send(.publish(publish))
                #expect(try await connection.read() == .pubrec(MQTTAckPacket(packetIdentifier: 7)))
                var again = publish
                again.dup = true
                try await connection.send(.publish(again))
                #expect(try await connection.read() == .pubrec(MQTTAckPacket(packetIdentifier: 7)))
                try await connection.send(.pubrel(MQTTAckPacket(packetIdentifier: 7)))
                #expect(try await connection.read() == .pubcomp(MQTTAckPacket(packetIdentifier: 7)))
            }
            try await recorder.waitForMessages(1)
            #expect(recorder.payloads == ["once"])
        }
    }

    @Test("unacknowledged QoS 1 is resent with DUP after reconnecting to a present session")
    func resendWithDup() async throws {
        let broker = try await ScriptedBroker.start()
        var config = Self.config(broker)
        config.cleanStart = false
        config.reconnectBackoff = MQTTReconnectBackoff(minimum: .milliseconds(10), maximum: .milliseconds(20))
        try await withClient(config, waitForConnection: false) { client, recorder in
            let publishing = Task { try await client.publish("resend", "important", qos: .atLeastOnce) }
            try await broker.serve(connections: 2) { index, connection in
                if index == 0 {
                    try await connection.accept()
                    guard case .publish(let first)? = try await connection.read() else { Issue.record("no PUBLISH"); return }
                    #expect(!first.dup)
                    // Close without acknowledging.
                } else {
                    try await connection.accept(sessionPresent: true)
                    guard case .publish(let again)? = try await connection.read() else { Issue.record("no resend"); return }
                    #expect(again.dup)
                    #expect(String(buffer: again.payload) == "important")
                    try await connection.send(.puback(MQTTAckPacket(packetIdentifier: again.packetIdentifier!)))
                    try await publishing.value
                }
            }
            #expect(recorder.events.contains(.connected(sessionPresent: true)))
        }
    }

    @Test("outbound topic aliases when the broker offers them; inbound aliases resolved")
    func topicAliases() async throws {
        let broker = try await ScriptedBroker.start()
        var config = Self.config(broker)
        config.topicAliasMaximum = 4
        try await withClient(config, waitForConnection: false) { client, recorder in
            async let publishing: Void = {
                try await recorder.waitForConnections(1)
                try await client.publish("long/topic/name", "1", qos: .atMostOnce)
                try await client.publish("long/topic/name", "2", qos: .atMostOnce)
            }()
            try await broker.serve { _, connection in
                var properties = MQTTProperties()
                properties.topicAliasMaximum = 2
                let connect = try await connection.accept(properties: properties)
                #expect(connect?.properties.topicAliasMaximum == 4)
                guard case .publish(let first)? = try await connection.read(), case .publish(let second)? = try await connection.read() else {
                    Issue.record("expected two PUBLISH packets")
                    return
                }
                #expect(first.topic == "long/topic/name" && first.properties.topicAlias == 1)
                #expect(second.topic.isEmpty && second.properties.topicAlias == 1)
                var alias = MQTTProperties()
                alias.topicAlias = 3
                try await connection.send(.publish(MQTTPublishPacket(topic: "in/topic", payload: ByteBuffer(string: "a"), properties: alias)))
                try await connection.send(.publish(MQTTPublishPacket(topic: "", payload: ByteBuffer(string: "b"), properties: alias)))
                try await recorder.waitForMessages(2)
            }
            try await publishing
            #expect(recorder.messages.map(\.topic) == ["in/topic", "in/topic"])
        }
    }
}

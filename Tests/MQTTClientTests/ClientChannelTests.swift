import MQTTCore
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import MQTTClient

/// The client's real pipeline on test channels, with the broker played by the test and time virtual.
@Suite("MQTTClient on test channels", .serialized)
struct ClientChannelTests {
    static func config(
        version: MQTTProtocolVersion = .v5, cleanStart: Bool = true, keepAliveSeconds: UInt16 = 30, pingTimeout: Duration = .seconds(5)
    ) -> MQTTClientConfiguration {
        var config = MQTTClientConfiguration(
            host: "broker.test", port: 1883, protocolVersion: version, clientIdentifier: "channel", cleanStart: cleanStart,
            sessionExpiryInterval: cleanStart ? 0 : 3600, keepAliveSeconds: keepAliveSeconds, connectTimeout: .seconds(5),
            reconnectBackoff: MQTTReconnectBackoff(minimum: .seconds(1), maximum: .seconds(1)))
        config.pingTimeout = pingTimeout
        return config
    }

    /// Runs a client whose connections are `broker`'s test channels and whose clock is its loop.
    func withChannelClient(
        _ config: MQTTClientConfiguration = config(), _ body: (MQTTClient, Recorder, ChannelBroker) async throws -> Void
    ) async throws {
        let broker = ChannelBroker()
        try await withClient(config, waitForConnection: false, transport: broker.transport, eventLoop: broker.loop, clock: broker.clock) {
            client, recorder in
            try await body(client, recorder, broker)
        }
    }

    /// As ``withChannelClient(_:_:)``, once the first connection's CONNACK (accepted, no session) is through.
    func withConnectedClient(
        _ config: MQTTClientConfiguration = config(), _ body: (MQTTClient, Recorder, ChannelBroker, ChannelBroker.Connection) async throws -> Void
    ) async throws {
        try await withChannelClient(config) { client, recorder, broker in
            let connection = try await broker.connection(1)
            try await connection.accept()
            try await recorder.waitForConnections(1)
            try await body(client, recorder, broker, connection)
        }
    }

    /// Drops `connection` as a network loss would, lets the client's reconnect wait (1 s) run out with `after` of
    /// virtual time, and accepts the client's second connection with a session present.
    func reconnectWithSession(
        dropping connection: ChannelBroker.Connection, broker: ChannelBroker, recorder: Recorder, after: Duration
    ) async throws -> ChannelBroker.Connection {
        try await connection.drop()
        // The reconnect waits out the backoff on virtual time, once its timer is set.
        try await eventually("the reconnect wait") {
            recorder.events.contains { if case .reconnecting = $0 { true } else { false } }
        }
        await broker.advance(by: after)
        let next = try await broker.connection(2)
        try await next.accept(sessionPresent: true)
        return next
    }

    @Test("CONNECT carries the configuration; an accepted CONNACK makes the client connected")
    func connectAccepted() async throws {
        try await withChannelClient { client, recorder, broker in
            let connection = try await broker.connection(1)
            let connect = try #require(try await connection.accept())
            #expect(connect.clientIdentifier == "channel")
            #expect(connect.keepAliveSeconds == 30)
            try await recorder.waitForConnections(1)
            #expect(await client.isConnected())
        }
    }

    @Test("a refused CONNACK surfaces its reason code and closes the connection")
    func connectRefused() async throws {
        try await withChannelClient { client, recorder, broker in
            let connection = try await broker.connection(1)
            #expect(try await connection.read().map { if case .connect = $0 { true } else { false } } == true)
            try await connection.send(.connack(MQTTConnAckPacket(sessionPresent: false, reasonCode: .notAuthorized)))
            try await connection.waitUntilClosed()
            try await eventually("the refusal") { !recorder.connectFailures.isEmpty }
            #expect(recorder.connectFailures[0].code == .connectionRefused)
            #expect(recorder.connectFailures[0].reasonCode == .notAuthorized)
            #expect(await client.isConnected() == false)
        }
    }

    @Test("no CONNACK within the connect timeout: the attempt fails and the connection is closed")
    func connAckTimeout() async throws {
        try await withChannelClient { client, recorder, broker in
            let connection = try await broker.connection(1)
            #expect(try await connection.read().map { if case .connect = $0 { true } else { false } } == true)
            await broker.advance(by: .milliseconds(4_999))
            #expect(connection.channel.isActive)
            await broker.advance(by: .milliseconds(1))
            try await connection.waitUntilClosed()
            try await eventually("the CONNACK timeout") { !recorder.connectFailures.isEmpty }
            #expect(recorder.connectFailures[0].code == .connAckTimeout)
        }
    }

    @Test("QoS 0 PUBLISH is written without a packet identifier and completes once written")
    func publishQoS0() async throws {
        try await withConnectedClient { client, recorder, broker, connection in
            try await client.publish("a/b", "zero", qos: .atMostOnce)
            let publish = try await connection.read()
            #expect(publish == .publish(MQTTPublishPacket(topic: "a/b", payload: ByteBuffer(string: "zero"), qos: .atMostOnce)))
        }
    }

    @Test("QoS 1 PUBLISH completes only when its PUBACK arrives")
    func publishQoS1() async throws {
        try await withConnectedClient { client, recorder, broker, connection in
            let completed = Atomic(false)
            let published = Task {
                try await client.publish("a/b", "one", qos: .atLeastOnce)
                completed.store(true, ordering: .relaxed)
            }
            guard case .publish(let publish)? = try await connection.read() else { Issue.record("expected PUBLISH"); return }
            #expect(publish.qos == .atLeastOnce && publish.dup == false)
            let id = try #require(publish.packetIdentifier)
            #expect(await client.statistics().inflightMessages == 1)
            #expect(completed.load(ordering: .relaxed) == false)
            try await connection.send(.puback(MQTTAckPacket(packetIdentifier: id)))
            try await published.value
            #expect(await client.statistics().inflightMessages == 0)
        }
    }

    @Test("a QoS 1 PUBLISH left without PUBACK is resent with DUP after the reconnect, under the same identifier")
    func resendAfterReconnect() async throws {
        try await withChannelClient(Self.config(cleanStart: false)) { client, recorder, broker in
            let first = try await broker.connection(1)
            try await first.accept()
            try await recorder.waitForConnections(1)
            let published = Task { try await client.publish("a/b", "again", qos: .atLeastOnce) }
            guard case .publish(let original)? = try await first.read() else { Issue.record("expected PUBLISH"); return }
            let second = try await reconnectWithSession(dropping: first, broker: broker, recorder: recorder, after: .seconds(1))
            guard case .publish(let resent)? = try await second.read() else { Issue.record("expected the resent PUBLISH"); return }
            #expect(resent.dup)
            #expect(resent.packetIdentifier == original.packetIdentifier)
            #expect(resent.payload == original.payload)
            try await second.send(.puback(MQTTAckPacket(packetIdentifier: try #require(resent.packetIdentifier))))
            try await published.value
        }
    }

    @Test("after a reconnect an in-flight MQTT 5 message whose expiry passed is dropped and counted; one with time left is resent with what it has left")
    func inflightExpiryAtReconnect() async throws {
        try await withChannelClient(Self.config(cleanStart: false)) { client, recorder, broker in
            let first = try await broker.connection(1)
            try await first.accept()
            try await recorder.waitForConnections(1)
            func publish(_ topic: String, expiry: UInt32) -> Task<Void, any Error> {
                var properties = MQTTProperties()
                properties.messageExpiryInterval = expiry
                return Task { try await client.publish(topic: topic, payload: ByteBuffer(string: topic), qos: .atLeastOnce, properties: properties) }
            }
            let expiring = publish("expires/3", expiry: 3)
            guard case .publish? = try await first.read() else { Issue.record("expected PUBLISH"); return }
            let lasting = publish("lasts/10", expiry: 10)
            guard case .publish? = try await first.read() else { Issue.record("expected PUBLISH"); return }
            // Both were sent at virtual time 0; the reconnect's CONNACK comes at 4 s.
            let second = try await reconnectWithSession(dropping: first, broker: broker, recorder: recorder, after: .seconds(4))
            guard case .publish(let resent)? = try await second.read() else { Issue.record("expected the resent PUBLISH"); return }
            #expect(resent.topic == "lasts/10" && resent.dup)
            #expect(resent.properties.messageExpiryInterval == 6)
            // Bounded: a client that resent the expired message instead would leave its publish waiting for PUBACK.
            try await eventually("the expired message dropped") { await client.statistics().outboundDroppedExpired == 1 }
            let dropped = await #expect(throws: MQTTClientError.self) { try await expiring.value }
            #expect(dropped?.code == .publishDropped && dropped?.message == MQTTDropReason.expired.description)
            try await second.send(.puback(MQTTAckPacket(packetIdentifier: try #require(resent.packetIdentifier))))
            try await lasting.value
        }
    }

    @Test("SUBACK results come back per filter, a failure code as a refusal")
    func subscribeWithRefusal() async throws {
        try await withConnectedClient { client, recorder, broker, connection in
            let subscribed = Task { try await client.subscribe([("ok/#", .atLeastOnce), ("secret/#", .atLeastOnce)]) }
            guard case .subscribe(let subscribe)? = try await connection.read() else { Issue.record("expected SUBSCRIBE"); return }
            #expect(subscribe.subscriptions.map(\.filter) == ["ok/#", "secret/#"] as [TopicFilter])
            try await connection.send(.suback(MQTTSubAckPacket(packetIdentifier: subscribe.packetIdentifier, reasonCodes: [.grantedQoS1, .notAuthorized])))
            let results = try await subscribed.value
            #expect(results.map(\.reasonCode) == [.grantedQoS1, .notAuthorized])
            #expect(results.map(\.grantedQoS) == [.atLeastOnce, nil])
        }
    }

    @Test("an idle connection sends PINGREQ after the keep-alive; PINGRESP keeps it up")
    func pingWhenIdle() async throws {
        try await withConnectedClient(Self.config(keepAliveSeconds: 10, pingTimeout: .seconds(5))) { client, recorder, broker, connection in
            await broker.advance(by: .seconds(9))
            #expect(try await connection.channel.readOutbound(as: ByteBuffer.self) == nil)
            await broker.advance(by: .seconds(1))
            #expect(try await connection.read() == .pingreq)
            try await connection.send(.pingresp)
            await broker.advance(by: .seconds(6))
            #expect(await client.isConnected())
            #expect(recorder.disconnections.isEmpty)
        }
    }

    @Test("no PINGRESP within the ping timeout: DISCONNECT 0x8D and the connection is closed")
    func pingTimeout() async throws {
        try await withConnectedClient(Self.config(keepAliveSeconds: 10, pingTimeout: .seconds(5))) { client, recorder, broker, connection in
            await broker.advance(by: .seconds(10))
            #expect(try await connection.read() == .pingreq)
            await broker.advance(by: .seconds(4))
            #expect(await client.isConnected())
            await broker.advance(by: .seconds(1))
            #expect(try await connection.read() == .disconnect(MQTTReasonPacket(reasonCode: .keepAliveTimeout)))
            try await connection.waitUntilClosed()
            try await eventually("the keep-alive timeout") { !recorder.disconnections.isEmpty }
            #expect(recorder.disconnections[0].code == .keepAliveTimeout)
        }
    }

    @Test("garbage from the broker closes the connection with a protocol error", arguments: [
        // Packet type 0 is reserved.
        [0x00, 0x00],
        // A PUBLISH announcing more than the configured maximum packet size, before any of it arrives.
        [0x30, 0xFF, 0xFF, 0xFF, 0x7F],
        // A remaining length encoded in five bytes.
        [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
    ] as [[UInt8]])
    func garbage(bytes: [UInt8]) async throws {
        try await withConnectedClient { client, recorder, broker, connection in
            try await connection.sendRaw(bytes)
            try await connection.waitUntilClosed()
            try await eventually("the protocol error") { !recorder.disconnections.isEmpty }
            #expect(recorder.disconnections[0].code == .protocolError)
            #expect(await client.isConnected() == false)
        }
    }
}

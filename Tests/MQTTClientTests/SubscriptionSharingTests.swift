import MQTTCore
import NIOCore
import Testing
@testable import MQTTClient

/// Reference-counted subscriptions and resubscription, owned by the client (`MQTTTopicStateMachine`), seen from a
/// broker played by the test.
@Suite("MQTTClient subscription sharing and resubscription", .serialized)
struct SubscriptionSharingTests {
    static func config(_ broker: ScriptedBroker) -> MQTTClientConfiguration {
        var config = ScriptedBrokerTests.config(broker, id: "sharing")
        config.reconnectBackoff = MQTTReconnectBackoff(minimum: .milliseconds(20), maximum: .milliseconds(20))
        return config
    }

    static func isPing(_ packet: MQTTPacket) -> Bool {
        if case .pingreq = packet { true } else { false }
    }

    /// The next packet that is not a PINGREQ.
    static func next(_ connection: ScriptedBroker.Connection) async throws -> MQTTPacket? {
        try await connection.read { !isPing($0) }
    }

    @Test("users of one filter share one SUBSCRIBE; UNSUBSCRIBE goes out only when the last one leaves")
    func sharedFilter() async throws {
        let broker = try await ScriptedBroker.start()
        try await withClient(Self.config(broker), waitForConnection: false) { client, recorder in
            try await broker.serve { _, connection in
                try await connection.accept()
                try await recorder.waitForConnections(1)
                let first = Task { try await client.subscribe([("a/#", .atLeastOnce)]) }
                guard case .subscribe(let subscribe)? = try await Self.next(connection) else {
                    Issue.record("expected SUBSCRIBE")
                    return
                }
                try await connection.send(.suback(MQTTSubAckPacket(packetIdentifier: subscribe.packetIdentifier, reasonCodes: [.grantedQoS1])))
                #expect(try await first.value.map(\.reasonCode) == [.grantedQoS1])

                let others = Task {
                    let second = try await client.subscribe([("a/#", .atMostOnce)])
                    let firstRelease = try await client.unsubscribe(["a/#"])
                    let lastRelease = try await client.unsubscribe(["a/#"])
                    return (second.map(\.reasonCode), firstRelease, lastRelease)
                }
                guard case .unsubscribe(let unsubscribe)? = try await Self.next(connection) else {
                    Issue.record("expected UNSUBSCRIBE as the next packet: a second SUBSCRIBE or an early UNSUBSCRIBE went out")
                    return
                }
                #expect(unsubscribe.filters == ["a/#"])
                try await connection.send(.unsuback(MQTTSubAckPacket(packetIdentifier: unsubscribe.packetIdentifier, reasonCodes: [.success])))
                let (second, firstRelease, lastRelease) = try await others.value
                #expect(second == [.grantedQoS1], "answered from the grant, without a round trip")
                #expect(firstRelease == [.success])
                #expect(lastRelease == [.success])
            }
        }
    }

    @Test("whenOffline: .sendOnConnect keeps the subscription for the connection; .fail keeps nothing")
    func offlineSubscription() async throws {
        let broker = try await ScriptedBroker.start()
        try await withClient(Self.config(broker), waitForConnection: false) { client, _ in
            try await broker.serve { _, connection in
                guard case .connect? = try await connection.read() else {
                    Issue.record("expected CONNECT")
                    return
                }
                await #expect(throws: MQTTClientError.self) { try await client.subscribe([("kept/#", .atLeastOnce)], whenOffline: .sendOnConnect) }
                await #expect(throws: MQTTClientError.self) { try await client.subscribe([("dropped/#", .atLeastOnce)]) }
                try await connection.send(.connack(MQTTConnAckPacket(sessionPresent: true, reasonCode: .success)))
                guard case .subscribe(let subscribe)? = try await Self.next(connection) else {
                    Issue.record("expected the kept SUBSCRIBE")
                    return
                }
                #expect(subscribe.subscriptions == [MQTTSubscriptionRequest("kept/#", qos: .atLeastOnce)])
            }
        }
    }

    @Test("after a reconnect with a session present only the subscription whose SUBACK was lost is re-sent")
    func reconnectWithSession() async throws {
        let broker = try await ScriptedBroker.start()
        try await withClient(Self.config(broker), waitForConnection: false) { client, recorder in
            try await broker.serve(connections: 2) { index, connection in
                if index == 0 {
                    try await connection.accept()
                    try await recorder.waitForConnections(1)
                    let granted = Task { try await client.subscribe([("granted/#", .atLeastOnce)]) }
                    guard case .subscribe(let subscribe)? = try await Self.next(connection) else { return }
                    try await connection.send(.suback(MQTTSubAckPacket(packetIdentifier: subscribe.packetIdentifier, reasonCodes: [.grantedQoS1])))
                    _ = try await granted.value
                    // Not answered: the connection drops with this SUBSCRIBE in flight.
                    Task { _ = try? await client.subscribe([("lost/#", .atLeastOnce)], whenOffline: .sendOnConnect) }
                    _ = try await Self.next(connection)
                } else {
                    try await connection.accept(sessionPresent: true)
                    guard case .subscribe(let subscribe)? = try await Self.next(connection) else {
                        Issue.record("expected the lost SUBSCRIBE to be re-sent")
                        return
                    }
                    #expect(subscribe.subscriptions.map(\.filter) == ["lost/#"])
                }
            }
        }
    }
}

import GreengrassTestSupport
import MQTTCore
import NIOCore
import Testing
@testable import MQTTClient

/// `MQTTClient.enqueue`: the publish that does not wait for the event loop must keep `publish(…, until: .accepted)`'s
/// outcomes and order.
@Suite("MQTTClient.enqueue against Mosquitto", .serialized)
struct EnqueueTests {
    @Test("enqueued QoS 0 and QoS 1 messages all arrive, each topic in order", arguments: [MQTTProtocolVersion.v5, .v3_1_1])
    func arriveInOrder(version: MQTTProtocolVersion) async throws {
        let broker = try Mosquitto()
        let total = 300
        try await withClient(configuration(broker, id: "enq-sub-\(version.rawValue)", version: version)) { subscriber, received in
            _ = try await subscriber.subscribe([("enq/#", .atLeastOnce)])
            try await withClient(configuration(broker, id: "enq-pub-\(version.rawValue)", version: version)) { publisher, _ in
                for index in 0..<total {
                    try publisher.enqueue(topic: "enq/0", payload: ByteBuffer(string: "\(index)"), qos: .atMostOnce)
                    try publisher.enqueue(topic: "enq/1", payload: ByteBuffer(string: "\(index)"), qos: .atLeastOnce)
                }
                try await received.waitForMessages(2 * total, timeout: .seconds(20))
                try await eventually("publisher window drained") { await publisher.statistics().inflightMessages == 0 }
            }
            for topic in ["enq/0", "enq/1"] {
                let numbers = received.messages.filter { $0.topic == topic }.map { Int(String(buffer: $0.payload)) }
                #expect(numbers == Array(0..<total), "\(topic) out of order or incomplete")
            }
        }
    }

    @Test("enqueue refuses what publish(until: .accepted) refuses; offline QoS 1 is spooled and sent on reconnect")
    func refusals() async throws {
        let broker = try Mosquitto(.init(persistence: true))
        try await withClient(configuration(broker, id: "enq-receiver", clean: false)) { receiver, received in
            _ = try await receiver.subscribe([("enq/#", .atLeastOnce)])
            var config = configuration(broker, id: "enq-offline")
            config.session = MQTTSessionConfiguration(spoolMaximumBytes: 200)
            try await withClient(config) { publisher, events in
                #expect(throws: MQTTClientError.self) { try publisher.enqueue(topic: "bad/#", payload: ByteBuffer(string: "x")) }
                let large = ByteBuffer(repeating: 7, count: 201)
                let tooLarge = #expect(throws: MQTTClientError.self) { try publisher.enqueue(topic: "x", payload: large, qos: .atLeastOnce) }
                #expect(tooLarge?.code == .publishDropped)
                broker.stop()
                try await eventually("publisher notices the broker is gone") { await !publisher.isConnected() }
                let offline = #expect(throws: MQTTClientError.self) {
                    try publisher.enqueue(topic: "enq/offline", payload: ByteBuffer(string: "q0"), qos: .atMostOnce)
                }
                #expect(offline?.code == .publishDropped)
                try publisher.enqueue(topic: "enq/offline", payload: ByteBuffer(string: "q1"), qos: .atLeastOnce)
                try await eventually("the QoS 1 message is spooled") { await publisher.statistics().spooledMessages == 1 }
                try broker.restart()
                try await events.waitForConnections(2)
                try await received.waitForMessages(1, timeout: .seconds(15))
                #expect(received.payloads == ["q1"])
                publisher.shutdown()
                let shutDown = #expect(throws: MQTTClientError.self) { try publisher.enqueue(topic: "x", payload: ByteBuffer(string: "late")) }
                #expect(shutDown?.code == .shutdown)
            }
        }
    }
}

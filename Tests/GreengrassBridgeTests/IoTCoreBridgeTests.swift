import GreengrassBridge
import GreengrassIPCServices
import GreengrassTestSupport
import Logging
import MQTTClient
import MQTTCore
import NIOCore
import Synchronization
import Testing

/// Records what the adapter hands to the IPC side.
final class RecordingSink: IoTCoreUpstreamSink {
    let messages = Mutex<[IoTCoreInboundMessage]>([])
    let events = Mutex<[IoTCoreConnectionEvent]>([])

    func deliver(_ message: IoTCoreInboundMessage) async { messages.withLock { $0.append(message) } }
    func connectionChanged(_ event: IoTCoreConnectionEvent) async { events.withLock { $0.append(event) } }
}

@Suite("IoTCoreBridge: the IPC side's upstream over MQTTClient", .serialized)
struct IoTCoreBridgeTests {
    static func client(port: Int, id: String) -> MQTTClient {
        var logger = Logger(label: id)
        logger.logLevel = .critical
        return MQTTClient(
            configuration: MQTTClientConfiguration(
                host: "127.0.0.1", port: port, clientIdentifier: id, keepAliveSeconds: 30, connectTimeout: .seconds(5),
                reconnectBackoff: MQTTReconnectBackoff(minimum: .milliseconds(20), maximum: .milliseconds(200))),
            logger: logger)
    }

    @Test("offline: QoS 0 is refused in Greengrass's words, a subscription is deferred, a bad topic is the caller's fault")
    func offline() async throws {
        let bridge = IoTCoreBridge(client: Self.client(port: 1, id: "offline"))
        await #expect(throws: IoTCoreUpstreamError.failed("Device is offline. Dropping QoS 0 message.")) {
            try await bridge.publish(MQTTOutboundMessage(topic: "a/b", payload: ByteBuffer(string: "x"), qos: .atMostOnce))
        }
        await #expect(throws: IoTCoreUpstreamError.self) {
            try await bridge.publish(MQTTOutboundMessage(topic: "", payload: ByteBuffer(), qos: .atLeastOnce))
        }
        let state = try await bridge.subscribe("a/#", qos: .atLeastOnce)
        guard case .deferred = state else {
            Issue.record("expected deferred, got \(state)")
            return
        }
    }

    @Test("online: publishes reach the broker, shared subscriptions deliver to the sink, connection events are translated")
    func online() async throws {
        let broker = try Mosquitto()
        let client = Self.client(port: broker.port, id: "bridge")
        let peer = Self.client(port: broker.port, id: "peer")
        let bridge = IoTCoreBridge(client: client)
        let sink = RecordingSink()
        try await withThrowingTaskGroup { group in
            group.addTask { try await client.run() }
            group.addTask { try await peer.run() }
            group.addTask { await bridge.run(deliveringTo: sink) }
            let peerMessages = Task { () -> String? in
                for await message in peer.messages { return String(buffer: message.payload) }
                return nil
            }
            _ = await eventually(timeout: .seconds(10)) { await peer.isConnected() }
            _ = try await peer.subscribe([("up/#", .atLeastOnce)])
            _ = await eventually(timeout: .seconds(10)) {
                sink.events.withLock { $0.contains(.connected(sessionPresent: false)) }
            }
            #expect(try await bridge.subscribe("down/#", qos: .atLeastOnce) == .active)
            #expect(try await bridge.subscribe("down/#", qos: .atMostOnce) == .active)
            try await bridge.publish(MQTTOutboundMessage(topic: "up/x", payload: ByteBuffer(string: "hello"), qos: .atLeastOnce))
            #expect(await peerMessages.value == "hello")
            await bridge.unsubscribe("down/#")
            try await peer.publish(topic: "down/y", payload: ByteBuffer(string: "still shared"), qos: .atLeastOnce)
            let delivered = await eventually(timeout: .seconds(10)) { sink.messages.withLock { !$0.isEmpty } }
            #expect(delivered)
            #expect(sink.messages.withLock { $0.map { "\($0.topic) \(String(buffer: $0.payload))" } } == ["down/y still shared"])
            client.shutdown()
            peer.shutdown()
            try await group.waitForAll()
        }
    }
}

import Foundation
import GreengrassTestSupport
import Logging
import MQTTCore
import NIOCore
import NIOPosix
import Synchronization
@testable import MQTTClient

/// Thrown when a bounded wait runs out.
struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Waits for `condition` (the shared bounded `eventually`), throwing ``TimedOut`` naming `what` when it never held.
func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    guard try await eventually(timeout: timeout, every: .milliseconds(5), condition) else {
        throw TimedOut(description: "timed out after \(timeout) waiting for \(what)")
    }
}

/// Drains a client's message and event streams into arrays the test can inspect.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var _messages: [MQTTMessage] = []
    private var _events: [MQTTConnectionEvent] = []

    var messages: [MQTTMessage] { lock.withLock { _messages } }
    var events: [MQTTConnectionEvent] { lock.withLock { _events } }
    var payloads: [String] { messages.map { String(buffer: $0.payload) } }

    func record(_ message: MQTTMessage) { lock.withLock { _messages.append(message) } }
    func record(_ event: MQTTConnectionEvent) { lock.withLock { _events.append(event) } }

    var connectedCount: Int { events.filter { if case .connected = $0 { true } else { false } }.count }
    /// Why connections ended or connect attempts failed, in order.
    var errors: [MQTTClientError] {
        events.compactMap {
            switch $0 {
            case .disconnected(let error), .connectFailed(let error): error
            default: nil
            }
        }
    }
    var disconnections: [MQTTClientError] { events.compactMap { if case .disconnected(let error) = $0 { error } else { nil } } }
    var connectFailures: [MQTTClientError] { events.compactMap { if case .connectFailed(let error) = $0 { error } else { nil } } }

    func waitForMessages(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        try await eventually("\(count) messages (have \(messages.count))", timeout: timeout) { messages.count >= count }
    }

    func waitForConnections(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        try await eventually("\(count) connections (events: \(events))", timeout: timeout) { connectedCount >= count }
    }
}

/// A logger quiet enough for CI but that shows warnings when run with MQTT_TEST_LOG=trace.
func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["MQTT_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}

func configuration(_ broker: Mosquitto, id: String, version: MQTTProtocolVersion = .v5, clean: Bool = true) -> MQTTClientConfiguration {
    MQTTClientConfiguration(
        host: "127.0.0.1", port: broker.port, protocolVersion: version, clientIdentifier: id, cleanStart: clean,
        sessionExpiryInterval: clean ? 0 : 3600, keepAliveSeconds: 30, connectTimeout: .seconds(5),
        reconnectBackoff: MQTTReconnectBackoff(minimum: .milliseconds(20), maximum: .milliseconds(200)))
}

/// Runs a client for the duration of `body`: consumes its streams into a ``Recorder``, optionally waits for
/// the first CONNACK, and shuts it down afterwards (DISCONNECT), checking `run()` returns in bounded time.
/// `transport` opens its connections (TCP by default); `eventLoop`, `clock` and the backoff's `jitter` default to the
/// production ones.
func withClient<T>(
    _ configuration: MQTTClientConfiguration, waitForConnection: Bool = true, transport: ClientTransport = .tcp,
    eventLoop: (any EventLoop)? = nil, clock: some Clock<Duration> = ContinuousClock(),
    jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
    _ body: (MQTTClient, Recorder) async throws -> T
) async throws -> T {
    let client = MQTTClient(
        configuration: configuration, logger: testLogger(configuration.clientIdentifier),
        eventLoopGroup: eventLoop ?? MultiThreadedEventLoopGroup.singleton.any(), clock: clock, transport: transport,
        jitter: jitter)
    let recorder = Recorder()
    let runner = Task { try await client.run() }
    let messagePump = Task { for await message in client.messages { recorder.record(message) } }
    let eventPump = Task { for await event in client.events { recorder.record(event) } }
    let result: Result<T, any Error>
    do {
        if waitForConnection { try await recorder.waitForConnections(1) }
        result = .success(try await body(client, recorder))
    } catch {
        result = .failure(error)
    }
    client.shutdown()
    let finished = Task {
        try await runner.value
        await messagePump.value
        await eventPump.value
    }
    let watchdog = Task {
        try await Task.sleep(for: .seconds(10))
        runner.cancel()
    }
    try await finished.value
    watchdog.cancel()
    return try result.get()
}

extension MQTTClient {
    func publish(
        _ topic: String, _ text: String, qos: QoS = .atLeastOnce, retain: Bool = false, properties: MQTTProperties = MQTTProperties(),
        until completion: MQTTPublishCompletion = .acknowledged
    ) async throws {
        try await publish(topic: topic, payload: ByteBuffer(string: text), qos: qos, retain: retain, properties: properties, until: completion)
    }
}

/// The production TCP transport that keeps its channels, so a test can drop the connection without DISCONNECT,
/// as a crash or network loss would (the broker then publishes the Will and the client reconnects).
final class DroppableTransport: Sendable {
    private let channels = Mutex<[any Channel]>([])

    var transport: ClientTransport {
        ClientTransport { configuration, eventLoop, addClientHandlers in
            ClientTransport.tcp.open(configuration, eventLoop, addClientHandlers).map { channel in
                self.channels.withLock { $0.append(channel) }
                return channel
            }
        }
    }

    /// Closes the newest connection's socket.
    func dropConnection() {
        channels.withLock { $0.last }?.close(promise: nil)
    }
}

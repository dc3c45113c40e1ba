import GreengrassIPCServices
import GreengrassSpool
import Logging
import MQTTClient
import MQTTCore
import ServiceLifecycle

/// The adapter from the IPC side's ``IoTCoreUpstream`` to the nucleus's `MQTTClient`: publishes go to the client
/// (or, with `storageType: Disk`, QoS 1 ones to the ``DurableSpool`` first), subscriptions are the client's
/// reference-counted ones (it resubscribes after reconnects), and the client's messages and connection events
/// are handed to the IPC side. No IPC semantics live here: those are ``IoTCoreOperations``.
public final class IoTCoreBridge: IoTCoreUpstream {
    private let client: MQTTClient
    /// `storageType: Disk`: QoS 1 publishes go here and are answered once durable.
    private let durableSpool: DurableSpool?

    public init(client: MQTTClient, durableSpool: DurableSpool? = nil) {
        self.client = client
        self.durableSpool = durableSpool
    }

    public func publish(_ message: MQTTOutboundMessage) async throws(IoTCoreUpstreamError) {
        if try publishImmediately(message) { return }
        guard let durableSpool else { return }
        do throws(DurableSpoolError) {
            // Answered only once the message is on disk: it then survives a crash or a power cut.
            try await durableSpool.append(message)
        } catch {
            throw .failed(error.message)
        }
    }

    /// Everything but a QoS 1 message for the durable spool is decided without waiting.
    public func publishImmediately(_ message: MQTTOutboundMessage) throws(IoTCoreUpstreamError) -> Bool {
        if message.qos == .atLeastOnce, durableSpool != nil { return false }
        do throws(MQTTClientError) {
            // Greengrass answers once the message is accepted into the spool, not on PUBACK (reference §7);
            // `enqueue` decides that without waiting for the MQTT client's event loop.
            try client.enqueue(
                topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain, properties: message.properties)
        } catch {
            throw error.code == .invalidTopic ? .invalidTopic("\(error)") : .failed(error.message)
        }
        return true
    }

    /// A QoS 1 message for the durable spool: appended from the IPC connection's loop, answered on it once durable
    /// (the spool answers a whole commit group in one hop to each loop).
    public func publishAnsweringLater(
        _ message: MQTTOutboundMessage, answer: @escaping @Sendable (Result<Void, IoTCoreUpstreamError>) -> Void
    ) throws(IoTCoreUpstreamError) -> Bool {
        guard message.qos == .atLeastOnce, let durableSpool else { return false }
        do throws(DurableSpoolError) {
            try durableSpool.append(message) { result in answer(result.mapError { .failed($0.message) }) }
        } catch {
            throw .failed(error.message)
        }
        return true
    }

    public func subscribe(_ filter: TopicFilter, qos: QoS) async throws(IoTCoreUpstreamError) -> IoTCoreSubscriptionState {
        let results: [MQTTSubscribeResult]
        do {
            results = try await client.subscribe([(filter, qos)], whenOffline: .sendOnConnect)
        } catch let error as MQTTClientError where error.code == .notConnected || error.code == .connectionClosed {
            // Kept by the client and sent once connected.
            return .deferred(reason: "\(error)")
        } catch let error as MQTTClientError {
            throw .failed(error.message)
        } catch {
            throw .failed("\(error)")
        }
        if let result = results.first, result.reasonCode.isFailure { throw .refused("\(result.reasonCode)") }
        return .active
    }

    public func unsubscribe(_ filter: TopicFilter) async {
        _ = try? await client.unsubscribe([filter])
    }

    public func run(deliveringTo sink: any IoTCoreUpstreamSink) async {
        // The message and event streams end only when the MQTT client shuts down, which the service group does
        // after this service (reverse start order): stop following them on graceful shutdown instead.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await message in self.client.messages {
                        await sink.deliver(IoTCoreInboundMessage(
                            topic: message.topic, payload: message.payload, retain: message.retain, properties: message.properties))
                    }
                }
                group.addTask {
                    for await event in self.client.events {
                        await sink.connectionChanged(Self.connectionEvent(event))
                        switch event {
                        case .connected: self.durableSpool?.connected()
                        case .disconnected: self.durableSpool?.disconnected()
                        default: break
                        }
                    }
                }
            }
        }
    }

    static func connectionEvent(_ event: MQTTConnectionEvent) -> IoTCoreConnectionEvent {
        switch event {
        case .connected(let sessionPresent): .connected(sessionPresent: sessionPresent)
        case .disconnected(let error): .disconnected(reason: "\(error)")
        case .connectFailed(let error): .connectFailed(reason: "\(error)")
        case .reconnecting(let attempt, let delay): .reconnecting(attempt: attempt, delay: delay)
        case .resubscribeFailed(let filter, let code): .resubscribeFailed(filter: filter, reason: "\(code)")
        }
    }
}

/// Runs the IoT Core operations in the service group: they follow their upstream until graceful shutdown.
public struct IoTCoreService: Service {
    private let operations: IoTCoreOperations

    public init(operations: IoTCoreOperations) {
        self.operations = operations
    }

    public func run() async throws {
        await operations.run()
    }
}

import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassIPCServices
import GreengrassSpool
import Logging
import MQTTClient
import MQTTCore
import NIOCore
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Limits a publish must respect; defaults are AWS IoT Core's (reference §7).
public struct IoTCoreLimits: Sendable {
    public var maximumTopicLength = 256
    public var maximumTopicSlashes = 7
    public var maximumPayloadBytes = 131_072

    public init(maximumPayloadBytes: Int = 131_072) {
        self.maximumPayloadBytes = maximumPayloadBytes
    }
}

/// The IoT Core proxy: `PublishToIoTCore` and `SubscribeToIoTCore` over the nucleus's single upstream MQTT
/// connection.
///
/// Upstream subscriptions are shared and reference-counted: one SUBSCRIBE per distinct filter, UNSUBSCRIBE when
/// the last IPC stream on it ends. Inbound messages reach streams through a topic trie. A subscriber that does
/// not read loses events (counted and logged) instead of stalling the upstream connection or other subscribers.
public final class IoTCoreBridge: Service, Sendable {
    public static let authorizationService = "aws.greengrass.ipc.mqttproxy"
    static let publishOperation = "aws.greengrass#PublishToIoTCore"
    static let subscribeOperation = "aws.greengrass#SubscribeToIoTCore"

    struct Subscriber: Sendable {
        var component: String
        var filter: TopicFilter
        var stream: IPCStream
    }

    struct State: Sendable {
        var subscribers: [UInt64: Subscriber] = [:]
        var trie = TopicTrie<UInt64>()
        /// Live IPC subscriptions per distinct filter text.
        var references: [String: (filter: TopicFilter, qos: QoS, count: Int)] = [:]
        /// Filters the broker has granted on the current connection.
        var granted: Set<String> = []
        var nextID: UInt64 = 1
        var published = 0
        var delivered = 0
        var droppedSlowSubscriber = 0
    }

    private let client: MQTTClient
    /// `storageType: Disk`: QoS 1 publishes go here and are answered once durable.
    private let durableSpool: DurableSpool?
    private let authorizer: any IPCAuthorizer
    private let limits: IoTCoreLimits
    private let logger: Logger
    private let state = Mutex(State())
    /// Told about every connect and disconnect (`SubscribeToIoTCoreConnectionStatus`).
    private let connectionStatus: ConnectionStatusOperations?

    public init(
        client: MQTTClient, authorizer: any IPCAuthorizer, limits: IoTCoreLimits = IoTCoreLimits(), durableSpool: DurableSpool? = nil,
        logger: Logger, connectionStatus: ConnectionStatusOperations? = nil
    ) {
        self.connectionStatus = connectionStatus
        self.client = client
        self.durableSpool = durableSpool
        self.authorizer = authorizer
        self.limits = limits
        self.logger = logger
    }

    /// Registers the two operations on `router`.
    public func register(on router: inout IPCRouter) {
        // Publishing never blocks (decode, authorize, hand to the MQTT client): it runs on the IPC connection's loop.
        router.register(Self.publishOperation, runsOnConnectionLoop: true) { call in await self.publish(call) }
        router.register(Self.subscribeOperation) { call in await self.subscribe(call) }
    }

    /// Fans inbound messages out to IPC streams and follows the connection (logging, resubscribing) until the
    /// service group shuts down.
    public func run() async throws {
        // The message and event streams end only when the MQTT client shuts down, which the service group does
        // after this service (reverse start order): stop following them on graceful shutdown instead.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.forwardInbound() }
                group.addTask { await self.followConnection() }
            }
        }
    }

    // MARK: PublishToIoTCore

    func publish(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try IPCJSON.decode(PublishToIoTCoreRequest.self, from: call.payload)
            guard let topic = request.topicName, !topic.isEmpty else { throw .invalidArguments("Topic is required") }
            try await authorize(call, Self.publishOperation, resource: topic)
            guard let payload = request.payload else { throw .invalidArguments("Payload is required") }
            guard let qos = request.qos else { throw .invalidArguments("QoS is required") }
            try validatePublishTopic(topic)
            guard payload.count <= limits.maximumPayloadBytes else {
                throw .invalidArguments(
                    "The publishing message size \(payload.count) bytes exceeds the configured limit of \(limits.maximumPayloadBytes) bytes")
            }
            var properties = MQTTProperties()
            properties.userProperties = (request.userProperties ?? []).map { MQTTUserProperty($0.key, $0.value) }
            if let expiry = request.messageExpiryIntervalSeconds {
                guard expiry >= 0 && expiry <= Int64(UInt32.max) else {
                    throw .invalidArguments("messageExpiryIntervalSeconds must be between 0 and \(UInt32.max)")
                }
                properties.messageExpiryInterval = UInt32(expiry)
            }
            properties.correlationData = request.correlationData.map(Array.init)
            properties.responseTopic = request.responseTopic
            properties.payloadFormatIndicator = request.payloadFormat.map { $0 == .utf8 ? 1 : 0 }
            properties.contentType = request.contentType
            if qos == .atLeastOnce, let durableSpool {
                let message = MQTTOutboundMessage(
                    topic: topic, payload: ByteBuffer(bytes: payload), qos: .atLeastOnce, retain: request.retain ?? false, properties: properties)
                do throws(DurableSpoolError) {
                    // Answered only once the message is on disk: it then survives a crash or a power cut.
                    try await durableSpool.append(message)
                } catch {
                    throw .serviceError("Publish to topic \(topic) failed: \(error.message)")
                }
                state.withLock { $0.published += 1 }
                return .response(shape: "aws.greengrass#PublishToIoTCoreResponse", json: Array("{}".utf8))
            }
            do throws(MQTTClientError) {
                // Greengrass answers once the message is accepted into the spool, not on PUBACK (reference §7);
                // `enqueue` decides that without waiting for the MQTT client's event loop.
                try client.enqueue(
                    topic: topic, payload: ByteBuffer(bytes: payload), qos: qos == .atLeastOnce ? .atLeastOnce : .atMostOnce,
                    retain: request.retain ?? false, properties: properties)
            } catch {
                if error.code == .invalidTopic { throw .invalidArguments("\(error)") }
                // Greengrass's wording: "Publish to topic <t> failed: <reason>", e.g. "Message spool is full. Message
                // could not be added." for a full spool, so components can recognise it and retry.
                throw .serviceError("Publish to topic \(topic) failed: \(error.message)")
            }
            state.withLock { $0.published += 1 }
            return .response(shape: "aws.greengrass#PublishToIoTCoreResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }

    /// AWS IoT Core's topic rules: no wildcards, at most 256 characters and 7 slashes (excluding the
    /// `$aws/rules/<rule>/` basic-ingest prefix).
    func validatePublishTopic(_ topic: String) throws(IPCModeledError) {
        if topic.contains("+") || topic.contains("#") {
            throw .invalidArguments("Publish topics must not contain wildcard characters of '#' or '+'")
        }
        var effective = Substring(topic)
        if topic.hasPrefix("$aws/rules/") {
            let afterPrefix = topic.dropFirst("$aws/rules/".count)
            effective = afterPrefix.firstIndex(of: "/").map { afterPrefix[afterPrefix.index(after: $0)...] } ?? ""
        }
        guard effective.utf8.count <= limits.maximumTopicLength else {
            throw .invalidArguments("Topic \(topic) is longer than \(limits.maximumTopicLength) characters")
        }
        guard effective.filter({ $0 == "/" }).count <= limits.maximumTopicSlashes else {
            throw .invalidArguments("Topic \(topic) has more than \(limits.maximumTopicSlashes) forward slashes")
        }
        if let failure = TopicName.validationFailure(topic) { throw .invalidArguments(failure) }
    }

    // MARK: SubscribeToIoTCore

    func subscribe(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try IPCJSON.decode(SubscribeToIoTCoreRequest.self, from: call.payload)
            guard let topic = request.topicName, !topic.isEmpty else { throw .invalidArguments("Topic is required") }
            try await authorize(call, Self.subscribeOperation, resource: topic)
            let filter: TopicFilter
            do {
                filter = try TopicFilter(topic)
            } catch {
                throw .invalidArguments("\(error)")
            }
            let qos: QoS = request.qos == .atMostOnce ? .atMostOnce : .atLeastOnce
            let (id, isFirst) = state.withLock { state in
                let id = state.nextID
                state.nextID += 1
                state.subscribers[id] = Subscriber(component: call.principal, filter: filter, stream: call.stream)
                state.trie.insert(filter, id)
                var entry = state.references[filter.string] ?? (filter, qos, 0)
                entry.count += 1
                entry.qos = max(entry.qos, qos)
                state.references[filter.string] = entry
                return (id, entry.count == 1)
            }
            call.stream.onTermination { [weak self] _ in
                guard let self else { return }
                Task { await self.removeSubscriber(id) }
            }
            if isFirst {
                do {
                    try await subscribeUpstream(filter, qos: qos)
                } catch let failure as SubscribeFailure {
                    await removeSubscriber(id)
                    throw .serviceError("Subscribe to topic \(topic) failed with error \(failure.reason)")
                } catch {
                    // Offline: the subscription stays wanted and is sent when the connection comes back.
                    logger.info(
                        "Upstream subscription deferred until connected",
                        metadata: ["eventType": "mqtt-subscribe-deferred", "topic": "\(topic)", "reason": "\(error)"])
                }
            }
            return .streamOpened(shape: "aws.greengrass#SubscribeToIoTCoreResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }

    struct SubscribeFailure: Error {
        var reason: String
    }

    private func subscribeUpstream(_ filter: TopicFilter, qos: QoS) async throws {
        let results = try await client.subscribe([(filter, qos)])
        if let result = results.first, result.reasonCode.isFailure {
            throw SubscribeFailure(reason: "\(result.reasonCode)")
        }
        state.withLock { _ = $0.granted.insert(filter.string) }
    }

    /// Drops one IPC subscription; the last one on a filter unsubscribes upstream.
    func removeSubscriber(_ id: UInt64) async {
        let unsubscribe: TopicFilter? = state.withLock { state in
            guard let subscriber = state.subscribers.removeValue(forKey: id) else { return nil }
            _ = state.trie.remove(subscriber.filter) { $0 == id }
            guard var entry = state.references[subscriber.filter.string] else { return nil }
            entry.count -= 1
            if entry.count > 0 {
                state.references[subscriber.filter.string] = entry
                return nil
            }
            state.references[subscriber.filter.string] = nil
            state.granted.remove(subscriber.filter.string)
            return subscriber.filter
        }
        if let unsubscribe {
            _ = try? await client.unsubscribe([unsubscribe])
        }
    }

    /// Ends every IoT Core subscription of a component (it stopped or was removed).
    public func removeSubscriptions(of component: String) async {
        let streams = state.withLock { state in state.subscribers.values.filter { $0.component == component }.map(\.stream) }
        for stream in streams { await stream.close() }
    }

    // MARK: Inbound and connection

    private func forwardInbound() async {
        for await message in client.messages {
            let targets = state.withLock { state in
                state.trie.match(topic: message.topic).compactMap { state.subscribers[$0]?.stream }
            }
            if targets.isEmpty { continue }
            var body = IoTCoreMessageBody(topicName: message.topic, payload: Data(message.payload.readableBytesView))
            body.retain = message.retain ? true : nil
            let properties = message.properties
            if !properties.userProperties.isEmpty {
                body.userProperties = properties.userProperties.map { IoTCoreUserProperty(key: $0.name, value: $0.value) }
            }
            body.messageExpiryIntervalSeconds = properties.messageExpiryInterval.map(Int64.init)
            body.correlationData = properties.correlationData.map { Data($0) }
            body.responseTopic = properties.responseTopic
            body.payloadFormat = properties.payloadFormatIndicator.map { $0 == 1 ? .utf8 : .bytes }
            body.contentType = properties.contentType
            guard let json = try? IPCJSON.encode(IoTCoreMessageEvent(message: body)) else { continue }
            for stream in targets {
                do {
                    try await stream.send(event: IoTCoreMessageEvent.shape, json: json)
                    state.withLock { $0.delivered += 1 }
                } catch {
                    if case .outboundQueueFull = error {
                        let dropped = state.withLock { state -> Int in
                            state.droppedSlowSubscriber += 1
                            return state.droppedSlowSubscriber
                        }
                        if dropped == 1 || dropped % 1000 == 0 {
                            logger.warning(
                                "Dropping IoT Core messages for a subscriber that is not reading",
                                metadata: ["eventType": "mqtt-subscriber-slow", "topic": "\(message.topic)", "droppedTotal": "\(dropped)"])
                        }
                    }
                }
            }
        }
    }

    private func followConnection() async {
        for await event in client.events {
            switch event {
            case .connected(let sessionPresent):
                let counters = state.withLock { ($0.published, $0.delivered, $0.droppedSlowSubscriber) }
                logger.info(
                    "Successfully connected to AWS IoT Core.",
                    metadata: [
                        "eventType": "mqtt-connected", "clientId": "\(client.configuration.clientIdentifier)",
                        "sessionPresent": "\(sessionPresent)", "published": "\(counters.0)", "delivered": "\(counters.1)",
                        "droppedSlowSubscriber": "\(counters.2)",
                    ])
                await connectionStatus?.setConnected(true)
                durableSpool?.connected()
                await resubscribeDeferred()
            case .disconnected(let error):
                state.withLock { $0.granted.removeAll() }
                await connectionStatus?.setConnected(false)
                logger.warning("Connection interrupted", metadata: ["eventType": "mqtt-disconnected", "reason": "\(error)"])
                durableSpool?.disconnected()
            case .connectFailed(let error):
                // No connection existed, so nothing was interrupted: say what happened and why.
                logger.warning("Failed to connect to AWS IoT Core", metadata: ["eventType": "mqtt-connect-failed", "reason": "\(error)"])
            case .reconnecting(let attempt, let delay):
                logger.info("Reconnecting", metadata: ["eventType": "mqtt-reconnecting", "attempt": "\(attempt)", "delay": "\(delay)"])
            case .resubscribeFailed(let filter, let code):
                logger.error("Resubscribe failed", metadata: ["eventType": "mqtt-resubscribe-failed", "topic": "\(filter)", "reasonCode": "\(code)"])
            }
        }
    }

    /// Subscriptions made while offline (never granted) are sent now; the client re-sends granted ones itself.
    private func resubscribeDeferred() async {
        let missing = state.withLock { state in
            state.references.values.filter { !state.granted.contains($0.filter.string) }.map { ($0.filter, $0.qos) }
        }
        for (filter, qos) in missing {
            do {
                try await subscribeUpstream(filter, qos: qos)
            } catch {
                logger.error("Cannot subscribe to \(filter) after reconnecting: \(error)", metadata: ["eventType": "mqtt-subscribe-failed"])
            }
        }
    }

    private func authorize(_ call: IPCCall, _ operation: String, resource: String) async throws(IPCModeledError) {
        guard await authorizer.isAuthorized(
            principal: call.principal, service: Self.authorizationService, operation: operation, resource: resource)
        else {
            throw .unauthorized(
                "Principal \(call.principal) is not authorized to perform \(Self.authorizationService):\(operation) on resource \(resource)")
        }
    }
}

extension IoTCoreBridge {
    /// Without an `iotDataEndpoint` the device runs offline: both operations answer a modeled ServiceError, as
    /// the Java nucleus does, instead of looking unsupported.
    public static func registerOffline(on router: inout IPCRouter) {
        router.register(publishOperation) { call in
            let topic = (try? IPCJSON.decode(PublishToIoTCoreRequest.self, from: call.payload))?.topicName ?? ""
            return .error(.serviceError("Publish to topic \(topic) failed: Cannot publish because device is configured to run offline"))
        }
        router.register(subscribeOperation) { call in
            let topic = (try? IPCJSON.decode(SubscribeToIoTCoreRequest.self, from: call.payload))?.topicName ?? ""
            return .error(.serviceError("Subscribe to topic \(topic) failed: device is configured to run offline"))
        }
    }
}

import EventStreamRPCServer
import GreengrassAuthorization
import GreengrassIPCModel
import GreengrassJSON
import Logging
import MQTTCore
import NIOCore
import Synchronization

/// Limits a publish must respect; defaults are AWS IoT Core's (reference §7).
public struct IoTCoreLimits: Sendable {
    public var maximumTopicLength = 256
    public var maximumTopicSlashes = 7
    public var maximumPayloadBytes = 131_072

    public init(maximumPayloadBytes: Int = 131_072) {
        self.maximumPayloadBytes = maximumPayloadBytes
    }
}

/// The names the IoT Core operations answer to and authorize against, in one place.
public enum IoTCoreOperationNames {
    public static let authorizationService = IPCAuthorizationService.mqttProxy
    public static let publish = IPCOperationName.publishToIoTCore
    public static let publishResponse = "aws.greengrass#PublishToIoTCoreResponse"
    public static let subscribe = IPCOperationName.subscribeToIoTCore
    public static let subscribeResponse = "aws.greengrass#SubscribeToIoTCoreResponse"
    public static let messageEvent = "aws.greengrass#IoTCoreMessage"
}

/// `PublishToIoTCore` and `SubscribeToIoTCore`: decoding, validation and authorization of the requests, and the
/// fan-out of inbound messages to the IPC streams, over any ``IoTCoreUpstream``.
///
/// Every IPC subscription takes its own reference on the upstream subscription (the upstream shares one
/// subscription per filter and resubscribes after reconnects). Inbound messages reach streams through a topic
/// trie. A subscriber that does not read loses events (counted and logged) instead of stalling the upstream
/// connection or other subscribers.
public final class IoTCoreOperations: IoTCoreUpstreamSink, Sendable {
    struct Subscriber: Sendable {
        var component: String
        var filter: TopicFilter
        var stream: IPCStream
        /// The upstream accepted (or deferred) the subscription: the stream's end gives its reference back.
        var holdsUpstream = false
    }

    struct State: Sendable {
        var subscribers: [UInt64: Subscriber] = [:]
        var trie = TopicTrie<UInt64>()
        var nextID: UInt64 = 1
        var published = 0
        var delivered = 0
        var droppedSlowSubscriber = 0
    }

    private let upstream: any IoTCoreUpstream
    private let authorizer: any IPCAuthorizer
    private let limits: IoTCoreLimits
    private let logger: Logger
    private let state = Mutex(State())
    /// Told about every connect and disconnect (`SubscribeToIoTCoreConnectionStatus`).
    private let connectionStatus: ConnectionStatusOperations?
    /// The client identifier, for the connection log line.
    private let clientIdentifier: String

    public init(
        upstream: any IoTCoreUpstream, authorizer: any IPCAuthorizer, limits: IoTCoreLimits = IoTCoreLimits(), logger: Logger,
        connectionStatus: ConnectionStatusOperations? = nil, clientIdentifier: String = ""
    ) {
        self.upstream = upstream
        self.authorizer = authorizer
        self.limits = limits
        self.logger = logger
        self.connectionStatus = connectionStatus
        self.clientIdentifier = clientIdentifier
    }

    /// Registers the two operations on `router`.
    public func register(on router: inout IPCRouter) {
        // Publishing never blocks (decode, authorize, hand to the upstream): it runs on the IPC connection's loop.
        router.register(
            IoTCoreOperationNames.publish, runsOnConnectionLoop: true, immediately: { call in self.publishImmediately(call) }
        ) { call in await self.publish(call) }
        router.register(IoTCoreOperationNames.subscribe) { call in await self.subscribe(call) }
    }

    /// Without an `iotDataEndpoint` the device runs offline: both operations answer a modeled ServiceError, as
    /// the Java nucleus does, instead of looking unsupported.
    public static func registerOffline(on router: inout IPCRouter) {
        router.register(IoTCoreOperationNames.publish) { call in
            let topic = (try? PublishToIoTCoreInput(json: call.payload))?.topic ?? ""
            return .error(.serviceError("Publish to topic \(topic) failed: Cannot publish because device is configured to run offline"))
        }
        router.register(IoTCoreOperationNames.subscribe) { call in
            let topic = (try? SubscribeToIoTCoreInput(json: call.payload))?.topic ?? ""
            return .error(.serviceError("Subscribe to topic \(topic) failed: device is configured to run offline"))
        }
    }

    /// Follows the upstream (inbound messages, connection events) until it ends or the task is cancelled.
    public func run() async {
        await upstream.run(deliveringTo: self)
    }

    // MARK: PublishToIoTCore

    func publish(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let (request, topic) = try Self.decodePublish(call)
            try await authorize(call, IoTCoreOperationNames.publish, resource: topic)
            let message = try outboundMessage(request, topic: topic)
            do throws(IoTCoreUpstreamError) {
                try await upstream.publish(message)
            } catch {
                throw Self.publishFailure(error, topic: topic)
            }
            return published()
        } catch {
            return .error(error)
        }
    }

    /// ``publish(_:)`` on the IPC connection's loop when authorization answers without waiting (in-memory policy):
    /// a message the upstream takes at once (QoS 0, or QoS 1 without a durable spool, into the client's queue) is
    /// answered now; one it answers later (QoS 1 into the durable spool, once on disk) is handed on now and its
    /// reply follows on the loop — decoded and authorized once, with no task. Nil with nothing done when
    /// authorization needs to wait. Same checks in the same order, same replies as ``publish(_:)``.
    func publishImmediately(_ call: IPCCall) -> IPCLoopReply? {
        do throws(IPCModeledError) {
            let (request, topic) = try Self.decodePublish(call)
            let service = IoTCoreOperationNames.authorizationService, operation = IoTCoreOperationNames.publish
            guard let allowed = authorizer.isAuthorizedImmediately(
                principal: call.principal, service: service, operation: operation, resource: topic)
            else { return nil }
            guard allowed else { throw Self.unauthorized(call, service, operation, resource: topic) }
            let message = try outboundMessage(request, topic: topic)
            do throws(IoTCoreUpstreamError) {
                if try upstream.publishImmediately(message) { return .now(published()) }
                let reply = call.stream.eventLoop.makePromise(of: IPCReply.self)
                var handedOn = false
                // NIO wants every promise completed, also one the upstream refused or declined (nobody waits for it).
                defer { if !handedOn { reply.fail(IoTCoreUpstreamError.failed("not handed on")) } }
                handedOn = try upstream.publishAnsweringLater(message) { [self] outcome in
                    switch outcome {
                    case .success: reply.succeed(published())
                    case .failure(let error): reply.succeed(.error(Self.publishFailure(error, topic: topic)))
                    }
                }
                return handedOn ? .later(reply.futureResult) : nil
            } catch {
                throw Self.publishFailure(error, topic: topic)
            }
        } catch {
            return .now(.error(error))
        }
    }

    /// The request and its topic, which authorization needs before anything else is checked.
    private static func decodePublish(_ call: IPCCall) throws(IPCModeledError) -> (PublishToIoTCoreInput, String) {
        let request = try PublishToIoTCoreInput(json: call.payload)
        guard let topic = request.topic, !topic.isEmpty else { throw .invalidArguments("Topic is required") }
        return (request, topic)
    }

    /// The rest of the request's checks (after authorization), and the message they allow.
    private func outboundMessage(_ request: PublishToIoTCoreInput, topic: String) throws(IPCModeledError) -> MQTTOutboundMessage {
        guard let payload = request.payload else { throw .invalidArguments("Payload is required") }
        guard let qos = request.qos else { throw .invalidArguments("QoS is required") }
        try validatePublishTopic(topic)
        guard payload.readableBytes <= limits.maximumPayloadBytes else {
            throw .invalidArguments(
                "The publishing message size \(payload.readableBytes) bytes exceeds the configured limit of \(limits.maximumPayloadBytes) bytes")
        }
        var properties = request.properties
        if let expiry = request.messageExpiryIntervalSeconds {
            guard expiry >= 0 && expiry <= Int(UInt32.max) else {
                throw .invalidArguments("messageExpiryIntervalSeconds must be between 0 and \(UInt32.max)")
            }
            properties.messageExpiryInterval = UInt32(expiry)
        }
        return MQTTOutboundMessage(topic: topic, payload: payload, qos: qos, retain: request.retain, properties: properties)
    }

    private static func publishFailure(_ error: IoTCoreUpstreamError, topic: String) -> IPCModeledError {
        switch error {
        case .invalidTopic(let reason): .invalidArguments(reason)
        // Greengrass's wording: "Publish to topic <t> failed: <reason>", e.g. "Message spool is full. Message
        // could not be added." for a full spool, so components can recognise it and retry.
        case .refused(let reason), .failed(let reason): .serviceError("Publish to topic \(topic) failed: \(reason)")
        }
    }

    private func published() -> IPCReply {
        state.withLock { $0.published += 1 }
        return .response(shape: IoTCoreOperationNames.publishResponse, json: Self.emptyObject)
    }

    private static let emptyObject = Array("{}".utf8)
    private static let basicIngestPrefix = Array("$aws/rules/".utf8)

    /// AWS IoT Core's topic rules: no wildcards, at most 256 bytes and 7 slashes (excluding the
    /// `$aws/rules/<rule>/` basic-ingest prefix). Checked on UTF-8 bytes, as IoT Core counts them: a `/` is a
    /// level separator even when a combining mark follows it (which makes it part of another Character).
    func validatePublishTopic(_ topic: String) throws(IPCModeledError) {
        let slash = UInt8(ascii: "/")
        let bytes = topic.utf8
        if bytes.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") }) {
            throw .invalidArguments("Publish topics must not contain wildcard characters of '#' or '+'")
        }
        var effective = bytes[...]
        if bytes.starts(with: Self.basicIngestPrefix) {
            let afterPrefix = effective.dropFirst(Self.basicIngestPrefix.count)
            effective = afterPrefix.firstIndex(of: slash).map { afterPrefix[afterPrefix.index(after: $0)...] }
                ?? afterPrefix[afterPrefix.endIndex...]
        }
        guard effective.count <= limits.maximumTopicLength else {
            throw .invalidArguments("Topic \(topic) is longer than \(limits.maximumTopicLength) characters")
        }
        var slashes = 0
        for byte in effective where byte == slash { slashes += 1 }
        guard slashes <= limits.maximumTopicSlashes else {
            throw .invalidArguments("Topic \(topic) has more than \(limits.maximumTopicSlashes) forward slashes")
        }
        if let failure = TopicName.validationFailure(topic) { throw .invalidArguments(failure) }
    }

    // MARK: SubscribeToIoTCore

    func subscribe(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try SubscribeToIoTCoreInput(json: call.payload)
            guard let topic = request.topic, !topic.isEmpty else { throw .invalidArguments("Topic is required") }
            try await authorize(call, IoTCoreOperationNames.subscribe, resource: topic)
            let filter: TopicFilter
            do {
                filter = try TopicFilter(topic)
            } catch {
                throw .invalidArguments("\(error)")
            }
            let qos: QoS = request.qos == .atMostOnce ? .atMostOnce : .atLeastOnce
            let id = state.withLock { state in
                let id = state.nextID
                state.nextID += 1
                state.subscribers[id] = Subscriber(component: call.principal, filter: filter, stream: call.stream)
                state.trie.insert(filter, id)
                return id
            }
            call.stream.onTermination { [weak self] _ in
                guard let self, let subscriber = self.removeSubscriber(id), subscriber.holdsUpstream else { return }
                Task { await self.upstream.unsubscribe(subscriber.filter) }
            }
            do throws(IoTCoreUpstreamError) {
                if case .deferred(let reason) = try await upstream.subscribe(filter, qos: qos) {
                    logger.info(
                        "Upstream subscription deferred until connected",
                        metadata: ["eventType": "mqtt-subscribe-deferred", "topic": "\(topic)", "reason": "\(reason)"])
                }
            } catch {
                _ = removeSubscriber(id)
                switch error {
                case .invalidTopic(let reason): throw .invalidArguments(reason)
                case .refused(let reason), .failed(let reason):
                    throw .serviceError("Subscribe to topic \(topic) failed with error \(reason)")
                }
            }
            let ended = state.withLock { state in
                state.subscribers[id]?.holdsUpstream = true
                return state.subscribers[id] == nil
            }
            if ended {
                // The stream ended while the upstream was answering: give the reference back now.
                await upstream.unsubscribe(filter)
            }
            return .streamOpened(shape: IoTCoreOperationNames.subscribeResponse, json: Self.emptyObject)
        } catch {
            return .error(error)
        }
    }

    /// Forgets one IPC subscription; returns it if it was still there.
    private func removeSubscriber(_ id: UInt64) -> Subscriber? {
        state.withLock { state in
            guard let subscriber = state.subscribers.removeValue(forKey: id) else { return nil }
            _ = state.trie.remove(subscriber.filter) { $0 == id }
            return subscriber
        }
    }

    /// Ends every IoT Core subscription of a component (it stopped or was removed).
    public func removeSubscriptions(of component: String) async {
        let streams = state.withLock { state in state.subscribers.values.filter { $0.component == component }.map(\.stream) }
        for stream in streams { await stream.close() }
    }

    /// IPC subscriptions open now (for tests and diagnostics).
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    // MARK: Upstream sink

    public func deliver(_ message: IoTCoreInboundMessage) async {
        let targets = state.withLock { state in
            state.trie.match(topic: message.topic).compactMap { state.subscribers[$0]?.stream }
        }
        if targets.isEmpty { return }
        let json = Self.messageEvent(message)
        for stream in targets {
            do {
                try await stream.send(event: IoTCoreOperationNames.messageEvent, json: json)
                state.withLock { $0.delivered += 1 }
            } catch {
                guard case .outboundQueueFull = error else { continue }
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

    /// The `aws.greengrass#IoTCoreMessage` event body: `{"message": aws.greengrass#MQTTMessage}`.
    static func messageEvent(_ message: IoTCoreInboundMessage) -> [UInt8] {
        var body: [String: JSONValue] = [
            "topicName": .string(message.topic),
            "payload": .string(Base64.encode(message.payload.readableBytesView)),
        ]
        if message.retain { body["retain"] = true }
        let properties = message.properties
        if !properties.userProperties.isEmpty {
            body["userProperties"] = .array(properties.userProperties.map { ["key": .string($0.name), "value": .string($0.value)] })
        }
        if let expiry = properties.messageExpiryInterval { body["messageExpiryIntervalSeconds"] = .int(Int(expiry)) }
        if let correlation = properties.correlationData { body["correlationData"] = .string(Base64.encode(correlation)) }
        if let responseTopic = properties.responseTopic { body["responseTopic"] = .string(responseTopic) }
        if let format = properties.payloadFormatIndicator { body["payloadFormat"] = .string(format == 1 ? "1" : "0") }
        if let contentType = properties.contentType { body["contentType"] = .string(contentType) }
        return JSONValue.object(["message": .object(body)]).serializedBytes()
    }

    public func connectionChanged(_ event: IoTCoreConnectionEvent) async {
        switch event {
        case .connected(let sessionPresent):
            let counters = state.withLock { ($0.published, $0.delivered, $0.droppedSlowSubscriber) }
            logger.info(
                "Successfully connected to AWS IoT Core.",
                metadata: [
                    "eventType": "mqtt-connected", "clientId": "\(clientIdentifier)",
                    "sessionPresent": "\(sessionPresent)", "published": "\(counters.0)", "delivered": "\(counters.1)",
                    "droppedSlowSubscriber": "\(counters.2)",
                ])
            await connectionStatus?.setConnected(true)
        case .disconnected(let reason):
            await connectionStatus?.setConnected(false)
            logger.warning("Connection interrupted", metadata: ["eventType": "mqtt-disconnected", "reason": "\(reason)"])
        case .connectFailed(let reason):
            // No connection existed, so nothing was interrupted: say what happened and why.
            logger.warning("Failed to connect to AWS IoT Core", metadata: ["eventType": "mqtt-connect-failed", "reason": "\(reason)"])
        case .reconnecting(let attempt, let delay):
            logger.info("Reconnecting", metadata: ["eventType": "mqtt-reconnecting", "attempt": "\(attempt)", "delay": "\(delay)"])
        case .resubscribeFailed(let filter, let reason):
            logger.error("Resubscribe failed", metadata: ["eventType": "mqtt-resubscribe-failed", "topic": "\(filter)", "reasonCode": "\(reason)"])
        }
    }

    private func authorize(_ call: IPCCall, _ operation: String, resource: String) async throws(IPCModeledError) {
        let service = IoTCoreOperationNames.authorizationService
        guard await authorizer.isAuthorized(principal: call.principal, service: service, operation: operation, resource: resource) else {
            throw Self.unauthorized(call, service, operation, resource: resource)
        }
    }

    private static func unauthorized(_ call: IPCCall, _ service: String, _ operation: String, resource: String) -> IPCModeledError {
        .unauthorized("Principal \(call.principal) is not authorized to perform \(service):\(operation) on resource \(resource)")
    }
}

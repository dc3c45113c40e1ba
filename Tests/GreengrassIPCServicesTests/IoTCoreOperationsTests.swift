import EventStream
@testable import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassIPCServices
import GreengrassJSON
import GreengrassTestSupport
import Logging
import MQTTCore
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// A test double of the IPC side's own upstream protocol: records what the operations ask for and answers as
/// scripted.
final class FakeUpstream: IoTCoreUpstream {
    struct State {
        var published: [MQTTOutboundMessage] = []
        var publishError: IoTCoreUpstreamError?
        var subscribed: [(TopicFilter, QoS)] = []
        var subscribeAnswer: Result<IoTCoreSubscriptionState, IoTCoreUpstreamError> = .success(.active)
        var unsubscribed: [TopicFilter] = []
        /// Whether ``publishImmediately(_:)`` takes messages (else it declines, as a durable spool does).
        var takesImmediately = true
        /// Whether ``publishAnsweringLater(_:answer:)`` takes messages (as a durable spool does), keeping their
        /// answers for the test to give.
        var answersLater = false
        var answeringLater: [(message: MQTTOutboundMessage, answer: @Sendable (Result<Void, IoTCoreUpstreamError>) -> Void)] = []
    }

    let state = Mutex(State())
    let (inbound, inboundContinuation) = AsyncStream.makeStream(of: IoTCoreInboundMessage.self)

    func publish(_ message: MQTTOutboundMessage) async throws(IoTCoreUpstreamError) {
        try state.withLock { (state) throws(IoTCoreUpstreamError) in
            if let error = state.publishError { throw error }
            state.published.append(message)
        }
    }

    func publishImmediately(_ message: MQTTOutboundMessage) throws(IoTCoreUpstreamError) -> Bool {
        try state.withLock { (state) throws(IoTCoreUpstreamError) -> Bool in
            guard state.takesImmediately else { return false }
            if let error = state.publishError { throw error }
            state.published.append(message)
            return true
        }
    }

    func publishAnsweringLater(
        _ message: MQTTOutboundMessage, answer: @escaping @Sendable (Result<Void, IoTCoreUpstreamError>) -> Void
    ) throws(IoTCoreUpstreamError) -> Bool {
        try state.withLock { (state) throws(IoTCoreUpstreamError) -> Bool in
            guard state.answersLater else { return false }
            if let error = state.publishError { throw error }
            state.answeringLater.append((message, answer))
            return true
        }
    }

    /// Gives the oldest kept answer.
    func answerNext(_ result: Result<Void, IoTCoreUpstreamError>) {
        let answer = state.withLock { $0.answeringLater.isEmpty ? nil : $0.answeringLater.removeFirst().answer }
        answer?(result)
    }

    func subscribe(_ filter: TopicFilter, qos: QoS) async throws(IoTCoreUpstreamError) -> IoTCoreSubscriptionState {
        try state.withLock { state in
            state.subscribed.append((filter, qos))
            return state.subscribeAnswer
        }.get()
    }

    func unsubscribe(_ filter: TopicFilter) async {
        state.withLock { $0.unsubscribed.append(filter) }
    }

    func run(deliveringTo sink: any IoTCoreUpstreamSink) async {
        for await message in inbound { await sink.deliver(message) }
    }
}

/// How many times a request was authorized (either way).
final class AuthorizationCount: Sendable {
    let asked = Mutex(0)
    var value: Int { asked.withLock { $0 } }
}

struct AllowList: IPCAuthorizer {
    var allowed: Set<String>
    /// Whether it also answers ``isAuthorizedImmediately(principal:service:operation:resource:)`` (an in-memory
    /// policy does), so a publish can be answered on the connection's loop.
    var immediate = false
    var count = AuthorizationCount()

    func isAuthorized(principal: String, service: String, operation: String, resource: String) async -> Bool {
        count.asked.withLock { $0 += 1 }
        return service == "aws.greengrass.ipc.mqttproxy" && allowed.contains("\(principal) \(operation) \(resource)")
    }

    func isAuthorizedImmediately(principal: String, service: String, operation: String, resource: String) -> Bool? {
        guard immediate else { return nil }
        count.asked.withLock { $0 += 1 }
        return service == "aws.greengrass.ipc.mqttproxy" && allowed.contains("\(principal) \(operation) \(resource)")
    }
}

@Suite("IoT Core operations over a fake upstream")
struct IoTCoreOperationsTests {
    static let publish = "aws.greengrass#PublishToIoTCore"
    static let subscribe = "aws.greengrass#SubscribeToIoTCore"

    let upstream = FakeUpstream()
    let authorizations = AuthorizationCount()
    let router: IPCRouter
    let operations: IoTCoreOperations

    /// A topic with eight `/` bytes, each followed by a combining accent (so no `/` Character at all).
    static let accentedSlashes = "a" + String(repeating: "/\u{301}x", count: 8)

    init() {
        self.init(immediateAuthorization: false)
    }

    init(immediateAuthorization: Bool) {
        operations = IoTCoreOperations(
            upstream: upstream,
            authorizer: AllowList(allowed: [
                "c \(Self.publish) a/b", "c \(Self.subscribe) a/#", "c \(Self.publish) a/b/c/d/e/f/g/h/i",
                "c \(Self.publish) $aws/rules/r/a/b/c/d/e/f/g/h", "c \(Self.publish) a/+", "c \(Self.publish) \(Self.accentedSlashes)",
            ], immediate: immediateAuthorization, count: authorizations),
            limits: IoTCoreLimits(maximumPayloadBytes: 8), logger: Logger(label: "test"))
        var router = IPCRouter()
        operations.register(on: &router)
        self.router = router
    }

    /// `operation` as the server first tries it on the connection's loop: the reply, or nil for "call handle".
    func callOnLoop(_ operation: String, _ json: String, principal: String = "c") -> IPCReply? {
        callOnLoop(Self.call(operation, json, principal: principal))
    }

    func callOnLoop(_ call: IPCCall) -> IPCReply? {
        #expect(router.runsOnConnectionLoop(call.operation))
        switch router.handleOnConnectionLoop(call) {
        case .now(let reply): return reply
        case .later: Issue.record("answered later, expected now or nil"); return nil
        case nil: return nil
        }
    }

    /// `call` on the connection's loop, expecting its work handed on and the reply to come.
    func callOnLoopAnsweredLater(_ call: IPCCall) -> EventLoopFuture<IPCReply>? {
        guard case .later(let reply) = router.handleOnConnectionLoop(call) else {
            Issue.record("expected the reply later")
            return nil
        }
        return reply
    }

    static func call(_ operation: String, _ json: String, principal: String = "c") -> IPCCall {
        let stream = IPCStream.detached(operation: operation, eventLoop: EmbeddedEventLoop()) { _ in }
        return IPCCall(principal: principal, operation: operation, payload: Array(json.utf8), stream: stream)
    }

    /// A value shared with a task.
    final class Box<Value: Sendable>: Sendable {
        let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
    }

    /// The events a stream received.
    final class Events: Sendable {
        let received = Mutex<[JSONValue]>([])
        var all: [JSONValue] { received.withLock { $0 } }
    }

    func call(_ operation: String, _ json: String, principal: String = "c", events: Events? = nil) async -> (IPCReply, IPCStream) {
        let stream = IPCStream.detached(operation: operation, eventLoop: EmbeddedEventLoop()) { output in
            guard case .event(_, let body) = output, let value = try? JSONValue(parsing: Array(buffer: body)) else { return }
            events?.received.withLock { $0.append(value) }
        }
        let reply = await router.handle(IPCCall(principal: principal, operation: operation, payload: Array(json.utf8), stream: stream))
        return (reply, stream)
    }

    static func invalid(_ text: String) -> IPCReply { .error(IPCModeledError.invalidArguments(text)) }

    @Test("a publish reaches the upstream decoded once: payload bytes, QoS, retain and MQTT 5 properties")
    func publishDecodes() async {
        let (reply, _) = await call(Self.publish, """
            {"topicName":"a/b","qos":"1","payload":"aGk=","retain":true,"userProperties":[{"key":"k","value":"v"}],
             "messageExpiryIntervalSeconds":60,"correlationData":"AQI=","responseTopic":"r","payloadFormat":"1","contentType":"text/plain"}
            """)
        #expect(reply == .response(shape: "aws.greengrass#PublishToIoTCoreResponse", json: Array("{}".utf8)))
        let published = upstream.state.withLock { $0.published }
        #expect(published.count == 1)
        guard let message = published.first else { return }
        #expect(message.topic == "a/b")
        #expect(message.payload == ByteBuffer(string: "hi"))
        #expect(message.qos == .atLeastOnce)
        #expect(message.retain)
        #expect(message.properties.userProperties == [MQTTUserProperty("k", "v")])
        #expect(message.properties.messageExpiryInterval == 60)
        #expect(message.properties.correlationData == [1, 2])
        #expect(message.properties.responseTopic == "r")
        #expect(message.properties.payloadFormatIndicator == 1)
        #expect(message.properties.contentType == "text/plain")
    }

    @Test("integer QoS is accepted on input")
    func integerQoS() async {
        _ = await call(Self.publish, #"{"topicName":"a/b","qos":0,"payload":""}"#)
        #expect(upstream.state.withLock { $0.published.map(\.qos) } == [.atMostOnce])
    }

    static let badPublishes = [
        (#"{"qos":"0","payload":""}"#, "Topic is required"),
        (#"{"topicName":"a/b","qos":"0"}"#, "Payload is required"),
        (#"{"topicName":"a/b","payload":""}"#, "QoS is required"),
        (#"{"topicName":"a/b","qos":"2","payload":""}"#, #"Invalid QoS value: expected "0" or "1""#),
        (#"{"topicName":"a/b","qos":"0","payload":"aGk"}"#, "Request body is not a valid PublishToIoTCoreRequest: payload is not valid base64"),
        (#"{"topicName":"a/b","qos":"0","payload":"a=Gk"}"#, "Request body is not a valid PublishToIoTCoreRequest: payload is not valid base64"),
        (#"{"topicName":"a/b","qos":"0","payload":7}"#, "Request body is not a valid PublishToIoTCoreRequest: payload must be a base64 string, found integer"),
        (#"{"topicName":"a/b","qos":"0","payload":"MTIzNDU2Nzg5"}"#, "The publishing message size 9 bytes exceeds the configured limit of 8 bytes"),
        (#"{"topicName":"a/b","qos":"0","payload":"","messageExpiryIntervalSeconds":-1}"#, "messageExpiryIntervalSeconds must be between 0 and 4294967295"),
        (#"{"topicName":"a/+","qos":"0","payload":""}"#, "Publish topics must not contain wildcard characters of '#' or '+'"),
        (#"{"topicName":"a/b/c/d/e/f/g/h/i","qos":"0","payload":""}"#, "Topic a/b/c/d/e/f/g/h/i has more than 7 forward slashes"),
        (#"{"topicName":"\#(accentedSlashes)","qos":"0","payload":""}"#, "Topic \(accentedSlashes) has more than 7 forward slashes"),
    ]

    @Test("bad requests are InvalidArgumentsError and never reach the upstream", arguments: badPublishes)
    func badPublish(json: String, message: String) async {
        let (reply, _) = await call(Self.publish, json)
        Self.expectInvalid(reply, message)
        #expect(upstream.state.withLock { $0.published.isEmpty })
    }

    @Test("on the connection's loop bad requests get the same InvalidArgumentsError and never reach the upstream", arguments: badPublishes)
    func badPublishOnLoop(json: String, message: String) {
        let onLoop = IoTCoreOperationsTests(immediateAuthorization: true)
        Self.expectInvalid(onLoop.callOnLoop(Self.publish, json), message)
        #expect(onLoop.upstream.state.withLock { $0.published.isEmpty })
    }

    static func expectInvalid(_ reply: IPCReply?, _ message: String) {
        if case .error(let error) = reply, message.hasPrefix("Request body") {
            #expect(error.name == IPCModeledError.invalidArguments("").name)
            #expect(error.message.hasPrefix(message), "\(error.message)")
        } else {
            #expect(reply == Self.invalid(message))
        }
    }

    @Test("on the connection's loop: an in-memory policy and an upstream that takes it now answer the publish there")
    func publishOnLoop() {
        let onLoop = IoTCoreOperationsTests(immediateAuthorization: true)
        let reply = onLoop.callOnLoop(Self.publish, #"{"topicName":"a/b","qos":"0","payload":"aGk="}"#)
        #expect(reply == .response(shape: "aws.greengrass#PublishToIoTCoreResponse", json: Array("{}".utf8)))
        #expect(onLoop.upstream.state.withLock { $0.published.map(\.payload) } == [ByteBuffer(string: "hi")])
        let denied = onLoop.callOnLoop(Self.publish, #"{"topicName":"x","qos":"0","payload":""}"#)
        #expect(denied == .error(IPCModeledError.unauthorized(
            "Principal c is not authorized to perform aws.greengrass.ipc.mqttproxy:aws.greengrass#PublishToIoTCore on resource x")))
        onLoop.upstream.state.withLock { $0.publishError = .failed("Device is offline. Dropping QoS 0 message.") }
        let refused = onLoop.callOnLoop(Self.publish, #"{"topicName":"a/b","qos":"0","payload":""}"#)
        #expect(refused == .error(IPCModeledError.serviceError("Publish to topic a/b failed: Device is offline. Dropping QoS 0 message.")))
    }

    @Test("an authorizer or an upstream that must wait: nil on the loop, nothing published, handle answers instead")
    func publishNotOnLoop() async {
        #expect(callOnLoop(Self.publish, #"{"topicName":"a/b","qos":"0","payload":""}"#) == nil)
        let onLoop = IoTCoreOperationsTests(immediateAuthorization: true)
        onLoop.upstream.state.withLock { $0.takesImmediately = false }
        #expect(onLoop.callOnLoop(Self.publish, #"{"topicName":"a/b","qos":"1","payload":""}"#) == nil)
        #expect(onLoop.upstream.state.withLock { $0.published.isEmpty })
        #expect(upstream.state.withLock { $0.published.isEmpty })
        let (reply, _) = await call(Self.publish, #"{"topicName":"a/b","qos":"1","payload":""}"#)
        #expect(reply == .response(shape: "aws.greengrass#PublishToIoTCoreResponse", json: Array("{}".utf8)))
    }

    /// Operations with an in-memory policy over an upstream that answers QoS 1 publishes later, as the durable
    /// spool does.
    static func overDurableSpool() -> IoTCoreOperationsTests {
        let onLoop = IoTCoreOperationsTests(immediateAuthorization: true)
        onLoop.upstream.state.withLock {
            $0.takesImmediately = false
            $0.answersLater = true
        }
        return onLoop
    }

    @Test("a publish the upstream answers later (durable spool) is decoded and authorized once on the loop, handed on from there, and its reply follows the upstream's answer")
    func publishAnsweredLater() async throws {
        let onLoop = Self.overDurableSpool()
        var replies: [IPCReply] = []
        for (index, answer) in [Result<Void, IoTCoreUpstreamError>.success(()), .failure(.failed("Message could not be written to the spool: disk full"))].enumerated() {
            let call = Self.call(Self.publish, #"{"topicName":"a/b","qos":"1","payload":"aGk="}"#)
            let reply = try #require(onLoop.callOnLoopAnsweredLater(call))
            #expect(onLoop.upstream.state.withLock { $0.answeringLater.map(\.message.payload) } == [ByteBuffer(string: "hi")])
            let answered = Box(false)
            reply.whenComplete { _ in answered.withLock { $0 = true } }
            #expect(!answered.withLock { $0 }, "answered before the upstream answered")
            onLoop.upstream.answerNext(answer)
            replies.append(try await reply.get())
            #expect(onLoop.authorizations.value == index + 1, "authorized once per publish")
            #expect(onLoop.upstream.state.withLock { $0.published.isEmpty }, "handed to the upstream once, for later")
        }
        #expect(replies == [
            .response(shape: "aws.greengrass#PublishToIoTCoreResponse", json: Array("{}".utf8)),
            .error(IPCModeledError.serviceError("Publish to topic a/b failed: Message could not be written to the spool: disk full")),
        ])
        // Refused at once (a full spool): answered now, nothing handed on.
        onLoop.upstream.state.withLock { $0.publishError = .failed("Message spool is full. Message could not be added.") }
        #expect(onLoop.callOnLoop(Self.publish, #"{"topicName":"a/b","qos":"1","payload":""}"#)
            == .error(IPCModeledError.serviceError("Publish to topic a/b failed: Message spool is full. Message could not be added.")))
        #expect(onLoop.upstream.state.withLock { $0.answeringLater.isEmpty })
    }

    @Test("the basic-ingest prefix does not count against the slash limit")
    func basicIngest() async {
        let (reply, _) = await call(Self.publish, #"{"topicName":"$aws/rules/r/a/b/c/d/e/f/g/h","qos":"0","payload":""}"#)
        #expect(reply == .response(shape: "aws.greengrass#PublishToIoTCoreResponse", json: Array("{}".utf8)))
    }

    @Test("an unauthorized publish is refused with the principal, operation and resource named")
    func unauthorized() async {
        let (reply, _) = await call(Self.publish, #"{"topicName":"x","qos":"0","payload":""}"#)
        #expect(reply == .error(IPCModeledError.unauthorized(
            "Principal c is not authorized to perform aws.greengrass.ipc.mqttproxy:aws.greengrass#PublishToIoTCore on resource x")))
    }

    @Test("an upstream refusal is Greengrass's ServiceError; an invalid topic is the caller's fault")
    func upstreamErrors() async {
        upstream.state.withLock { $0.publishError = .failed("Message spool is full. Message could not be added.") }
        let (full, _) = await call(Self.publish, #"{"topicName":"a/b","qos":"1","payload":""}"#)
        #expect(full == .error(IPCModeledError.serviceError("Publish to topic a/b failed: Message spool is full. Message could not be added.")))
        upstream.state.withLock { $0.publishError = .invalidTopic("bad topic") }
        let (invalid, _) = await call(Self.publish, #"{"topicName":"a/b","qos":"1","payload":""}"#)
        #expect(invalid == Self.invalid("bad topic"))
    }

    @Test("each IPC subscription holds one upstream reference, given back when its stream ends")
    func subscriptionReferences() async {
        let (first, firstStream) = await call(Self.subscribe, #"{"topicName":"a/#","qos":"0"}"#)
        #expect(first == .streamOpened(shape: "aws.greengrass#SubscribeToIoTCoreResponse", json: Array("{}".utf8)))
        let (_, secondStream) = await call(Self.subscribe, #"{"topicName":"a/#"}"#)
        #expect(upstream.state.withLock { $0.subscribed.map { "\($0.0) \($0.1)" } } == ["a/# QoS 0", "a/# QoS 1"])
        // As the connection ending them would.
        firstStream.terminate(.clientClosed)
        secondStream.terminate(.connectionClosed)
        _ = await eventually(timeout: .seconds(5)) { upstream.state.withLock { $0.unsubscribed.count == 2 } }
        #expect(upstream.state.withLock { $0.unsubscribed } == ["a/#", "a/#"])
        #expect(operations.subscriberCount == 0)
    }

    @Test("a refused subscription is a ServiceError and holds no reference; a deferred one stays open")
    func refusedAndDeferred() async {
        upstream.state.withLock { $0.subscribeAnswer = .failure(.refused("notAuthorized")) }
        let (refused, refusedStream) = await call(Self.subscribe, #"{"topicName":"a/#","qos":"1"}"#)
        #expect(refused == .error(IPCModeledError.serviceError("Subscribe to topic a/# failed with error notAuthorized")))
        refusedStream.terminate(.serverClosed)
        #expect(operations.subscriberCount == 0)
        upstream.state.withLock { $0.subscribeAnswer = .success(.deferred(reason: "offline")) }
        let (deferred, _) = await call(Self.subscribe, #"{"topicName":"a/#","qos":"1"}"#)
        #expect(deferred == .streamOpened(shape: "aws.greengrass#SubscribeToIoTCoreResponse", json: Array("{}".utf8)))
        #expect(operations.subscriberCount == 1)
        #expect(upstream.state.withLock { $0.unsubscribed.isEmpty })
    }

    @Test("inbound messages reach the matching streams as IoTCoreMessage events with base64 payloads")
    func fanOut() async throws {
        let events = Events()
        _ = await call(Self.subscribe, #"{"topicName":"a/#","qos":"1"}"#, events: events)
        var properties = MQTTProperties()
        properties.userProperties = [MQTTUserProperty("k", "v")]
        properties.correlationData = [1, 2]
        let run = Task { await operations.run() }
        upstream.inboundContinuation.yield(IoTCoreInboundMessage(topic: "a/x", payload: ByteBuffer(string: "hi"), retain: true, properties: properties))
        upstream.inboundContinuation.yield(IoTCoreInboundMessage(topic: "b", payload: ByteBuffer(string: "no")))
        upstream.inboundContinuation.finish()
        await run.value
        let expected: JSONValue = [
            "message": [
                "topicName": "a/x", "payload": "aGk=", "retain": true, "userProperties": [["key": "k", "value": "v"]], "correlationData": "AQI=",
            ]
        ]
        #expect(events.all == [expected])
    }

    @Test("offline: both operations answer a modeled ServiceError naming the topic")
    func offline() async {
        var router = IPCRouter()
        IoTCoreOperations.registerOffline(on: &router)
        let stream = IPCStream.detached(operation: Self.publish, eventLoop: EmbeddedEventLoop()) { _ in }
        let reply = await router.handle(IPCCall(
            principal: "c", operation: Self.publish, payload: Array(#"{"topicName":"a/b"}"#.utf8), stream: stream))
        #expect(reply == .error(IPCModeledError.serviceError("Publish to topic a/b failed: Cannot publish because device is configured to run offline")))
    }
}

import EventStream
import EventStreamRPCServer
import Foundation
import GreengrassIPCModel
import GreengrassTestSupport
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Every socket-level suite of this target runs inside this one, one suite after another: they all start servers
/// and many connections, and run side by side on a loaded 2-core machine they push each other past their deadlines.
@Suite(.serialized)
enum EventStreamRPCSuites {}

/// The conformance scenario's identity (vectors README, step 5).
enum Conformance {
    static let token = "CONFORMANCETOKEN"
    static let component = "com.example.Conformance"
    static let iotPayloadBase64 = "eyJtc2ciOiJoZWxsby53b3JsZCJ9"

    /// The real SDK's client script of the capture tool the vectors were recorded with (vendored, with its codec).
    static let captureScript = RepositoryFiles.fixturePath("eventstream-capture/capture.py")

    /// The frame stored in `Tests/Fixtures/eventstream/<name>.hex`; a missing or malformed file throws an error
    /// naming its path, failing only the test that needs it.
    static func frame(_ name: String) throws -> [UInt8] {
        try RepositoryFiles.hexFixture("eventstream/\(name).hex")
    }

    /// The decoded frame stored in `<name>.hex`, as an RPC message.
    static func rpc(_ name: String) throws -> RPCMessage {
        var buffer = ByteBuffer(bytes: try frame(name))
        return try RPCMessage(try #require(try EventStreamDecoder.decodeMessage(from: &buffer)))
    }
}

/// Accepts exactly one token.
struct FixedTokenAuthenticator: IPCAuthenticator {
    var tokens: [String: String] = [Conformance.token: Conformance.component]
    func authenticate(authToken: String) async -> String? { tokens[authToken] }
}

/// Values handed from handlers to the test, in order, awaited with a deadline so a missing value fails instead of
/// hanging. Not an `AsyncStream`: one ends for good when a task waiting on it is cancelled, so after one timed-out
/// wait every later value would be lost.
final class Inbox<Value: Sendable>: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Value?, Never>
    }

    private struct State {
        var values: [Value] = []
        var waiters: [Waiter] = []
        var lastWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    func put(_ value: Value) {
        let waiter = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.values.append(value)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.continuation.resume(returning: value)
    }

    /// The next value, or nil if none arrives before `timeout`. A wait that times out takes nothing: a value put
    /// afterwards is the next call's.
    func next(timeout: Duration = .seconds(10)) async -> Value? {
        let id = state.withLock { state in
            state.lastWaiterID += 1
            return state.lastWaiterID
        }
        var expiry: Task<Void, Never>?
        let value = await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
            let waiting = state.withLock { state in
                if state.values.isEmpty {
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return true
                }
                continuation.resume(returning: state.values.removeFirst())
                return false
            }
            // Started once the waiter is registered, so even a zero timeout finds it.
            if waiting { expiry = Task { await self.expire(id, after: timeout) } }
        }
        expiry?.cancel()
        return value
    }

    /// Ends waiter `id` with nil after `timeout`, unless a value reached it first (then its expiry is cancelled).
    private func expire(_ id: UInt64, after timeout: Duration) async {
        try? await Task.sleep(for: timeout)
        let waiter = state.withLock { state in
            state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
        }
        waiter?.continuation.resume(returning: nil)
    }
}

/// Records how streams ended, for assertions on handler-side termination signals.
typealias TerminationLog = Inbox<(String, IPCStreamTermination)>

extension Inbox where Value == (String, IPCStreamTermination) {
    func record(_ operation: String, _ how: IPCStreamTermination) { put((operation, how)) }
}

/// Handlers that answer like the scripted server of the conformance scenario, with two deliberate differences:
/// RestartComponent is not registered (→ modeled "not supported" ServiceError) and StopComponent succeeds.
func conformanceRouter(terminations: TerminationLog? = nil) -> IPCRouter {
    @Sendable func json(_ text: String) -> [UInt8] { Array(text.utf8) }
    @Sendable func request(_ call: IPCCall) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(call.payload)) as? [String: Any]) ?? [:]
    }
    var router = IPCRouter()
    router.register("aws.greengrass#PublishToIoTCore") { call in
        let topic = request(call)["topicName"] as? String ?? ""
        if topic == "forbidden/topic" {
            return .error(.unauthorized(
                "Principal \(call.principal) is not authorized to perform aws.greengrass.ipc.mqttproxy:aws.greengrass#PublishToIoTCore on resource \(topic)"))
        }
        return .response(shape: "aws.greengrass#PublishToIoTCoreResponse", json: json("{}"))
    }
    router.register("aws.greengrass#SubscribeToIoTCore") { call in
        let topic = request(call)["topicName"] as? String ?? ""
        call.stream.onTermination { terminations?.record(call.operation, $0) }
        // Sent before the response on purpose: the server must queue it until the response is out.
        try? await call.stream.send(
            event: "aws.greengrass#IoTCoreMessage",
            json: json(#"{"message":{"topicName":"\#(topic)","payload":"\#(Conformance.iotPayloadBase64)"}}"#))
        return .streamOpened(shape: "aws.greengrass#SubscribeToIoTCoreResponse", json: json("{}"))
    }
    router.register("aws.greengrass#PublishToTopic") { _ in
        .response(shape: "aws.greengrass#PublishToTopicResponse", json: json("{}"))
    }
    router.register("aws.greengrass#SubscribeToTopic") { call in
        let topic = request(call)["topic"] as? String ?? ""
        call.stream.onTermination { terminations?.record(call.operation, $0) }
        try? await call.stream.send(
            event: "aws.greengrass#SubscriptionResponseMessage",
            json: json(#"{"jsonMessage":{"message":{"msg":"hello.world"},"context":{"topic":"\#(topic)"}}}"#))
        await call.stream.close()
        return .streamOpened(shape: "aws.greengrass#SubscribeToTopicResponse", json: json("{}"))
    }
    router.register("aws.greengrass#GetConfiguration") { call in
        let leaf = (request(call)["keyPath"] as? [String])?.last ?? "topic"
        return .response(shape: "aws.greengrass#GetConfigurationResponse",
                         json: json(#"{"componentName":"\#(call.principal)","value":{"\#(leaf)":"core/topic"}}"#))
    }
    router.register("aws.greengrass#UpdateConfiguration") { _ in
        .response(shape: "aws.greengrass#UpdateConfigurationResponse", json: json("{}"))
    }
    router.register("aws.greengrass#UpdateState") { _ in
        .response(shape: "aws.greengrass#UpdateStateResponse", json: json("{}"))
    }
    router.register("aws.greengrass#StopComponent") { _ in
        .response(shape: "aws.greengrass#StopComponentResponse", json: json(#"{"stopStatus":"SUCCEEDED","message":"stopped"}"#))
    }
    return router
}

/// A server on a socket in its own temporary directory, running until `stop()`.
final class RunningServer: Sendable {
    let directory: TemporaryDirectory
    let server: IPCServer
    let task: Task<Void, any Error>
    var socketPath: String { server.configuration.socketPath }

    init(
        handler: any IPCOperationHandler = conformanceRouter(),
        authenticator: any IPCAuthenticator = FixedTokenAuthenticator(),
        configure: (inout IPCServerConfiguration) -> Void = { _ in }
    ) async throws {
        directory = try TemporaryDirectory(prefix: "es")
        var configuration = IPCServerConfiguration(socketPath: directory.file("ipc.socket"))
        configure(&configuration)
        var logger = Logger(label: "ipc-test")
        logger.logLevel = .warning
        let server = try await IPCServer.bind(
            configuration: configuration, authenticator: authenticator, handler: handler, logger: logger)
        self.server = server
        task = Task { try await server.run() }
    }

    /// Cancels `run()` and waits for it to return.
    func stop() async throws {
        task.cancel()
        try await task.value
    }
}

/// A raw event-stream connection for replaying exact frames and observing exactly what the server sends.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let inbound: AsyncStream<EventStreamMessage>
    private let iterator: IteratorBox

    private final class IteratorBox: @unchecked Sendable {
        var iterator: AsyncStream<EventStreamMessage>.AsyncIterator
        init(_ iterator: AsyncStream<EventStreamMessage>.AsyncIterator) { self.iterator = iterator }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = EventStreamMessage
        let continuation: AsyncStream<EventStreamMessage>.Continuation
        init(_ continuation: AsyncStream<EventStreamMessage>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            continuation.finish()
            context.close(promise: nil)
        }
    }

    init(socketPath: String) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: EventStreamMessage.self)
        inbound = stream
        iterator = IteratorBox(stream.makeAsyncIterator())
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(EventStreamDecoder()))
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation))
                }
            }
            .connect(unixDomainSocketPath: socketPath).get()
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ message: RPCMessage) async throws {
        try await channel.writeAndFlush(try EventStreamEncoder.encode(message.eventStreamMessage))
    }

    /// The next message from the server; nil once the server closed the connection (or after `timeout`).
    func next(timeout: Duration = .seconds(10)) async -> RPCMessage? {
        let box = iterator
        let message = await withDeadline(timeout) { () async -> EventStreamMessage? in
            await box.iterator.next()
        } ?? nil
        return message.flatMap { try? RPCMessage($0) }
    }

    /// Whether the server closes the connection (after any messages) within `timeout`.
    func serverCloses(timeout: Duration = .seconds(10)) async -> Bool {
        let box = iterator
        let closed = await withDeadline(timeout) { () async -> Bool in
            while await box.iterator.next() != nil {}
            return true
        }
        return closed ?? false
    }

    /// Connect + accepted ConnectAck, with the conformance token.
    /// Sends Connect and reports whether an accepting ConnectAck came back.
    @discardableResult
    func handshake(token: String = Conformance.token) async throws -> Bool {
        try await send(connectFrame(token: token))
        let ack = await next()
        return ack?.type == .connectAck && ack?.flags == .connectionAccepted
    }

    func close() async {
        try? await channel.close()
    }
}

/// A Connect frame: the captured one for the conformance token, otherwise encoded the way Java clients do.
func connectFrame(token: String) throws -> [UInt8] {
    if token == Conformance.token { return try Conformance.frame("01_c2s_connect") }
    let connect = RPCMessage(
        type: .connect,
        headers: [EventStreamHeader(name: ":version", value: .string("0.1.0"))],
        payload: ByteBuffer(string: #"{"authToken":"\#(token)"}"#))
    return Array(buffer: try EventStreamEncoder.encode(connect.eventStreamMessage))
}

/// Runs `body`, giving up (nil) after `timeout`. A bound for tests, not a way to wait for something.
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await body() }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

import EventStream
import EventStreamRPCClient
import EventStreamRPCServer
import Foundation
import GreengrassAuthorization
import GreengrassJSON
import GreengrassPubSub
import GreengrassTestSupport
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Token `token-<component>` authenticates as `<component>`.
struct ComponentTokens: IPCAuthenticator {
    func authenticate(authToken: String) async -> String? {
        authToken.hasPrefix("token-") ? String(authToken.dropFirst("token-".count)) : nil
    }
}

/// `accessControl` for pub/sub: component → [(operations, resources)].
func pubsubConfigurations(_ grants: [String: [([String], [String])]]) -> [String: JSONValue] {
    grants.mapValues { policies in
        var table: [String: JSONValue] = [:]
        for (index, policy) in policies.enumerated() {
            table["policy\(index)"] = .object([
                "operations": .array(policy.0.map { .string($0 == "*" ? $0 : "aws.greengrass#" + $0) }),
                "resources": .array(policy.1.map { .string($0) }),
            ])
        }
        return .object(["accessControl": .object([IPCAuthorizationService.pubsub: .object(table)])])
    }
}

/// The pub/sub service behind a real IPC server on a socket in a temporary directory.
final class PubSubServer: Sendable {
    let directory: TemporaryDirectory
    let engine: AuthorizationEngine
    let service: LocalPubSubService
    let server: IPCServer
    private let task: Task<Void, any Error>
    var socketPath: String { server.configuration.socketPath }

    init(
        configurations: [String: JSONValue],
        limits: LocalPubSubLimits = LocalPubSubLimits(),
        configure: (inout IPCServerConfiguration) -> Void = { _ in }
    ) async throws {
        directory = try TemporaryDirectory(prefix: "ps")
        engine = AuthorizationEngine(configurations: configurations)
        var logger = Logger(label: "pubsub-test")
        logger.logLevel = .error
        service = LocalPubSubService(authorizer: engine, limits: limits, logger: logger)
        var router = IPCRouter()
        service.register(on: &router)
        var configuration = IPCServerConfiguration(socketPath: directory.file("ipc.socket"))
        configure(&configuration)
        let server = try await IPCServer.bind(
            configuration: configuration, authenticator: ComponentTokens(), handler: router, logger: logger)
        self.server = server
        task = Task { try await server.run() }
    }

    private let clients = Mutex<[IPCClient]>([])

    /// Runs `body` against a fresh server; afterwards (also when `body` throws) closes every client it connected
    /// and stops the server.
    static func with(
        _ configurations: [String: JSONValue],
        limits: LocalPubSubLimits = LocalPubSubLimits(),
        configure: (inout IPCServerConfiguration) -> Void = { _ in },
        _ body: (PubSubServer) async throws -> Void
    ) async throws {
        let server = try await PubSubServer(configurations: configurations, limits: limits, configure: configure)
        do {
            try await body(server)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    /// A client authenticated as `component`, closed by ``stop()``.
    func connect(as component: String) async throws -> IPCClient {
        let client = try await IPCClient.connect(socketPath: socketPath, authToken: "token-" + component)
        clients.withLock { $0.append(client) }
        return client
    }

    func stop() async throws {
        for client in clients.withLock({ $0 }) { await client.close() }
        task.cancel()
        try await task.value
    }
}

extension IPCClient {
    /// PublishToTopic with a JSON body; returns the response or throws the server's error.
    @discardableResult
    func publish(_ topic: String, json message: String) async throws(IPCClientError) -> IPCResponse {
        try await call(
            operation: "aws.greengrass#PublishToTopic", requestShape: "aws.greengrass#PublishToTopicRequest",
            payload: Array(#"{"topic": \#(quoted(topic)), "publishMessage": {"jsonMessage": {"message": \#(message)}}}"#.utf8))
    }

    /// PublishToTopic with a binary body.
    @discardableResult
    func publish(_ topic: String, binary: [UInt8]) async throws(IPCClientError) -> IPCResponse {
        try await call(
            operation: "aws.greengrass#PublishToTopic", requestShape: "aws.greengrass#PublishToTopicRequest",
            payload: Array(#"{"topic": \#(quoted(topic)), "publishMessage": {"binaryMessage": {"message": "\#(Data(binary).base64EncodedString())"}}}"#.utf8))
    }

    /// SubscribeToTopic; `receiveMode` nil leaves it to the server's default.
    func subscribe(_ topic: String, receiveMode: String? = nil) async throws(IPCClientError) -> IPCClientStream {
        let mode = receiveMode.map { #", "receiveMode": "\#($0)""# } ?? ""
        return try await openStream(
            operation: "aws.greengrass#SubscribeToTopic", requestShape: "aws.greengrass#SubscribeToTopicRequest",
            payload: Array(#"{"topic": \#(quoted(topic))\#(mode)}"#.utf8))
    }
}

func quoted(_ text: String) -> String {
    JSONValue.string(text).serialized()
}

/// The modeled error an operation failed with.
func remoteError(_ body: () async throws -> Void) async -> IPCRemoteError? {
    do {
        try await body()
        return nil
    } catch let IPCClientError.remote(error) {
        return error
    } catch {
        Issue.record("expected a modeled error, got \(error)")
        return nil
    }
}

/// The next `count` events of a subscription as parsed JSON, failing the test if they do not arrive in time.
func nextEvents(_ stream: IPCClientStream, count: Int, timeout: Duration = .seconds(20)) async throws -> [JSONValue] {
    let events = stream.events
    let received = await withDeadline(timeout) { () async -> [IPCResponse] in
        var collected: [IPCResponse] = []
        do {
            for try await event in events {
                collected.append(event)
                if collected.count == count { break }
            }
        } catch {}
        return collected
    }
    let responses = received ?? []
    try #require(responses.count == count, "received \(responses.count) of \(count) events")
    #expect(responses.allSatisfy { $0.shape == "aws.greengrass#SubscriptionResponseMessage" })
    return try responses.map { try JSONValue(parsing: $0.payload) }
}

/// The topic and JSON message of a delivered `jsonMessage` event.
func jsonDelivery(_ event: JSONValue) -> (topic: String?, message: JSONValue?) {
    (event["jsonMessage"]?["context"]?["topic"]?.stringValue, event["jsonMessage"]?["message"])
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

/// A connection that sends raw frames and never reads what the server sends back: a stuck client.
final class NonReadingConnection: Sendable {
    private let channel: any Channel

    /// Completes on the first bytes from the server (the ConnectAck), then the connection stops reading.
    private final class FirstRead: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: EventLoopPromise<Void>
        private let completed = Mutex(false)
        init(_ received: EventLoopPromise<Void>) { self.received = received }
        /// Completes the promise once, whatever arrives afterwards.
        private func complete(_ result: Result<Void, any Error>) {
            guard completed.withLock({ done in defer { done = true }; return !done }) else { return }
            received.completeWith(result)
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.channel.setOption(.autoRead, value: false).whenComplete { _ in self.complete(.success(())) }
        }
        func channelInactive(context: ChannelHandlerContext) { complete(.failure(ChannelError.ioOnClosedChannel)) }
    }
    private let firstRead: EventLoopPromise<Void>

    init(socketPath: String) async throws {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: Void.self)
        firstRead = promise
        channel = try await ClientBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(FirstRead(promise)) }
            }
            .connect(unixDomainSocketPath: socketPath).get()
    }

    func send(_ message: RPCMessage) async throws {
        try await channel.writeAndFlush(try EventStreamEncoder.encode(message.eventStreamMessage))
    }

    /// Connect and wait for the ConnectAck, then SubscribeToTopic on stream 1 and never read again.
    func subscribe(as component: String, topic: String) async throws {
        try await send(RPCMessage(
            type: .connect, headers: [EventStreamHeader(name: ":version", value: .string("0.1.0"))],
            payload: ByteBuffer(string: #"{"authToken":"token-\#(component)"}"#)))
        try await firstRead.futureResult.get()
        try await send(.modeled(
            .applicationMessage, streamID: 1, flags: [], shape: "aws.greengrass#SubscribeToTopicRequest",
            json: ByteBuffer(string: #"{"topic":\#(quoted(topic))}"#), operation: "aws.greengrass#SubscribeToTopic"))
    }

    func close() async {
        try? await channel.close()
    }
}

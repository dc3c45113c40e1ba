import EventStream
@testable import EventStreamRPCServer
import Foundation
import GreengrassIPCModel
import GreengrassTestSupport
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// What the server put on the wire, as the test's client sees it.
enum WireEvent: Sendable {
    /// Bytes the server wrote and flushed.
    case flushed(ByteBuffer)
    /// The server closed the connection.
    case closed
}

/// Sits next to the channel's head: reports what the server flushes and when it closes, and counts the reads the
/// server passes down (they stop while it holds reads back). Writes still reach the channel, so the channel's
/// count of unflushed bytes — which the server's outbound limit reads — stays true.
final class WireTap: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let wire: WireLog
    private let reads: ReadCounter
    private let flushes: ReadCounter
    private var unflushed: [ByteBuffer] = []

    init(wire: WireLog, reads: ReadCounter, flushes: ReadCounter) {
        self.wire = wire
        self.reads = reads
        self.flushes = flushes
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        unflushed.append(unwrapOutboundIn(data))
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        flushes.increment()
        for buffer in unflushed { wire.put(.flushed(buffer)) }
        unflushed = []
        context.flush()
    }

    func read(context: ChannelHandlerContext) {
        reads.increment()
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        wire.put(.closed)
        context.fireChannelInactive()
    }
}

/// What the server put on the wire, in order.
typealias WireLog = Inbox<WireEvent>

/// Reads that reached the socket (or flushes, for the flush count).
final class ReadCounter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}

/// One IPC connection whose client the test plays (mqtt-nio's `withTestMQTTServer` pattern): the server's own
/// pipeline (``IPCServer/addConnectionHandlers``) on a `NIOAsyncTestingChannel`, client frames written in as bytes,
/// the server's answers read back decoded. Timers run on the test loop's virtual clock.
final class TestIPCPeer {
    let channel: NIOAsyncTestingChannel
    let configuration: IPCServerConfiguration
    let reads = ReadCounter()
    let flushes = ReadCounter()
    private let wire = WireLog()
    private var received = ByteBuffer()
    private(set) var sawClose = false
    var loop: NIOAsyncTestingEventLoop { channel.testingEventLoop }

    init(
        handler: any IPCOperationHandler = conformanceRouter(),
        authenticator: any IPCAuthenticator = FixedTokenAuthenticator(),
        configure: (inout IPCServerConfiguration) -> Void = { _ in }
    ) async throws {
        var configuration = IPCServerConfiguration(socketPath: "/nonexistent/ipc.socket")
        configure(&configuration)
        self.configuration = configuration
        let channel = NIOAsyncTestingChannel()
        self.channel = channel
        let logger = {
            var logger = Logger(label: "ipc-channel-test")
            logger.logLevel = .critical
            return logger
        }()
        let (wire, reads, flushes, settings) = (self.wire, self.reads, self.flushes, configuration)
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(WireTap(wire: wire, reads: reads, flushes: flushes))
            try IPCServer.addConnectionHandlers(
                to: channel.pipeline.syncOperations, configuration: settings, authenticator: authenticator,
                handler: handler, logger: logger)
        }
        try await channel.connect(to: try SocketAddress(unixDomainSocketPath: "/nonexistent/ipc.socket")).get()
    }

    /// Writes client bytes into the server, then runs what that queued on the loop (handlers that run on it).
    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeInbound(ByteBuffer(bytes: bytes))
        await loop.run()
    }

    func send(_ message: RPCMessage) async throws {
        try await send(Array(buffer: try EventStreamEncoder.encode(message.eventStreamMessage)))
    }

    /// The next message the server sent; nil once it closed the connection, or when nothing came within
    /// `timeout`. Bytes that do not decode fail the test (thrown).
    func next(timeout: Duration = .seconds(10)) async throws -> RPCMessage? {
        while true {
            if let message = try EventStreamDecoder.decodeMessage(from: &received) {
                return try RPCMessage(message)
            }
            if sawClose { return nil }
            switch await wire.next(timeout: timeout) {
            case .flushed(var bytes): received.writeBuffer(&bytes)
            case .closed: sawClose = true
            case nil: return nil
            }
        }
    }

    /// Whether the server sent nothing more. For answers the server writes synchronously while it reads a frame
    /// (it has by the time `send` returns), so the short wait only bounds a wrong answer, never a right one.
    func sentNothing() async throws -> Bool {
        try await next(timeout: .milliseconds(50)) == nil && !sawClose
    }

    /// Whether the server closes the connection (after any further messages) within `timeout`.
    func serverCloses(timeout: Duration = .seconds(10)) async throws -> Bool {
        while try await next(timeout: timeout) != nil {}
        return sawClose && !channel.isActive
    }

    /// Connect with `token` (the captured SDK frame for the conformance token); returns the ConnectAck.
    func connect(token: String = Conformance.token) async throws -> RPCMessage? {
        try await send(connectFrame(token: token))
        return try await next()
    }

    /// A peer whose Connect was accepted.
    static func connected(
        handler: any IPCOperationHandler = conformanceRouter(),
        configure: (inout IPCServerConfiguration) -> Void = { _ in }
    ) async throws -> TestIPCPeer {
        let peer = try await TestIPCPeer(handler: handler, configure: configure)
        let ack = try await peer.connect()
        try #require(ack?.type == .connectAck && ack?.flags == .connectionAccepted)
        return peer
    }

    /// Whether the connection still answers a ping (vector 05) with a PingResponse as the very next message —
    /// so also that nothing else was sent before it.
    func stillServes() async throws -> Bool {
        try await send(Conformance.frame("05_c2s_ping"))
        return try await next()?.type == .pingResponse
    }

    /// Opens `ScriptedOperations.subscribe` on `stream`, checks its open (non-terminating) response, and returns
    /// the server side of the stream its handler handed over.
    func openSubscription(_ operations: ScriptedOperations, stream id: Int32 = 1) async throws -> IPCStream {
        try await send(requestFrame(stream: id, operation: ScriptedOperations.subscribe))
        let response = try await next()
        #expect(response?.type == .applicationMessage && response?.streamID == id && response?.flags == [])
        #expect(response?.serviceModelType == "aws.greengrass#SubscribeToTopicResponse")
        return try #require(await operations.streams.next())
    }
}

/// The first message of a stream, encoded the way the SDK does.
func requestFrame(stream: Int32, operation: String, json: String = "{}") -> RPCMessage {
    .modeled(.applicationMessage, streamID: stream, flags: [], shape: operation + "Request",
             json: ByteBuffer(string: json), operation: operation)
}

/// A router whose streaming operation hands its stream to the test, and whose request/response operation records
/// the call it got. `SubscribeToTopic` waits for `release` before answering when given one.
struct ScriptedOperations {
    let calls = Inbox<IPCCall>()
    let streams = Inbox<IPCStream>()
    let cleanups = TerminationLog()

    static let subscribe = "aws.greengrass#SubscribeToTopic"
    static let publish = "aws.greengrass#PublishToTopic"

    func router(holdResponseUntil release: Inbox<Void>? = nil) -> IPCRouter {
        let (calls, streams, cleanups) = (self.calls, self.streams, self.cleanups)
        var router = IPCRouter()
        router.register(Self.subscribe) { call in
            // What a real subscription does: drop its subscriber when the stream ends, however it ends.
            call.stream.onTermination { cleanups.record(call.operation, $0) }
            streams.put(call.stream)
            if let release { _ = await release.next() }
            return .streamOpened(shape: "aws.greengrass#SubscribeToTopicResponse", json: Array("{}".utf8))
        }
        router.register(Self.publish) { call in
            calls.put(call)
            return .response(shape: "aws.greengrass#PublishToTopicResponse", json: Array(#"{"ok":true}"#.utf8))
        }
        return router
    }
}

/// Waits for an authenticator answer until the test releases it.
struct GatedAuthenticator: IPCAuthenticator {
    let release = Inbox<Void>()
    func authenticate(authToken: String) async -> String? {
        _ = await release.next()
        return Conformance.component
    }
}

private func json(_ message: RPCMessage?) -> NSDictionary? {
    message.flatMap { EventStreamRPCSuites.ScenarioReplayTests.json($0.payload) }
}

private func expectSame(_ actual: RPCMessage?, as vector: String) throws {
    try EventStreamRPCSuites.ScenarioReplayTests.expectSame(actual, as: vector)
}

/// `IPCServerConnectionHandler` on a test channel: every protocol path of one connection, deterministic (virtual
/// time for the connect timeout and the rejection grace period), no socket.
@Suite("IPC connection handler on a test channel")
struct ConnectionHandlerChannelTests {
    // MARK: Connect

    @Test("Connect with a valid token: accepting ConnectAck (vector 02), then pings are answered (vector 06)")
    func connectAccepted() async throws {
        let peer = try await TestIPCPeer()
        try await peer.send(Conformance.frame("01_c2s_connect"))
        try expectSame(try await peer.next(), as: "02_s2c_connect_ack_accepted")
        try await peer.send(Conformance.frame("05_c2s_ping"))
        try expectSame(try await peer.next(), as: "06_s2c_ping_response")
        // Accepted: the connect timeout no longer applies.
        await peer.loop.advanceTime(by: peer.configuration.connectTimeout + .seconds(1))
        #expect(peer.channel.isActive)
    }

    @Test(
        "Connect without a known token: rejecting ConnectAck, frames ignored, closed exactly when the grace period ends",
        arguments: [#"{"authToken":"WRONGTOKEN"}"#, #"{"authToken":""}"#, "{}", "not json"]
    )
    func connectRejected(payload: String) async throws {
        let peer = try await TestIPCPeer { $0.rejectionGracePeriod = .seconds(2) }
        try await peer.send(RPCMessage(
            type: .connect, headers: [EventStreamHeader(name: ":version", value: .string("0.1.0"))],
            payload: ByteBuffer(string: payload)))
        try expectSame(try await peer.next(), as: "32_s2c_connect_ack_rejected")
        // The client is meant to close first (the SDK then raises AccessDeniedError); meanwhile nothing is served.
        try await peer.send(Conformance.frame("05_c2s_ping"))
        #expect(try await peer.sentNothing())
        await peer.loop.advanceTime(by: .seconds(2) - .nanoseconds(1))
        #expect(peer.channel.isActive)
        await peer.loop.advanceTime(by: .nanoseconds(1))
        #expect(try await peer.serverCloses())
    }

    @Test("the captured wrong-token Connect (vector 31) is rejected with vector 32")
    func connectRejectedVector() async throws {
        let peer = try await TestIPCPeer()
        try await peer.send(Conformance.frame("31_c2s_connect_wrong_token"))
        try expectSame(try await peer.next(), as: "32_s2c_connect_ack_rejected")
    }

    @Test("a Connect of another protocol version is rejected without asking the authenticator")
    func connectWrongVersion() async throws {
        let peer = try await TestIPCPeer(authenticator: GatedAuthenticator())  // would never answer
        try await peer.send(RPCMessage(
            type: .connect, headers: [EventStreamHeader(name: ":version", value: .string("0.2.0"))],
            payload: ByteBuffer(string: #"{"authToken":"\#(Conformance.token)"}"#)))
        let ack = try await peer.next()
        #expect(ack?.type == .connectAck && ack?.flags == [])
    }

    @Test("no Connect within the connect timeout: the connection is closed, nothing sent")
    func connectTimeout() async throws {
        let peer = try await TestIPCPeer { $0.connectTimeout = .seconds(10) }
        await peer.loop.advanceTime(by: .seconds(10) - .nanoseconds(1))
        #expect(peer.channel.isActive)
        await peer.loop.advanceTime(by: .nanoseconds(1))
        #expect(try await peer.serverCloses())
        #expect(peer.sawClose)
    }

    @Test("a request before Connect (vector 07): ProtocolError on stream 0, closed, the handler never runs")
    func requestBeforeConnect() async throws {
        let operations = ScriptedOperations()
        let peer = try await TestIPCPeer(handler: operations.router())
        try await peer.send(requestFrame(stream: 1, operation: ScriptedOperations.publish))
        let error = try await peer.next()
        #expect(error?.type == .protocolError && error?.streamID == 0 && error?.contentType == "application/json")
        #expect((json(error)?["message"] as? String)?.contains("must be Connect") == true)
        #expect(try await peer.serverCloses())
        #expect(await operations.calls.next(timeout: .milliseconds(100))?.operation == nil)
    }

    @Test("the captured PublishToIoTCore request (vector 07) before Connect is a ProtocolError")
    func vectorRequestBeforeConnect() async throws {
        let peer = try await TestIPCPeer()
        try await peer.send(Conformance.frame("07_c2s_publish_to_iot_core_request"))
        #expect(try await peer.next()?.type == .protocolError)
        #expect(try await peer.serverCloses())
    }

    @Test("a frame while Connect is being authenticated is a ProtocolError; the late answer changes nothing")
    func frameWhileAuthenticating() async throws {
        let authenticator = GatedAuthenticator()
        let peer = try await TestIPCPeer(authenticator: authenticator)
        try await peer.send(Conformance.frame("01_c2s_connect"))
        try await peer.send(Conformance.frame("05_c2s_ping"))
        #expect(try await peer.next()?.type == .protocolError)
        #expect(try await peer.serverCloses())
        authenticator.release.put(())
        try await Task.sleep(for: .milliseconds(50))
        await peer.loop.run()
        #expect(!peer.channel.isActive)
    }

    // MARK: Operations

    @Test("the SDK's own conformance scenario (vectors 05-29) answers every vector, on a test channel")
    func conformanceScenario() async throws {
        let terminations = TerminationLog()
        let peer = try await TestIPCPeer(handler: conformanceRouter(terminations: terminations))
        try expectSame(try await peer.connect(), as: "02_s2c_connect_ack_accepted")
        for (request, answers) in EventStreamRPCSuites.ScenarioReplayTests.steps {
            try await peer.send(Conformance.frame(request))
            for answer in answers {
                try expectSame(try await peer.next(), as: answer)
            }
            if request.hasPrefix("12_") {
                let ended = await terminations.next()
                #expect(ended?.0 == "aws.greengrass#SubscribeToIoTCore" && ended?.1 == .clientClosed)
            }
        }
        try await peer.send(Conformance.frame("27_c2s_restart_component_request"))
        let unsupported = try await peer.next()
        #expect(unsupported?.type == .applicationError && unsupported?.flags == .terminateStream)
        #expect(unsupported?.streamID == 9 && unsupported?.serviceModelType == "aws.greengrass#ServiceError")
    }

    @Test("request/response: the handler gets principal, operation and body; the response ends the stream")
    func requestResponse() async throws {
        let operations = ScriptedOperations()
        let peer = try await TestIPCPeer.connected(handler: operations.router())
        try await peer.send(requestFrame(stream: 1, operation: ScriptedOperations.publish, json: #"{"topic":"a/b"}"#))
        let response = try await peer.next()
        #expect(response?.type == .applicationMessage && response?.streamID == 1 && response?.flags == .terminateStream)
        #expect(response?.serviceModelType == "aws.greengrass#PublishToTopicResponse")
        #expect(response?.contentType == "application/json")
        #expect(json(response)?["ok"] as? Bool == true)
        let call = try #require(await operations.calls.next())
        #expect(call.principal == Conformance.component)
        #expect(call.operation == ScriptedOperations.publish)
        #expect(call.payload == Array(#"{"topic":"a/b"}"#.utf8))
        // Stream 1 is finished: the next request opens stream 2.
        try await peer.send(requestFrame(stream: 2, operation: ScriptedOperations.publish))
        #expect(try await peer.next()?.streamID == 2)
    }

    @Test("an operation answered on the loop: no task runs, a read batch of requests is answered with one flush")
    func answeredOnLoop() async throws {
        var router = IPCRouter()
        // `handle` answers a different shape, so a reply that took the task path shows.
        router.register(
            ScriptedOperations.publish, runsOnConnectionLoop: true,
            immediately: { call in .now(.response(shape: "test#Immediate", json: call.payload)) }
        ) { _ in .response(shape: "test#ViaTask", json: []) }
        let peer = try await TestIPCPeer.connected(handler: router)
        var batch = ByteBuffer()
        for stream in Int32(1)...3 {
            var frame = try EventStreamEncoder.encode(
                requestFrame(stream: stream, operation: ScriptedOperations.publish, json: "\(stream)").eventStreamMessage)
            batch.writeBuffer(&frame)
        }
        let flushesBefore = peer.flushes.value
        // One inbound buffer is one read batch; the loop is not run, so only a synchronous answer can be there.
        try await peer.channel.writeInbound(batch)
        #expect(peer.flushes.value == flushesBefore + 1)
        for stream in Int32(1)...3 {
            let response = try await peer.next(timeout: .milliseconds(200))
            #expect(response?.streamID == stream && response?.flags == .terminateStream)
            #expect(response?.serviceModelType == "test#Immediate")
            #expect(response.map { Array(buffer: $0.payload) } == Array("\(stream)".utf8))
        }
    }

    @Test("an operation on the loop that hands its work on is answered when its future completes, never by its task; a failed future is a ServiceError")
    func answeredLaterOnLoop() async throws {
        let promises = Mutex<[EventLoopPromise<IPCReply>]>([])
        var router = IPCRouter()
        router.register(
            ScriptedOperations.publish, runsOnConnectionLoop: true,
            immediately: { call in
                let promise = call.stream.eventLoop.makePromise(of: IPCReply.self)
                promises.withLock { $0.append(promise) }
                return .later(promise.futureResult)
            }
        ) { _ in .response(shape: "test#ViaTask", json: []) }
        let peer = try await TestIPCPeer.connected(handler: router)
        try await peer.send(requestFrame(stream: 1, operation: ScriptedOperations.publish))
        try await peer.send(requestFrame(stream: 2, operation: ScriptedOperations.publish))
        #expect(try await peer.next(timeout: .milliseconds(100)) == nil, "no reply before the work is done")
        let (first, second) = try promises.withLock { promises in
            try #require(promises.count == 2)
            return (promises[0], promises[1])
        }
        second.succeed(.response(shape: "test#Later", json: Array("{}".utf8)))
        let response = try await peer.next()
        #expect(response?.streamID == 2 && response?.flags == .terminateStream && response?.serviceModelType == "test#Later")
        first.fail(TestFailure(description: "disk full"))
        let error = try await peer.next()
        #expect(error?.type == .applicationError && error?.streamID == 1 && error?.serviceModelType == "aws.greengrass#ServiceError")
        #expect(json(error)?["message"] as? String == "\(ScriptedOperations.publish) failed: disk full")
        #expect(try await peer.stillServes())
    }

    @Test("an operation on the loop that declines to answer at once is answered by its task")
    func declinedOnLoop() async throws {
        var router = IPCRouter()
        router.register(ScriptedOperations.publish, runsOnConnectionLoop: true, immediately: { _ in nil }) { _ in
            .response(shape: "test#ViaTask", json: [])
        }
        let peer = try await TestIPCPeer.connected(handler: router)
        try await peer.send(requestFrame(stream: 1, operation: ScriptedOperations.publish))
        let response = try await peer.next()
        #expect(response?.streamID == 1 && response?.serviceModelType == "test#ViaTask")
    }

    @Test("an unknown operation gets the modeled ServiceError the SDK expects; the connection stays usable")
    func unknownOperation() async throws {
        let peer = try await TestIPCPeer.connected()
        try await peer.send(requestFrame(stream: 1, operation: "aws.greengrass#NoSuchOperation"))
        let error = try await peer.next()
        #expect(error?.type == .applicationError && error?.streamID == 1 && error?.flags == .terminateStream)
        #expect(error?.serviceModelType == "aws.greengrass#ServiceError" && error?.contentType == "application/json")
        #expect(json(error) == [
            "message": "Operation aws.greengrass#NoSuchOperation is not supported by Greengrass",
            "_message": "Operation aws.greengrass#NoSuchOperation is not supported by Greengrass",
            "_errorCode": "ServiceError",
            "_service": "aws.greengrass#GreengrassCoreIPC",
        ])
        #expect(try await peer.stillServes())
    }

    @Test("a handler's modeled error goes out as ApplicationError + TerminateStream with its shape and members")
    func handlerErrorModeled() async throws {
        let ended = TerminationLog()
        var router = IPCRouter()
        router.register("aws.greengrass#GetConfiguration") { call in
            call.stream.onTermination { ended.record(call.operation, $0) }
            return .error(.resourceNotFound("Key not found", resourceType: "configuration", resourceName: "a/b"))
        }
        let peer = try await TestIPCPeer.connected(handler: router)
        try await peer.send(requestFrame(stream: 1, operation: "aws.greengrass#GetConfiguration"))
        let error = try await peer.next()
        #expect(error?.type == .applicationError && error?.streamID == 1 && error?.flags == .terminateStream)
        #expect(error?.serviceModelType == "aws.greengrass#ResourceNotFoundError")
        #expect(json(error) == [
            "message": "Key not found", "_message": "Key not found", "_errorCode": "ResourceNotFoundError",
            "_service": "aws.greengrass#GreengrassCoreIPC", "resourceType": "configuration", "resourceName": "a/b",
        ])
        let termination = await ended.next()
        #expect(termination?.1 == .serverClosed)
    }

    @Test("a response larger than the frame limit becomes a ServiceError on its stream, not a broken frame")
    func oversizedResponse() async throws {
        var router = IPCRouter()
        router.register(ScriptedOperations.publish) { _ in
            .response(shape: "aws.greengrass#PublishToTopicResponse",
                      json: Array(#"{"pad":"\#(String(repeating: "x", count: 8192))"}"#.utf8))
        }
        let peer = try await TestIPCPeer.connected(handler: router) { $0.limits = EventStreamLimits(maxTotalLength: 4096) }
        try await peer.send(requestFrame(stream: 1, operation: ScriptedOperations.publish))
        let error = try await peer.next()
        #expect(error?.type == .applicationError && error?.streamID == 1 && error?.flags == .terminateStream)
        #expect(error?.serviceModelType == "aws.greengrass#ServiceError")
        #expect((json(error)?["message"] as? String)?.hasPrefix("Response could not be encoded") == true)
        #expect(try await peer.stillServes())
    }

    // MARK: Streams

    @Test("streaming: response without TerminateStream, events in order, the client's TerminateStream ends it")
    func streamEventsThenClientClose() async throws {
        let operations = ScriptedOperations()
        let peer = try await TestIPCPeer.connected(handler: operations.router())
        let stream = try await peer.openSubscription(operations)
        for index in 1...3 {
            try await stream.send(event: "aws.greengrass#SubscriptionResponseMessage", json: Array(#"{"n":\#(index)}"#.utf8))
        }
        for index in 1...3 {
            let event = try await peer.next()
            #expect(event?.streamID == 1 && event?.flags == [] && event?.type == .applicationMessage)
            #expect(event?.serviceModelType == "aws.greengrass#SubscriptionResponseMessage")
            #expect(json(event)?["n"] as? Int == index)
        }
        // The captured SDK close (vector 12) is on stream 2; the same message on stream 1.
        try await peer.send(RPCMessage.terminateStream(1))
        let cleanup = await operations.cleanups.next()
        #expect(cleanup?.0 == ScriptedOperations.subscribe && cleanup?.1 == .clientClosed)
        #expect(stream.termination == .clientClosed)
        await #expect(throws: IPCStreamError.streamClosed(streamID: 1, .clientClosed)) {
            try await stream.send(event: "aws.greengrass#SubscriptionResponseMessage", json: Array("{}".utf8))
        }
        // Nothing answers a client close; the connection goes on.
        #expect(try await peer.stillServes())
    }

    @Test("events a handler sends before its response go out after it, in order; a close asked early comes last")
    func eventsBeforeResponseAreQueued() async throws {
        var router = IPCRouter()
        router.register(ScriptedOperations.subscribe) { call in
            for index in 1...3 {
                try? await call.stream.send(event: "aws.greengrass#SubscriptionResponseMessage",
                                            json: Array(#"{"n":\#(index)}"#.utf8))
            }
            await call.stream.close()
            return .streamOpened(shape: "aws.greengrass#SubscribeToTopicResponse", json: Array("{}".utf8))
        }
        let peer = try await TestIPCPeer.connected(handler: router)
        try await peer.send(requestFrame(stream: 1, operation: ScriptedOperations.subscribe))
        var wire: [String] = []
        for _ in 0..<5 {
            let message = try await peer.next()
            wire.append(message?.serviceModelType.map { $0 + ((json(message)?["n"] as? Int).map { "\($0)" } ?? "") }
                ?? (message?.flags == .terminateStream ? "close" : "?"))
        }
        #expect(wire == [
            "aws.greengrass#SubscribeToTopicResponse",
            "aws.greengrass#SubscriptionResponseMessage1",
            "aws.greengrass#SubscriptionResponseMessage2",
            "aws.greengrass#SubscriptionResponseMessage3",
            "close",
        ])
    }

    @Test("more early events than the limit: the extra one is refused, the others still follow the response")
    func tooManyEventsBeforeResponse() async throws {
        let refusals = Inbox<IPCStreamError>()
        var router = IPCRouter()
        router.register(ScriptedOperations.subscribe) { call in
            for _ in 1...3 {
                do throws(IPCStreamError) {
                    try await call.stream.send(event: "aws.greengrass#SubscriptionResponseMessage", json: Array("{}".utf8))
                } catch {
                    refusals.put(error)
                }
            }
            return .streamOpened(shape: "aws.greengrass#SubscribeToTopicResponse", json: Array("{}".utf8))
        }
        let peer = try await TestIPCPeer.connected(handler: router) { $0.connection.maxEventsBeforeResponse = 2 }
        try await peer.send(requestFrame(stream: 1, operation: ScriptedOperations.subscribe))
        #expect(await refusals.next() == .tooManyEventsBeforeResponse(streamID: 1))
        #expect(try await peer.next()?.serviceModelType == "aws.greengrass#SubscribeToTopicResponse")
        #expect(try await peer.next()?.serviceModelType == "aws.greengrass#SubscriptionResponseMessage")
        #expect(try await peer.next()?.serviceModelType == "aws.greengrass#SubscriptionResponseMessage")
        #expect(try await peer.stillServes())
    }

    @Test("the server's close ends the stream; a client TerminateStream crossing it is not an error")
    func serverCloseCrossingClientClose() async throws {
        let operations = ScriptedOperations()
        let peer = try await TestIPCPeer.connected(handler: operations.router())
        let stream = try await peer.openSubscription(operations)
        await stream.close()
        let close = try await peer.next()
        #expect(close?.type == .applicationMessage && close?.flags == .terminateStream && close?.streamID == 1)
        #expect(close?.payload.readableBytes == 0 && close?.serviceModelType == nil)
        #expect(await operations.cleanups.next()?.1 == .serverClosed)
        try await peer.send(RPCMessage.terminateStream(1))
        #expect(try await peer.stillServes())
    }

    @Test("a second client message on an open stream fails that stream with a ServiceError, the connection lives")
    func secondMessageOnOpenStream() async throws {
        let operations = ScriptedOperations()
        let peer = try await TestIPCPeer.connected(handler: operations.router())
        _ = try await peer.openSubscription(operations)
        try await peer.send(RPCMessage(type: .applicationMessage, streamID: 1, payload: ByteBuffer(string: "{}")))
        let error = try await peer.next()
        #expect(error?.type == .applicationError && error?.streamID == 1 && error?.flags == .terminateStream)
        #expect(error?.serviceModelType == "aws.greengrass#ServiceError")
        #expect(await operations.cleanups.next()?.1 == .serverClosed)
        #expect(try await peer.stillServes())
    }

    @Test("the peer going away mid-stream ends every stream (cleanup runs); a late reply is dropped, no crash")
    func channelInactiveMidStream() async throws {
        let operations = ScriptedOperations()
        let release = Inbox<Void>()
        let peer = try await TestIPCPeer.connected(handler: operations.router(holdResponseUntil: release))
        try await peer.send(requestFrame(stream: 1, operation: ScriptedOperations.subscribe))
        let open = try #require(await operations.streams.next())
        release.put(())
        #expect(try await peer.next()?.serviceModelType == "aws.greengrass#SubscribeToTopicResponse")
        try await peer.send(requestFrame(stream: 2, operation: ScriptedOperations.subscribe))
        let waiting = try #require(await operations.streams.next())  // its handler has not answered yet

        try await peer.channel.close()
        let cleanups = [await operations.cleanups.next(), await operations.cleanups.next()]
        #expect(cleanups.map { $0?.1 } == [.connectionClosed, .connectionClosed])
        #expect(open.termination == .connectionClosed && waiting.termination == .connectionClosed)
        await #expect(throws: IPCStreamError.streamClosed(streamID: 1, .connectionClosed)) {
            try await open.send(event: "aws.greengrass#SubscriptionResponseMessage", json: Array("{}".utf8))
        }
        // Stream 2's handler answers after the connection is gone.
        release.put(())
        try await Task.sleep(for: .milliseconds(50))
        await peer.loop.run()
        #expect(try await peer.serverCloses())
    }

    @Test("the client's own ProtocolError/InternalError (vector 33) closes the connection without an answer")
    func clientGivesUp() async throws {
        let peer = try await TestIPCPeer.connected()
        try await peer.send(Conformance.frame("33_c2s_internal_error"))
        #expect(try await peer.next() == nil)
        #expect(try await peer.serverCloses())
    }

    // MARK: Hostile bytes

    @Test(
        "a malformed frame (bad CRCs, unknown header type, header overflow, garbage): ProtocolError naming it, closed",
        arguments: ["neg01_bad_prelude_crc", "neg02_bad_message_crc", "neg04_unknown_header_type",
                    "neg05_headers_length_overflow", "garbage"]
    )
    func malformedFrame(frame: String) async throws {
        let peer = try await TestIPCPeer.connected()
        let bytes = frame == "garbage"
            ? Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) : try Conformance.frame(frame)
        try await peer.send(bytes)
        let error = try await peer.next()
        #expect(error?.type == .protocolError && error?.streamID == 0 && error?.contentType == "application/json")
        #expect((json(error)?["message"] as? String)?.hasPrefix("Malformed event-stream frame") == true)
        #expect(try await peer.serverCloses())
    }

    @Test("a frame missing :stream-id (vector neg06) is a ProtocolError with the C runtime's text")
    func missingControlHeader() async throws {
        let peer = try await TestIPCPeer()
        try await peer.send(Conformance.frame("neg06_rpc_missing_stream_id"))
        let error = try await peer.next()
        #expect(error?.type == .protocolError)
        #expect(json(error)?["message"] as? String == RPCServerConnectionStateMachine.missingHeadersMessage)
        #expect(try await peer.serverCloses())
    }

    @Test("an oversized frame is refused from its 12-byte prelude alone: ProtocolError naming the limit, closed")
    func oversizedFrame() async throws {
        let limit = 64 * 1024
        let peer = try await TestIPCPeer.connected { $0.limits = EventStreamLimits(maxTotalLength: limit) }
        let huge = RPCMessage(type: .ping, payload: ByteBuffer(repeating: 0x41, count: 1024 * 1024))
        let frame = Array(buffer: try EventStreamEncoder.encode(huge.eventStreamMessage))
        try await peer.send(Array(frame.prefix(EventStreamDecoder.preludeLength)))
        let error = try await peer.next()
        #expect(error?.type == .protocolError)
        let message = try #require(json(error)?["message"] as? String)
        #expect(message.contains("\(frame.count)") && message.contains("\(limit)"))
        #expect(try await peer.serverCloses())
    }

    @Test("a truncated frame (vector neg03) is waited for, unanswered; hanging up mid-frame closes cleanly")
    func truncatedFrameThenHangUp() async throws {
        let peer = try await TestIPCPeer.connected()
        try await peer.send(Conformance.frame("neg03_truncated"))
        #expect(try await peer.sentNothing())
        #expect(peer.channel.isActive)
        try await peer.channel.close()
        #expect(try await peer.next() == nil)
        #expect(try await peer.serverCloses())
    }

    // MARK: Back-pressure

    @Test("while the channel is not writable the handler holds reads back; writability releases exactly one")
    func readsHeldWhileNotWritable() async throws {
        let peer = try await TestIPCPeer()
        let before = peer.reads.value
        peer.channel.read()
        await peer.loop.run()
        #expect(peer.reads.value == before + 1)

        peer.channel.isWritable = false
        peer.channel.read()
        peer.channel.read()
        await peer.loop.run()
        #expect(peer.reads.value == before + 1)

        peer.channel.isWritable = true
        peer.channel.pipeline.fireChannelWritabilityChanged()
        await peer.loop.run()
        #expect(peer.reads.value == before + 2)
        // Writable again with no read held: a writability change alone reads nothing.
        peer.channel.pipeline.fireChannelWritabilityChanged()
        await peer.loop.run()
        #expect(peer.reads.value == before + 2)
    }

    @Test("events beyond the outbound byte limit are dropped with outboundQueueFull; sending resumes after a flush")
    func outboundQueueLimit() async throws {
        let limit = 2048
        let operations = ScriptedOperations()
        let peer = try await TestIPCPeer.connected(handler: operations.router()) { $0.maxOutboundBytesPerConnection = limit }
        let stream = try await peer.openSubscription(operations)
        let body = Array(#"{"pad":"\#(String(repeating: "x", count: 600))"}"#.utf8)

        // A burst from a sender on the connection's loop: nothing is flushed until it yields the loop.
        let results = await Task(executorPreference: EventLoopTaskExecutor.forLoop(peer.loop)) {
            var results: [IPCStreamError?] = []
            for _ in 0..<8 {
                do throws(IPCStreamError) {
                    try await stream.send(event: "aws.greengrass#SubscriptionResponseMessage", json: body)
                    results.append(nil)
                } catch {
                    results.append(error)
                }
            }
            return results
        }.value
        let sent = results.prefix { $0 == nil }.count
        #expect(sent == 3)  // ~700-byte frames: the fourth finds more than 2048 bytes queued
        #expect(results.dropFirst(sent).allSatisfy { $0 == .outboundQueueFull(streamID: 1, limit: limit) })
        for _ in 0..<sent {
            #expect(try await peer.next()?.serviceModelType == "aws.greengrass#SubscriptionResponseMessage")
        }
        #expect(try await peer.sentNothing())
        // Flushed: the queue is empty again and events flow.
        try await stream.send(event: "aws.greengrass#SubscriptionResponseMessage", json: body)
        #expect(try await peer.next()?.streamID == 1)
    }
}

private struct TestFailure: Error, CustomStringConvertible {
    var description: String
}

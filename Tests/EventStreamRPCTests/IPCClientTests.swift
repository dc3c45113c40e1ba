import EventStream
import EventStreamRPCClient
import EventStreamRPCServer
import Foundation
import GreengrassIPCModel
import GreengrassTestSupport
import NIOCore
import Testing

extension EventStreamRPCSuites {
/// The Swift client against the Swift server.
@Suite("IPC client and server", .serialized)
struct IPCClientTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("request/response, modeled errors and unsupported operations")
    func calls() async throws {
        let server = try await RunningServer()
        let client = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)

        let response = try await client.call(
            operation: "aws.greengrass#GetConfiguration", requestShape: "aws.greengrass#GetConfigurationRequest",
            payload: Self.bytes(#"{"keyPath":["mqtt","topic"]}"#))
        #expect(response.shape == "aws.greengrass#GetConfigurationResponse")
        let body = try JSONSerialization.jsonObject(with: Data(response.payload)) as? NSDictionary
        #expect(body == ["componentName": Conformance.component, "value": ["topic": "core/topic"]] as NSDictionary)

        do {
            _ = try await client.call(
                operation: "aws.greengrass#PublishToIoTCore", requestShape: "aws.greengrass#PublishToIoTCoreRequest",
                payload: Self.bytes(#"{"topicName":"forbidden/topic","qos":"0","payload":"eA=="}"#))
            Issue.record("forbidden publish succeeded")
        } catch {
            guard case .remote(let remote) = error else { throw error }
            #expect(remote.shape == "aws.greengrass#UnauthorizedError")
            #expect(remote.name == "UnauthorizedError")
            #expect(remote.message == "Principal com.example.Conformance is not authorized to perform aws.greengrass.ipc.mqttproxy:aws.greengrass#PublishToIoTCore on resource forbidden/topic")
            let errorBody = try JSONSerialization.jsonObject(with: Data(remote.body)) as? [String: String]
            #expect(errorBody?["_errorCode"] == "UnauthorizedError")
            #expect(errorBody?["_service"] == "aws.greengrass#GreengrassCoreIPC")
            #expect(errorBody?["_message"] == remote.message)
        }

        await #expect(throws: IPCClientError.remote(IPCRemoteError(
            shape: "aws.greengrass#ServiceError",
            body: IPCModeledError.unsupportedOperation("aws.greengrass#NoSuchOperation").json.readableBytesView.map { $0 }))) {
            _ = try await client.call(operation: "aws.greengrass#NoSuchOperation", requestShape: "aws.greengrass#X", payload: Self.bytes("{}"))
        }
        // The connection survived all of that.
        try await client.ping(payload: Self.bytes("still here"))
        await client.close()
        try await server.stop()
    }

    @Test("streams: events after the response, server close, client close seen by the handler")
    func streams() async throws {
        let terminations = TerminationLog()
        let server = try await RunningServer(handler: conformanceRouter(terminations: terminations))
        let client = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)

        // Server closes after one event: the sequence finishes.
        let topic = try await client.openStream(
            operation: "aws.greengrass#SubscribeToTopic", requestShape: "aws.greengrass#SubscribeToTopicRequest",
            payload: Self.bytes(#"{"topic":"local/topic"}"#))
        #expect(topic.response.shape == "aws.greengrass#SubscribeToTopicResponse")
        var events: [IPCResponse] = []
        for try await event in topic.events { events.append(event) }
        #expect(events.map(\.shape) == ["aws.greengrass#SubscriptionResponseMessage"])
        #expect(await terminations.next()?.1 == .serverClosed)

        // Client closes: the handler learns it.
        let iot = try await client.openStream(
            operation: "aws.greengrass#SubscribeToIoTCore", requestShape: "aws.greengrass#SubscribeToIoTCoreRequest",
            payload: Self.bytes(#"{"topicName":"core/topic","qos":"1"}"#))
        var iterator = iot.events.makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first?.shape == "aws.greengrass#IoTCoreMessage")
        iot.close()
        let ended = await terminations.next()
        #expect(ended?.0 == "aws.greengrass#SubscribeToIoTCore" && ended?.1 == .clientClosed)
        #expect(try await iterator.next() == nil)
        await client.close()
        try await server.stop()
    }

    @Test("a handler keeps its stream: events flow until the connection closes, then sends fail")
    func liveSubscription() async throws {
        let streams = Inbox<IPCStream>()
        var router = IPCRouter()
        router.register("test#Subscribe") { call in
            streams.put(call.stream)
            return .streamOpened(shape: "test#SubscribeResponse", json: Self.bytes("{}"))
        }
        let server = try await RunningServer(handler: router)
        let client = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)
        let subscription = try await client.openStream(operation: "test#Subscribe", requestShape: "test#SubscribeRequest", payload: Self.bytes("{}"))
        let stream = try #require(await streams.next())
        var received = subscription.events.makeAsyncIterator()
        for index in 0..<50 {
            try await stream.send(event: "test#Event", json: Self.bytes(#"{"n":\#(index)}"#))
            let event = try await received.next()
            #expect(event?.payload == Self.bytes(#"{"n":\#(index)}"#))
        }
        await client.close()
        #expect(await stream.waitForTermination() == .connectionClosed)
        await #expect(throws: IPCStreamError.streamClosed(streamID: 1, .connectionClosed)) {
            try await stream.send(event: "test#Event", json: Self.bytes("{}"))
        }
        try await server.stop()
    }

    @Test("a call or stream the server does not answer in time fails with timedOut; answered calls never do, the connection keeps working")
    func responseTimeout() async throws {
        let release = Inbox<Void>()
        var router = IPCRouter()
        router.register("test#Slow") { _ in
            _ = await release.next(timeout: .seconds(30))
            return .response(shape: "test#SlowResponse", json: Self.bytes("{}"))
        }
        router.register("test#SlowStream") { _ in
            _ = await release.next(timeout: .seconds(30))
            return .streamOpened(shape: "test#SlowStreamResponse", json: Self.bytes("{}"))
        }
        router.register("test#Fast") { _ in .response(shape: "test#FastResponse", json: Self.bytes("{}")) }
        let server = try await RunningServer(handler: router)
        let client = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token, timeout: .seconds(1))

        let started = ContinuousClock.now
        let slowCall = Task { try await client.call(operation: "test#Slow", requestShape: "test#SlowRequest", payload: Self.bytes("{}")) }
        let slowStream = Task {
            try await client.openStream(operation: "test#SlowStream", requestShape: "test#SlowStreamRequest", payload: Self.bytes("{}"))
        }
        // Calls answered in time, spread over more than the timeout: none of them times out.
        for _ in 0..<4 {
            let fast = try await client.call(operation: "test#Fast", requestShape: "test#FastRequest", payload: Self.bytes("{}"))
            #expect(fast.shape == "test#FastResponse")
            try await Task.sleep(for: .milliseconds(400))
        }
        await #expect(throws: IPCClientError.timedOut(socketPath: server.socketPath, waitingFor: "test#Slow response")) {
            _ = try await slowCall.value
        }
        await #expect(throws: IPCClientError.timedOut(socketPath: server.socketPath, waitingFor: "test#SlowStream response")) {
            _ = try await slowStream.value
        }
        #expect(started.duration(to: .now) >= .seconds(1))
        // The late answers are ignored; the connection still works, and times out again later.
        release.put(())
        release.put(())
        let after = try await client.call(operation: "test#Fast", requestShape: "test#FastRequest", payload: Self.bytes("{}"))
        #expect(after.shape == "test#FastResponse")
        await #expect(throws: IPCClientError.timedOut(socketPath: server.socketPath, waitingFor: "test#Slow response")) {
            _ = try await client.call(operation: "test#Slow", requestShape: "test#SlowRequest", payload: Self.bytes("{}"))
        }
        release.put(())
        try await client.ping()
        await client.close()
        try await server.stop()
    }

    @Test("a request that cannot be framed fails alone with encodingFailed; requests of the same burst around it are answered")
    func unframableRequestInABurst() async throws {
        var router = IPCRouter()
        router.register("test#Echo") { call in .response(shape: "test#EchoResponse", json: call.payload) }
        let server = try await RunningServer(handler: router)
        let client = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)
        let tooLong = "test#" + String(repeating: "x", count: Int(UInt16.max))  // no header value can hold it
        let outcomes = await withTaskGroup(of: (Int, Result<[UInt8], IPCClientError>).self) { group in
            for index in 0..<9 {
                group.addTask {
                    do throws(IPCClientError) {
                        let operation = index == 4 ? tooLong : "test#Echo"
                        let reply = try await client.call(operation: operation, requestShape: "test#EchoRequest", payload: Self.bytes("{\"n\":\(index)}"))
                        return (index, .success(reply.payload))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var outcomes: [Int: Result<[UInt8], IPCClientError>] = [:]
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        for index in 0..<9 where index != 4 {
            #expect(try outcomes[index]?.get() == Self.bytes("{\"n\":\(index)}"))
        }
        guard case .failure(.encodingFailed) = outcomes[4] else {
            Issue.record("the unframable request got \(String(describing: outcomes[4]))")
            return
        }
        try await client.ping()
        await client.close()
        try await server.stop()
    }

    @Test("a rejected token and a missing socket are typed errors naming the socket")
    func connectFailures() async throws {
        let server = try await RunningServer()
        await #expect(throws: IPCClientError.connectionRejected(socketPath: server.socketPath)) {
            _ = try await IPCClient.connect(socketPath: server.socketPath, authToken: "WRONGTOKEN000000")
        }
        let missing = server.directory.file("nothing.socket")
        do {
            _ = try await IPCClient.connect(socketPath: missing, authToken: Conformance.token)
            Issue.record("connected to a missing socket")
        } catch {
            #expect("\(error)".contains(missing))
        }
        try await server.stop()
    }

    @Test("a client that stops reading: events are dropped once its queue is full, others are unaffected")
    func slowReaderBackPressure() async throws {
        let streams = Inbox<IPCStream>()
        var router = IPCRouter()
        router.register("test#Subscribe") { call in
            streams.put(call.stream)
            return .streamOpened(shape: "test#SubscribeResponse", json: Self.bytes("{}"))
        }
        let server = try await RunningServer(handler: router) { $0.maxOutboundBytesPerConnection = 256 * 1024 }
        // The slow reader: subscribes and then never reads anything.
        let slow = try await UnreadSocket.connect(path: server.socketPath)
        #expect(try await slow.handshake())
        slow.write(Array(buffer: try EventStreamEncoder.encode(RPCMessage.modeled(
            .applicationMessage, streamID: 1, flags: [], shape: "test#SubscribeRequest",
            json: ByteBuffer(string: "{}"), operation: "test#Subscribe").eventStreamMessage)))
        let stream = try #require(await streams.next())
        let event = Self.bytes(#"{"data":""# + String(repeating: "x", count: 16 * 1024) + #""}"#)
        var dropped = false
        // Bounded: 16 KiB events; kernel buffers plus the 256 KiB queue fill long before 4000 events (64 MiB).
        for _ in 0..<4000 {
            do {
                try await stream.send(event: "test#Event", json: event)
            } catch IPCStreamError.outboundQueueFull {
                dropped = true
                break
            }
        }
        #expect(dropped)
        // Another client is served normally meanwhile.
        let other = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)
        try await other.ping()
        await other.close()
        slow.close()
        try await server.stop()
    }
}
}

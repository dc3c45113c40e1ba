import EventStream
import NIOCore
import NIOPosix

/// An event-stream RPC client on a Unix socket: the library `greengrass-cli` and the tests use to talk to the
/// nucleus exactly like an SDK component does.
///
/// ```swift
/// let client = try await IPCClient.connect(socketPath: path, authToken: token)
/// let reply = try await client.call(operation: "aws.greengrass#ListComponents",
///                                   requestShape: "aws.greengrass#ListComponentsRequest", payload: Array("{}".utf8))
/// await client.close()
/// ```
public final class IPCClient: Sendable {
    /// The socket this client is connected to.
    public let socketPath: String
    private let channel: any Channel
    private let handler: NIOLoopBound<IPCClientHandler>
    private let timeout: TimeAmount

    private init(socketPath: String, channel: any Channel, handler: NIOLoopBound<IPCClientHandler>, timeout: TimeAmount) {
        self.socketPath = socketPath
        self.channel = channel
        self.handler = handler
        self.timeout = timeout
    }

    /// Connects, sends Connect with `authToken` and waits for the ConnectAck.
    ///
    /// - Parameter timeout: bound on connecting and on every response wait of this client.
    /// - Throws: ``IPCClientError/cannotConnect(socketPath:reason:)`` (no socket / nobody listening),
    ///   ``IPCClientError/connectionRejected(socketPath:)`` (token refused), ``IPCClientError/timedOut(socketPath:waitingFor:)``.
    public static func connect(
        socketPath: String,
        authToken: String,
        timeout: TimeAmount = .seconds(10),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(IPCClientError) -> IPCClient {
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(EventStreamDecoder()))
                        try channel.pipeline.syncOperations.addHandler(IPCClientHandler(socketPath: socketPath, responseTimeout: timeout))
                    }
                }
                .connect(unixDomainSocketPath: socketPath).get()
        } catch {
            throw .cannotConnect(socketPath: socketPath, reason: IPCClientError.connectFailureReason(error))
        }
        let bound: NIOLoopBound<IPCClientHandler>
        do {
            bound = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: IPCClientHandler.self), eventLoop: channel.eventLoop)
            }.get()
        } catch {
            throw .cannotConnect(socketPath: socketPath, reason: IPCClientError.connectFailureReason(error))
        }
        let client = IPCClient(socketPath: socketPath, channel: channel, handler: bound, timeout: timeout)
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute { bound.value.sendConnect(authToken: authToken, promise: promise) }
        do {
            try await client.wait(promise.futureResult, for: "ConnectAck")
        } catch {
            await client.close()
            throw error
        }
        return client
    }

    /// Calls a request/response operation.
    ///
    /// - Returns: the response shape and JSON body.
    /// - Throws: ``IPCClientError/remote(_:)`` carrying the modeled error (shape, message, raw body) when the
    ///   server answers with ApplicationError; other ``IPCClientError``s for transport failures.
    public func call(operation: String, requestShape: String, payload: [UInt8]) async throws(IPCClientError) -> IPCResponse {
        let (response, _) = try await start(operation: operation, requestShape: requestShape, payload: payload, events: nil)
        return response
    }

    /// Opens a streaming operation (SubscribeTo…): waits for the response, then delivers events until either
    /// side closes the stream.
    public func openStream(
        operation: String,
        requestShape: String,
        payload: [UInt8]
    ) async throws(IPCClientError) -> IPCClientStream {
        let (events, continuation) = AsyncThrowingStream.makeStream(of: IPCResponse.self, throwing: (any Error).self)
        let (response, id) = try await start(
            operation: operation, requestShape: requestShape, payload: payload, events: continuation)
        let handler = self.handler
        let eventLoop = channel.eventLoop
        return IPCClientStream(response: response, events: events) {
            eventLoop.execute { handler.value.closeStream(id) }
        }
    }

    /// Sends a Ping and waits for the PingResponse.
    public func ping(payload: [UInt8] = []) async throws(IPCClientError) {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        let body = ByteBuffer(bytes: payload)
        channel.eventLoop.execute { handler.value.sendPing(payload: body, promise: promise) }
        try await wait(promise.futureResult, for: "PingResponse")
    }

    /// Closes the connection (like the SDK: nothing is sent first); open streams end.
    public func close() async {
        try? await channel.close()
    }

    private func start(
        operation: String,
        requestShape: String,
        payload: [UInt8],
        events: IPCClientHandler.EventContinuation?
    ) async throws(IPCClientError) -> (IPCResponse, Int32) {
        // One hop onto the loop (no waiting for the stream id there and back): the response brings the id, and
        // the handler times the response out itself.
        let promise = channel.eventLoop.makePromise(of: (IPCResponse, Int32).self)
        let handler = self.handler
        let body = ByteBuffer(bytes: payload)
        channel.eventLoop.execute {
            handler.value.startStream(
                operation: operation, requestShape: requestShape, payload: body, response: promise, events: events)
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as IPCClientError {
            throw error
        } catch {
            throw .protocolError(socketPath: socketPath, "\(error)")
        }
    }

    private func wait<Value: Sendable>(
        _ future: EventLoopFuture<Value>,
        for what: String
    ) async throws(IPCClientError) -> Value {
        let eventLoop = channel.eventLoop
        let path = socketPath
        let deadline = eventLoop.scheduleTask(in: timeout) {}
        let timed = eventLoop.makePromise(of: Value.self)
        future.cascade(to: timed)
        deadline.futureResult.whenSuccess { timed.fail(IPCClientError.timedOut(socketPath: path, waitingFor: what)) }
        defer { deadline.cancel() }
        do {
            return try await timed.futureResult.get()
        } catch let error as IPCClientError {
            throw error
        } catch {
            throw .protocolError(socketPath: socketPath, "\(error)")
        }
    }
}

/// An open streaming operation: its response, its events, and a way to close it from the client side.
public final class IPCClientStream: Sendable {
    /// The operation's response (the stream's first message).
    public let response: IPCResponse
    /// Stream events in order. Finishes when the server closes the stream, throws ``IPCClientError`` when it
    /// ends with an error or the connection drops.
    public let events: AsyncThrowingStream<IPCResponse, any Error>
    private let closer: @Sendable () -> Void

    init(response: IPCResponse, events: AsyncThrowingStream<IPCResponse, any Error>, closer: @escaping @Sendable () -> Void) {
        self.response = response
        self.events = events
        self.closer = closer
    }

    /// Sends TerminateStream (the SDK's `operation.close()`); the events sequence finishes.
    public func close() {
        closer()
    }
}

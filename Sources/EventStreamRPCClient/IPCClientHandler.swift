import EventStream
import NIOCore

/// The client connection's event-loop side: assigns stream ids, writes requests and routes inbound messages to
/// the waiting response promises and event continuations.
final class IPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = EventStreamMessage
    typealias OutboundOut = ByteBuffer

    typealias EventContinuation = AsyncThrowingStream<IPCResponse, any Error>.Continuation
    /// A stream's response together with the stream's id (needed to close it later).
    typealias ResponsePromise = EventLoopPromise<(IPCResponse, Int32)>

    private struct PendingStream {
        var operation: String
        var response: ResponsePromise?
        var events: EventContinuation?
    }

    private let socketPath: String
    /// How long a stream waits for its response.
    private let responseTimeout: TimeAmount
    /// Response deadlines in the order streams were opened (all share `responseTimeout`, so the order is also
    /// the deadlines' order). One timer for the earliest instead of one scheduled task per call; entries whose
    /// stream already has its response are dropped from the front as new ones are added, so this stays about
    /// as long as the number of calls in flight.
    private var responseDeadlines: [(deadline: NIODeadline, streamID: Int32)] = []
    private var responseDeadlinesHead = 0
    private var responseTimer: Scheduled<Void>?
    /// A flush is queued on the loop: requests written until it runs leave in one syscall.
    private var flushScheduled = false
    /// Requests framed since the queued flush was scheduled, in one buffer (one allocation and one pending write
    /// per burst instead of per request). Holds at most one request per caller waiting for its response.
    private var pendingOutput: ByteBuffer?
    private var context: ChannelHandlerContext?
    private var connectAck: EventLoopPromise<Void>?
    private var pings: [EventLoopPromise<Void>] = []
    private var streams: [Int32: PendingStream] = [:]
    private var nextStreamID: Int32 = 1
    private var failure: IPCClientError?

    init(socketPath: String, responseTimeout: TimeAmount) {
        self.socketPath = socketPath
        self.responseTimeout = responseTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        responseTimer?.cancel()
        responseTimer = nil
        self.context = nil
    }

    // MARK: Requests (called on the event loop)

    func sendConnect(authToken: String, promise: EventLoopPromise<Void>) {
        connectAck = promise
        var body = ByteBuffer()
        body.writeStaticString("{\"authToken\":")
        body.writeJSONString(authToken)
        body.writeStaticString("}")
        let version = EventStreamHeader(name: RPCHeaderName.version, value: .string(RPCHeaderName.supportedVersion))
        write(RPCMessage(type: .connect, headers: [version], payload: body))
    }

    func sendPing(payload: ByteBuffer, promise: EventLoopPromise<Void>) {
        if let failure { return promise.fail(failure) }
        pings.append(promise)
        write(RPCMessage(type: .ping, payload: payload))
    }

    /// Opens a stream with its request; `response` gets the response and the stream's id, or fails with
    /// ``IPCClientError/timedOut(socketPath:waitingFor:)`` when none comes within the response timeout.
    func startStream(
        operation: String,
        requestShape: String,
        payload: ByteBuffer,
        response: ResponsePromise,
        events: EventContinuation?
    ) {
        if let failure {
            response.fail(failure)
            events?.finish(throwing: failure)
            return
        }
        let id = nextStreamID
        nextStreamID &+= 1
        streams[id] = PendingStream(operation: operation, response: response, events: events)
        // Requests of one burst (many callers) leave in one write: the flush runs after what the loop already has queued.
        write(.modeled(.applicationMessage, streamID: id, flags: [], shape: requestShape, json: payload, operation: operation),
              flushNow: false)
        guard streams[id] != nil else {
            // Not framable (already failed): the id never reached the wire, and the server requires ids in
            // sequence, so the next request takes it instead of killing the connection with a gap.
            nextStreamID = id
            return
        }
        addResponseDeadline(for: id)
    }

    // MARK: Response timeouts

    private func awaitsResponse(_ id: Int32) -> Bool {
        streams[id]?.response != nil
    }

    private func addResponseDeadline(for id: Int32) {
        guard let context else { return }
        while responseDeadlinesHead < responseDeadlines.count, !awaitsResponse(responseDeadlines[responseDeadlinesHead].streamID) {
            responseDeadlinesHead += 1
        }
        if responseDeadlinesHead > 64, responseDeadlinesHead * 2 > responseDeadlines.count {
            responseDeadlines.removeFirst(responseDeadlinesHead)
            responseDeadlinesHead = 0
        }
        responseDeadlines.append((.now() + responseTimeout, id))
        if responseTimer == nil { scheduleResponseTimer(context: context) }
    }

    private func scheduleResponseTimer(context: ChannelHandlerContext) {
        guard responseDeadlinesHead < responseDeadlines.count else {
            responseDeadlines = []
            responseDeadlinesHead = 0
            return
        }
        let deadline = responseDeadlines[responseDeadlinesHead].deadline
        responseTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            responseTimer = nil
            responseDeadlinesPassed()
        }
    }

    /// Fails every stream whose response deadline has passed (the stream is forgotten: a late response is
    /// ignored like any message for a closed stream), then waits for the next deadline.
    private func responseDeadlinesPassed() {
        guard let context else { return }
        let now = NIODeadline.now()
        while responseDeadlinesHead < responseDeadlines.count {
            let (deadline, id) = responseDeadlines[responseDeadlinesHead]
            if awaitsResponse(id) {
                guard deadline <= now else { break }
                let stream = streams.removeValue(forKey: id)!
                let error = IPCClientError.timedOut(socketPath: socketPath, waitingFor: "\(stream.operation) response")
                stream.response?.fail(error)
                stream.events?.finish(throwing: error)
            }
            responseDeadlinesHead += 1
        }
        scheduleResponseTimer(context: context)
    }

    /// Client-side close of a stream (what the SDK's `operation.close()` sends).
    func closeStream(_ id: Int32) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        stream.response?.fail(IPCClientError.streamClosedWithoutResponse(operation: stream.operation))
        stream.events?.finish()
        write(.terminateStream(id))
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message: RPCMessage
        do {
            message = try RPCMessage(unwrapInboundIn(data))
        } catch {
            return fail(.protocolError(socketPath: socketPath, "\(error)"), close: true)
        }
        if message.streamID == 0 {
            receivedConnectionMessage(message)
        } else {
            receivedStreamMessage(message)
        }
    }

    private func receivedConnectionMessage(_ message: RPCMessage) {
        switch message.type {
        case .connectAck:
            guard let promise = connectAck else {
                return fail(.protocolError(socketPath: socketPath, "unexpected second ConnectAck"), close: true)
            }
            connectAck = nil
            if message.flags.contains(.connectionAccepted) {
                promise.succeed()
            } else {
                promise.fail(IPCClientError.connectionRejected(socketPath: socketPath))
                fail(.connectionRejected(socketPath: socketPath), close: true)
            }
        case .pingResponse:
            if !pings.isEmpty { pings.removeFirst().succeed() }
        case .ping:
            // Like the Python SDK: note it and do not answer (a Ping answered with a Ping could ping-pong).
            break
        case .protocolError, .internalError:
            let text = String(buffer: message.payload)
            fail(.protocolError(socketPath: socketPath, "server sent \(message.type): \(text)"), close: true)
        case .connect, .applicationMessage, .applicationError:
            fail(.protocolError(socketPath: socketPath, "unexpected \(message.type) on stream 0"), close: true)
        }
    }

    private func receivedStreamMessage(_ message: RPCMessage) {
        let id = message.streamID
        guard var stream = streams[id] else {
            // Late messages for a stream we already closed are normal (crossing close); ignore them.
            return
        }
        let terminate = message.flags.contains(.terminateStream)
        let shape = message.serviceModelType
        if message.type == .applicationError {
            let error = IPCClientError.remote(IPCRemoteError(shape: shape, body: Array(buffer: message.payload)))
            streams[id] = nil
            stream.response?.fail(error)
            stream.events?.finish(throwing: error)
            return
        }
        if let response = stream.response {
            stream.response = nil
            if let shape {
                response.succeed((IPCResponse(shape: shape, payload: Array(buffer: message.payload)), id))
            } else {
                response.fail(IPCClientError.streamClosedWithoutResponse(operation: stream.operation))
            }
        } else if let shape {
            stream.events?.yield(IPCResponse(shape: shape, payload: Array(buffer: message.payload)))
        }
        if terminate {
            streams[id] = nil
            stream.events?.finish()
        } else {
            streams[id] = stream
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.protocolError(socketPath: socketPath, "\(error)"), close: true)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connectionClosed(socketPath: socketPath), close: false)
        context.fireChannelInactive()
    }

    // MARK: Helpers

    /// Fails everything waiting and (optionally) closes; later requests fail with the same error.
    private func fail(_ error: IPCClientError, close: Bool) {
        if failure == nil { failure = error }
        connectAck?.fail(error)
        connectAck = nil
        for ping in pings { ping.fail(error) }
        pings = []
        let pending = streams
        streams = [:]
        for stream in pending.values {
            stream.response?.fail(error)
            stream.events?.finish(throwing: error)
        }
        responseTimer?.cancel()
        responseTimer = nil
        responseDeadlines = []
        responseDeadlinesHead = 0
        pendingOutput = nil
        if close { context?.close(promise: nil) }
    }

    /// Writes `message`; `flushNow: false` frames it into the burst's buffer and leaves the write and flush to a
    /// task queued behind the loop's current work.
    private func write(_ message: RPCMessage, flushNow: Bool = true) {
        guard let context else { return }
        if flushNow {
            writePendingOutput()  // earlier requests first: order is kept
            var buffer = context.channel.allocator.buffer(capacity: 0)
            guard encode(message, into: &buffer) else { return }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            return
        }
        var buffer = pendingOutput ?? context.channel.allocator.buffer(capacity: 256)
        pendingOutput = nil  // `buffer` is then the only reference and grows in place
        let encoded = encode(message, into: &buffer)
        if buffer.readableBytes > 0 { pendingOutput = buffer }
        guard encoded, !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            writePendingOutput()
            self.context?.flush()
        }
    }

    private func writePendingOutput() {
        guard let output = pendingOutput else { return }
        pendingOutput = nil
        context?.write(wrapOutboundOut(output), promise: nil)
    }

    /// Appends `message`'s frame to `buffer` (unchanged on failure); a request that cannot be framed fails its stream.
    private func encode(_ message: RPCMessage, into buffer: inout ByteBuffer) -> Bool {
        do {
            try EventStreamEncoder.encode(message.eventStreamMessage, into: &buffer)
            return true
        } catch {
            if message.streamID != 0, let stream = streams.removeValue(forKey: message.streamID) {
                stream.response?.fail(IPCClientError.encodingFailed("\(error)"))
                stream.events?.finish(throwing: IPCClientError.encodingFailed("\(error)"))
            }
            return false
        }
    }
}

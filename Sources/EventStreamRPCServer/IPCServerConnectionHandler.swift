import EventStream
import GreengrassIPCModel
import GreengrassJSON
import Logging
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The I/O shell of one IPC connection: feeds decoded messages to ``RPCServerConnectionStateMachine`` and performs
/// the actions it returns in one `switch`. Runs operation handlers and the authenticator on tasks and hops back
/// to the event loop with their results.
///
/// Back-pressure: while the channel is not writable (the client is not reading what we send) the handler stops
/// passing `read()` down, so it stops reading new requests; events from handlers are dropped once more than
/// `maxOutboundBytes` are queued.
final class IPCServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = EventStreamMessage
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: RPCServerConnectionStateMachine
    private let authenticator: any IPCAuthenticator
    private let operationHandler: any IPCOperationHandler
    private let logger: Logger
    private let limits: EventStreamLimits
    private let maxOutboundBytes: Int
    private let connectTimeout: TimeAmount
    private let rejectionGracePeriod: TimeAmount

    private var context: ChannelHandlerContext?
    private var principal: String?
    private var streams: [Int32: IPCStream] = [:]
    private var readHeld = false
    private var connectTimer: Scheduled<Void>?
    /// Runs non-blocking handlers (``IPCOperationHandler/runsOnConnectionLoop(_:)``) on this connection's loop.
    private var loopExecutor: EventLoopTaskExecutor?
    /// A flush is queued on the loop: replies and events written until it runs leave in one syscall.
    private var flushScheduled = false
    /// Inside a read batch (between the first `channelRead` and `channelReadComplete`): replies written now are
    /// flushed once, when the batch completes.
    private var readingBatch = false
    private var flushAfterBatch = false
    /// Replies framed during the current read batch, written as one buffer when the batch completes (one
    /// allocation and one pending write per batch instead of per reply). Bounded by what one read batch asks.
    private var batchOutput: ByteBuffer?

    init(
        configuration: IPCServerConfiguration,
        authenticator: any IPCAuthenticator,
        operationHandler: any IPCOperationHandler,
        logger: Logger
    ) {
        self.machine = RPCServerConnectionStateMachine(configuration: configuration.connection)
        self.authenticator = authenticator
        self.operationHandler = operationHandler
        self.logger = logger
        self.limits = configuration.limits
        self.maxOutboundBytes = configuration.maxOutboundBytesPerConnection
        self.connectTimeout = configuration.connectTimeout
        self.rejectionGracePeriod = configuration.rejectionGracePeriod
    }

    private var bound: NIOLoopBound<IPCServerConnectionHandler> {
        NIOLoopBound(self, eventLoop: context!.eventLoop)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loopExecutor = EventLoopTaskExecutor.forLoop(context.eventLoop)
        let bound = self.bound
        // A client that connects and never completes Connect must not hold a connection slot forever.
        connectTimer = context.eventLoop.scheduleTask(in: connectTimeout) {
            bound.value.connectTimedOut()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectTimer?.cancel()
        terminateAllStreams()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readingBatch = true
        perform(machine.receivedMessage(unwrapInboundIn(data)))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readingBatch = false
        writeBatchOutput()
        if flushAfterBatch {
            flushAfterBatch = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let decodingError = error as? EventStreamDecodingError {
            logger.debug("IPC connection sent a malformed frame", metadata: ["error": "\(decodingError)"])
            perform(machine.decodingFailed(decodingError))
        } else {
            logger.debug("IPC connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        readingBatch = false
        batchOutput = nil
        terminateAllStreams()
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readHeld = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, readHeld {
            readHeld = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Actions

    private func perform(_ action: RPCServerConnectionStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .none:
            break
        case .authenticate(let payload):
            connectTimer?.cancel()
            startAuthentication(token: Self.authToken(from: payload), eventLoop: context.eventLoop)
        case .send(let message):
            write(message, flush: true)
        case .sendAndClose(let message):
            let channel = context.channel
            let promise = context.eventLoop.makePromise(of: Void.self)
            write(message, flush: true, promise: promise)
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        case .reject(let connectAck):
            write(connectAck, flush: true)
            let channel = context.channel
            connectTimer = context.eventLoop.scheduleTask(in: rejectionGracePeriod) { channel.close(promise: nil) }
        case .close:
            context.close(promise: nil)
        case .startOperation(let streamID, let operation, let payload):
            startOperation(streamID: streamID, operation: operation, payload: payload, eventLoop: context.eventLoop)
        case .refuseStream(let streamID, _, let reason):
            writeError(.serviceError(reason), on: streamID)
        case .streamTerminatedByClient(let streamID):
            streams.removeValue(forKey: streamID)?.terminate(.clientClosed)
        case .failStream(let streamID, let reason):
            writeError(.serviceError(reason), on: streamID)
            streams.removeValue(forKey: streamID)?.terminate(.serverClosed)
        }
    }

    private func startAuthentication(token: String?, eventLoop: any EventLoop) {
        let authenticator = self.authenticator
        let bound = self.bound
        spawn {
            let principal: String? = if let token, !token.isEmpty {
                await authenticator.authenticate(authToken: token)
            } else {
                nil
            }
            eventLoop.executeSoon { bound.value.authenticationCompleted(principal: principal) }
        }
    }

    private func authenticationCompleted(principal: String?) {
        self.principal = principal
        if principal == nil {
            logger.info("IPC connection rejected: unknown or missing auth token")
        }
        perform(machine.authenticationCompleted(accepted: principal != nil))
    }

    private func connectTimedOut() {
        guard let context, !machine.isClosed, principal == nil else { return }
        logger.debug("IPC connection closed: no Connect within \(connectTimeout)")
        _ = machine.connectionClosed()
        context.close(promise: nil)
    }

    private func startOperation(streamID: Int32, operation: String, payload: ByteBuffer, eventLoop: any EventLoop) {
        let bound = self.bound
        let stream = IPCStream(streamID: streamID, operation: operation, eventLoop: eventLoop) { output, id in
            bound.value.output(output, on: id)
        }
        streams[streamID] = stream
        let call = IPCCall(principal: principal ?? "", operation: operation, payload: Array(buffer: payload), stream: stream)
        let handler = operationHandler
        let onLoop = handler.runsOnConnectionLoop(operation)
        if onLoop, let answer = handler.handleOnConnectionLoop(call) {
            switch answer {
            case .now(let reply):
                operationReturned(reply, on: streamID)
            case .later(let future):
                future.hop(to: eventLoop).whenComplete { result in
                    switch result {
                    case .success(let reply): bound.value.operationReturned(reply, on: streamID)
                    case .failure(let error): bound.value.operationReturned(.error(.serviceError("\(operation) failed: \(error)")), on: streamID)
                    }
                }
            }
            return
        }
        let body: @Sendable () async -> Void = {
            let reply = await handler.handle(call)
            eventLoop.executeSoon { bound.value.operationReturned(reply, on: streamID) }
        }
        if let loopExecutor, onLoop {
            Task(executorPreference: loopExecutor, operation: body)
        } else {
            spawn(body)
        }
    }

    /// Starts a task for a handler or the authenticator: they are async and may wait on other parts of the
    /// nucleus, so unless they declare themselves non-blocking they never run on the event loop itself.
    private func spawn(_ body: @escaping @Sendable () async -> Void) {
        Task(operation: body)
    }

    /// Bytes written to the channel but not yet taken by the socket.
    private var bufferedOutboundBytes: Int {
        (try? context?.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    private func operationReturned(_ reply: IPCReply, on streamID: Int32) {
        let output: RPCServerConnectionStateMachine.StreamOutput = switch reply {
        case .response(let shape, let json): .response(shape: shape, json: Self.body(json), terminate: true)
        case .streamOpened(let shape, let json): .response(shape: shape, json: Self.body(json), terminate: false)
        case .error(let error): .error(shape: error.shape, json: error.json)
        }
        if case .failure(let error) = self.output(output, on: streamID, isEvent: false) {
            logger.debug("IPC reply not sent", metadata: ["stream": "\(streamID)", "reason": "\(error)"])
        }
    }

    /// `{}`, the body of most responses (every PublishToIoTCore's), shared instead of allocated per reply.
    private static let emptyObject = ByteBuffer(string: "{}")

    /// A response body as a buffer.
    static func body(_ json: [UInt8]) -> ByteBuffer {
        json.count == 2 && json[0] == UInt8(ascii: "{") && json[1] == UInt8(ascii: "}") ? emptyObject : ByteBuffer(bytes: json)
    }

    /// Everything a handler sends goes through here, on the event loop.
    private func output(
        _ output: RPCServerConnectionStateMachine.StreamOutput,
        on streamID: Int32,
        isEvent: Bool = true
    ) -> Result<Void, IPCStreamError> {
        if isEvent, case .event = output, bufferedOutboundBytes > maxOutboundBytes {
            return .failure(.outboundQueueFull(streamID: streamID, limit: maxOutboundBytes))
        }
        switch machine.send(output, on: streamID) {
        case .write(let messages, let streamClosed):
            for message in messages {
                write(message, flush: false)
            }
            if !messages.isEmpty { scheduleFlush() }
            if streamClosed {
                streams.removeValue(forKey: streamID)?.terminate(.serverClosed)
            }
            return .success(())
        case .drop(let reason):
            switch reason {
            case .connectionClosed: return .failure(.streamClosed(streamID: streamID, .connectionClosed))
            case .streamClosed:
                return .failure(.streamClosed(streamID: streamID, streams[streamID]?.termination ?? .serverClosed))
            case .alreadyResponded: return .failure(.alreadyResponded(streamID: streamID))
            case .tooManyEventsBeforeResponse: return .failure(.tooManyEventsBeforeResponse(streamID: streamID))
            }
        }
    }

    /// Flushes once the current read batch completes (replies answered while reading), or else once the loop has
    /// run what is already queued (other replies of the same burst), instead of one syscall per reply.
    private func scheduleFlush() {
        if readingBatch {
            flushAfterBatch = true
            return
        }
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        let bound = self.bound
        context.eventLoop.execute {
            let handler = bound.value
            handler.flushScheduled = false
            handler.context?.flush()
        }
    }

    private func writeError(_ error: IPCModeledError, on streamID: Int32) {
        write(.modeled(.applicationError, streamID: streamID, flags: .terminateStream, shape: error.shape, json: error.json),
              flush: true)
    }

    private func write(_ message: RPCMessage, flush: Bool, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if readingBatch, !flush, promise == nil {
            // A reply answered while reading: joins the batch's buffer, written when the batch completes.
            var output = batchOutput ?? context.channel.allocator.buffer(capacity: 256)
            batchOutput = nil  // `output` is then the only reference and grows in place
            encode(message, into: &output)
            batchOutput = output
            return
        }
        writeBatchOutput()  // what the batch framed so far goes first: replies keep their order
        var buffer = context.channel.allocator.buffer(capacity: 0)
        encode(message, into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: promise)
        if flush { context.flush() }
    }

    /// Hands the read batch's framed replies to the channel (not flushed).
    private func writeBatchOutput() {
        guard let output = batchOutput else { return }
        batchOutput = nil
        context?.write(wrapOutboundOut(output), promise: nil)
    }

    private func encode(_ message: RPCMessage, into buffer: inout ByteBuffer) {
        do {
            try EventStreamEncoder.encode(message, into: &buffer, limits: limits)
        } catch {
            // Only a handler's oversized body gets here; tell the client something rather than nothing.
            logger.error("IPC message could not be encoded", metadata: ["error": "\(error)"])
            if message.streamID != 0, message.type != .applicationError {
                let fallback = IPCModeledError.serviceError("Response could not be encoded: \(error)")
                try? EventStreamEncoder.encode(
                    RPCMessage.modeled(.applicationError, streamID: message.streamID, flags: .terminateStream,
                                       shape: fallback.shape, json: fallback.json),
                    into: &buffer, limits: limits)
            }
        }
    }

    private func terminateAllStreams() {
        let open = machine.connectionClosed()
        for id in open {
            streams.removeValue(forKey: id)?.terminate(.connectionClosed)
        }
        for stream in streams.values { stream.terminate(.connectionClosed) }
        streams = [:]
    }

    /// Extracts `authToken` from the Connect payload. Parsed as JSON (never compared as raw bytes: Python writes
    /// `{"authToken": "…"}` with a space, Java writes it compactly).
    static func authToken(from payload: ByteBuffer) -> String? {
        struct ConnectPayload: Decodable { var authToken: String? }
        return try? JSONValueDecoder().decode(ConnectPayload.self, from: payload.readableBytesView).authToken
    }
}

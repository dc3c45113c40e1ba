import EventStream
import NIOCore
import Synchronization

/// How a stream ended.
public enum IPCStreamTermination: Sendable, Hashable {
    /// The client sent TerminateStream (e.g. the SDK's `operation.close()`).
    case clientClosed
    /// The server ended it: the final response, an error, or ``IPCStream/close()``.
    case serverClosed
    /// The connection went away (client exit, protocol error, server shutdown).
    case connectionClosed
}

/// Why ``IPCStream/send(event:json:)`` did not send.
public enum IPCStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stream already ended.
    case streamClosed(streamID: Int32, IPCStreamTermination)
    /// The client is not reading: more than `limit` bytes are waiting to be written to it, so the event was
    /// dropped rather than letting nucleus memory grow.
    case outboundQueueFull(streamID: Int32, limit: Int)
    /// A second response on the same stream.
    case alreadyResponded(streamID: Int32)
    /// Too many events were sent before the handler returned its response.
    case tooManyEventsBeforeResponse(streamID: Int32)
    /// The event could not be framed (e.g. larger than the message limit).
    case encodingFailed(streamID: Int32, String)

    public var description: String {
        switch self {
        case .streamClosed(let id, let how): "IPC stream \(id) is closed (\(how))"
        case .outboundQueueFull(let id, let limit):
            "IPC stream \(id): client is not reading; more than \(limit) bytes queued, event dropped"
        case .alreadyResponded(let id): "IPC stream \(id) already has its response"
        case .tooManyEventsBeforeResponse(let id): "IPC stream \(id): too many events before the response"
        case .encodingFailed(let id, let why): "IPC stream \(id): cannot encode message: \(why)"
        }
    }
}

/// The server side of one open stream, handed to the operation handler in ``IPCCall``.
///
/// It is `Sendable` so a handler can keep it (e.g. in a subscription table) and send events from anywhere; every
/// send hops onto the connection's event loop, where the connection state machine decides whether it goes out.
public final class IPCStream: Sendable {
    /// The stream id on its connection.
    public let streamID: Int32
    /// The operation that opened the stream.
    public let operation: String

    /// The connection's event loop: where its handlers run when they run on the loop, and where replies are written.
    public let eventLoop: any EventLoop
    private let sink: @Sendable (RPCServerConnectionStateMachine.StreamOutput, Int32) -> Result<Void, IPCStreamError>
    private let state = Mutex(TerminationState())

    private struct TerminationState: ~Copyable {
        var reason: IPCStreamTermination?
        var waiters: [CheckedContinuation<IPCStreamTermination, Never>] = []
        var callbacks: [@Sendable (IPCStreamTermination) -> Void] = []
    }

    init(
        streamID: Int32,
        operation: String,
        eventLoop: any EventLoop,
        sink: @escaping @Sendable (RPCServerConnectionStateMachine.StreamOutput, Int32) -> Result<Void, IPCStreamError>
    ) {
        self.streamID = streamID
        self.operation = operation
        self.eventLoop = eventLoop
        self.sink = sink
    }

    /// A stream that is not attached to any connection: everything sent to it goes to `sink`. For unit-testing
    /// operation handlers without a socket.
    public static func detached(
        streamID: Int32 = 1,
        operation: String,
        eventLoop: any EventLoop,
        sink: @escaping @Sendable (RPCServerConnectionStateMachine.StreamOutput) -> Void
    ) -> IPCStream {
        IPCStream(streamID: streamID, operation: operation, eventLoop: eventLoop) { output, _ in
            sink(output)
            return .success(())
        }
    }

    /// Sends one stream event (`service-model-type` = `shape`, body = `json`).
    ///
    /// Never blocks on a slow client: if the connection already has too many unsent bytes the event is dropped
    /// and ``IPCStreamError/outboundQueueFull(streamID:limit:)`` thrown, so one stalled subscriber cannot stall a
    /// publisher fanning out to many.
    public func send(event shape: String, json: [UInt8]) async throws(IPCStreamError) {
        try await submit(.event(shape: shape, json: ByteBuffer(bytes: json)))
    }

    /// Ends the stream from the server side (empty ApplicationMessage with TerminateStream). Idempotent.
    public func close() async {
        _ = try? await submit(.close)
    }

    /// How the stream ended, or nil while it is open.
    public var termination: IPCStreamTermination? {
        state.withLock { $0.reason }
    }

    /// Waits until the stream ends and returns how.
    public func waitForTermination() async -> IPCStreamTermination {
        await withCheckedContinuation { continuation in
            let reason: IPCStreamTermination? = state.withLock { state in
                if let reason = state.reason { return reason }
                state.waiters.append(continuation)
                return nil
            }
            if let reason { continuation.resume(returning: reason) }
        }
    }

    /// Registers `callback` to run once when the stream ends (immediately if it already has).
    public func onTermination(_ callback: @escaping @Sendable (IPCStreamTermination) -> Void) {
        let reason: IPCStreamTermination? = state.withLock { state in
            if let reason = state.reason { return reason }
            state.callbacks.append(callback)
            return nil
        }
        if let reason { callback(reason) }
    }

    /// Marks the stream ended; the first reason wins.
    func terminate(_ reason: IPCStreamTermination) {
        let (waiters, callbacks) = state.withLock { state -> ([CheckedContinuation<IPCStreamTermination, Never>], [@Sendable (IPCStreamTermination) -> Void]) in
            guard state.reason == nil else { return ([], []) }
            state.reason = reason
            defer {
                state.waiters = []
                state.callbacks = []
            }
            return (state.waiters, state.callbacks)
        }
        for waiter in waiters { waiter.resume(returning: reason) }
        for callback in callbacks { callback(reason) }
    }

    private func submit(_ output: RPCServerConnectionStateMachine.StreamOutput) async throws(IPCStreamError) {
        if let reason = termination { throw .streamClosed(streamID: streamID, reason) }
        let sink = self.sink
        let id = streamID
        if eventLoop.inEventLoop {
            // A handler running on its connection's loop: no hop needed.
            return try sink(output, id).get()
        }
        let result: Result<Void, IPCStreamError>
        do {
            result = try await eventLoop.submit { sink(output, id) }.get()
        } catch {
            // The event loop is gone: so is the connection.
            throw .streamClosed(streamID: streamID, .connectionClosed)
        }
        try result.get()
    }
}

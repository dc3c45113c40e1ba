import NIOCore

/// The server side of one event-stream RPC connection as a pure value: feed it events, perform the action it
/// returns. It owns every protocol rule (Connect first, stream-id ordering, response-before-events, close
/// semantics) so the I/O shell is a single `switch` and the rules are testable without sockets.
public struct RPCServerConnectionStateMachine: Sendable {
    /// Per-connection limits.
    public struct Configuration: Sendable, Hashable {
        /// Streams that may be open (handler running or subscription live) at once on one connection.
        public var maxOpenStreams: Int
        /// Events a handler may send on a stream before its response went out; they are sent right after it.
        public var maxEventsBeforeResponse: Int

        /// Creates a configuration.
        public init(maxOpenStreams: Int = 256, maxEventsBeforeResponse: Int = 64) {
            self.maxOpenStreams = maxOpenStreams
            self.maxEventsBeforeResponse = maxEventsBeforeResponse
        }
    }

    /// What the shell must do after an inbound event.
    public enum Action: Sendable, Hashable {
        /// Nothing.
        case none
        /// Ask the authenticator about the Connect payload (JSON `{"authToken": …}`), then call
        /// ``authenticationCompleted(accepted:)``.
        case authenticate(connectPayload: ByteBuffer)
        /// Write the message.
        case send(RPCMessage)
        /// Write the message, flush, then close the connection (ProtocolError).
        case sendAndClose(RPCMessage)
        /// Write the rejecting ConnectAck and let the *client* close; close ourselves only after a grace period.
        /// Closing at once races the SDK's own close, and the Python SDK then reports a socket error instead of
        /// `AccessDeniedError`. Everything the client sends meanwhile is ignored.
        case reject(RPCMessage)
        /// Close the connection without writing anything.
        case close
        /// A new stream: run the operation's handler with this request.
        case startOperation(streamID: Int32, operation: String, payload: ByteBuffer)
        /// A new stream that cannot be served (e.g. too many open streams): answer it with a modeled ServiceError
        /// carrying `reason` (the stream is already closed in the state machine).
        case refuseStream(streamID: Int32, operation: String, reason: String)
        /// The client closed a stream: tell its handler, send nothing.
        case streamTerminatedByClient(streamID: Int32)
        /// The client sent a second message on an open stream, which no GreengrassCoreIPC operation allows:
        /// answer with a modeled ServiceError carrying `reason` and tell the handler the stream ended.
        case failStream(streamID: Int32, reason: String)
    }

    /// What a handler wants to send on its stream.
    public enum StreamOutput: Sendable, Hashable {
        /// The operation's response (always the first message). `terminate` ends the stream (request/response
        /// operations); without it the stream stays open for events.
        case response(shape: String, json: ByteBuffer, terminate: Bool)
        /// A stream event (after the response; queued if the response has not gone out yet).
        case event(shape: String, json: ByteBuffer)
        /// A modeled error; always ends the stream.
        case error(shape: String, json: ByteBuffer)
        /// Server-side close: an empty ApplicationMessage with TerminateStream. Before the response it is queued
        /// and sent right after the response and any queued events.
        case close
    }

    /// Why a stream output was not written.
    public enum DropReason: Sendable, Hashable {
        /// The connection is closed or closing.
        case connectionClosed
        /// The stream is closed (by either side) or never existed.
        case streamClosed
        /// A second response on a stream that already has one.
        case alreadyResponded
        /// Too many events were queued before the response.
        case tooManyEventsBeforeResponse
    }

    /// What the shell must do with a stream output.
    public enum OutputAction: Sendable, Hashable {
        /// Write these messages in order; `streamClosed` says the stream ended with them.
        case write([RPCMessage], streamClosed: Bool)
        /// Write nothing.
        case drop(DropReason)
    }

    enum StreamState: Sendable, Hashable {
        /// Handler running; events it sends early (and a close it asks for early) wait here.
        case awaitingResponse(pendingEvents: [RPCMessage], closeRequested: Bool)
        /// Response sent, stream open for events.
        case open
    }

    enum State: Sendable {
        case awaitingConnect
        case authenticating
        case connected(lastStreamID: Int32, streams: [Int32: StreamState])
        case closed
    }

    private var state: State = .awaitingConnect
    /// The limits this connection enforces.
    public let configuration: Configuration

    /// A connection that has just been accepted.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The ids of the streams currently open (for tests and diagnostics).
    public var openStreamIDs: [Int32] {
        if case .connected(_, let streams) = state { return streams.keys.sorted() }
        return []
    }

    /// Whether the connection is finished (rejected, protocol error or closed).
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    // MARK: Inbound

    /// The text the C runtime uses when a control header is missing (vector `34_c2s_protocol_error`).
    public static let missingHeadersMessage =
        "A message was received with missing required fields. Check that your client is sending at least, :message-type, :message-flags, and :stream-id"

    /// A framed message arrived.
    public mutating func receivedMessage(_ message: EventStreamMessage) -> Action {
        if case .closed = state { return .none }
        let rpc: RPCMessage
        do {
            rpc = try RPCMessage(message)
        } catch {
            switch error {
            case .missingControlHeader: return protocolError(Self.missingHeadersMessage)
            case .unknownMessageType: return protocolError(error.description)
            }
        }
        switch state {
        case .awaitingConnect:
            guard rpc.type == .connect, rpc.streamID == 0 else {
                return protocolError(
                    "The first message on a connection must be Connect on stream 0 (got \(rpc.type) on stream \(rpc.streamID)); the Connect/ConnectAck exchange has to happen first and only once"
                )
            }
            guard rpc.version == RPCHeaderName.supportedVersion else {
                state = .closed
                return .reject(RPCMessage(type: .connectAck, flags: []))
            }
            state = .authenticating
            return .authenticate(connectPayload: rpc.payload)
        case .authenticating:
            return protocolError("Received \(rpc.type) before the ConnectAck was sent")
        case .connected(let lastStreamID, var streams):
            if rpc.streamID == 0 {
                return receivedConnectionMessage(rpc)
            }
            // `state` lets go of the stream table while it changes, so the table changes in place instead of being
            // copied with every open stream on every message; every path below sets `state` again.
            state = .closed
            return receivedStreamMessage(rpc, lastStreamID: lastStreamID, streams: &streams)
        case .closed:
            return .none
        }
    }

    private mutating func receivedConnectionMessage(_ rpc: RPCMessage) -> Action {
        switch rpc.type {
        case .ping:
            // Echo the ping's own (non-`:`) headers and payload, as the Java server does.
            let echoed = rpc.headers.filter { !$0.name.hasPrefix(":") }
            return .send(RPCMessage(type: .pingResponse, headers: echoed, payload: rpc.payload))
        case .pingResponse:
            return .none
        case .protocolError, .internalError:
            // The peer gave up on the connection; it closes next.
            state = .closed
            return .close
        case .connect:
            return protocolError("A second Connect was received; Connect must happen only once")
        case .connectAck, .applicationMessage, .applicationError:
            return protocolError("\(rpc.type) is not valid on stream 0")
        }
    }

    private mutating func receivedStreamMessage(
        _ rpc: RPCMessage,
        lastStreamID: Int32,
        streams: inout [Int32: StreamState]
    ) -> Action {
        guard rpc.type.isStreamMessage, rpc.streamID > 0 else {
            return protocolError("\(rpc.type) is not valid on stream \(rpc.streamID)")
        }
        let id = rpc.streamID
        let terminate = rpc.flags.contains(.terminateStream)
        if streams[id] != nil {
            streams[id] = nil
            state = .connected(lastStreamID: lastStreamID, streams: streams)
            if terminate { return .streamTerminatedByClient(streamID: id) }
            return .failStream(streamID: id, reason: "Stream \(id) does not accept client messages after its request")
        }
        if id <= lastStreamID {
            // A TerminateStream crossing our own close is normal; anything else on a dead stream is a violation.
            guard terminate else { return protocolError("Message on stream \(id), which is already closed") }
            state = .connected(lastStreamID: lastStreamID, streams: streams)
            return .none
        }
        guard id == lastStreamID &+ 1 else {
            return protocolError("New stream id \(id) is not the next id \(lastStreamID &+ 1)")
        }
        guard let operation = rpc.operation, !operation.isEmpty else {
            return protocolError("The first message on stream \(id) has no operation header")
        }
        if terminate {
            // Opened and closed in one message: nothing to run (Java server behaviour).
            state = .connected(lastStreamID: id, streams: streams)
            return .none
        }
        guard streams.count < configuration.maxOpenStreams else {
            state = .connected(lastStreamID: id, streams: streams)
            return .refuseStream(
                streamID: id, operation: operation,
                reason: "Too many open streams on this connection (limit \(configuration.maxOpenStreams))"
            )
        }
        streams[id] = .awaitingResponse(pendingEvents: [], closeRequested: false)
        state = .connected(lastStreamID: id, streams: streams)
        return .startOperation(streamID: id, operation: operation, payload: rpc.payload)
    }

    /// The decoder failed: the byte stream cannot be trusted any more. Answer with a ProtocolError naming the
    /// problem (the peer's own decoder is fine) and close — or just close at EOF mid-frame.
    public mutating func decodingFailed(_ error: EventStreamDecodingError) -> Action {
        if case .closed = state { return .none }
        if case .truncated = error {
            state = .closed
            return .close
        }
        return protocolError("Malformed event-stream frame: \(error)")
    }

    /// The authenticator answered the Connect.
    public mutating func authenticationCompleted(accepted: Bool) -> Action {
        guard case .authenticating = state else { return .none }
        if accepted {
            state = .connected(lastStreamID: 0, streams: [:])
            return .send(RPCMessage(type: .connectAck, flags: .connectionAccepted))
        }
        state = .closed
        return .reject(RPCMessage(type: .connectAck, flags: []))
    }

    /// The channel went away. Returns the streams that were open, whose handlers must learn the stream ended.
    public mutating func connectionClosed() -> [Int32] {
        let open = openStreamIDs
        state = .closed
        return open
    }

    private mutating func protocolError(_ text: String) -> Action {
        state = .closed
        return .sendAndClose(.connectionError(.protocolError, message: text))
    }

    // MARK: Outbound

    /// A handler wants to send `output` on stream `streamID`.
    public mutating func send(_ output: StreamOutput, on streamID: Int32) -> OutputAction {
        guard case .connected(let lastStreamID, var streams) = state else { return .drop(.connectionClosed) }
        // As in `receivedMessage`: the table changes in place, and every return puts it back.
        state = .closed
        defer { state = .connected(lastStreamID: lastStreamID, streams: streams) }
        guard let stream = streams[streamID] else { return .drop(.streamClosed) }
        let action: OutputAction
        switch (stream, output) {
        case (.awaitingResponse(let pending, let closeRequested), .response(let shape, let json, let terminate)):
            let response = RPCMessage.modeled(
                .applicationMessage, streamID: streamID, flags: terminate ? .terminateStream : [], shape: shape, json: json
            )
            if terminate {
                streams[streamID] = nil
                action = .write([response], streamClosed: true)
            } else if closeRequested {
                streams[streamID] = nil
                action = .write([response] + pending + [.terminateStream(streamID)], streamClosed: true)
            } else {
                streams[streamID] = .open
                action = .write([response] + pending, streamClosed: false)
            }
        case (.awaitingResponse(var pending, let closeRequested), .event(let shape, let json)):
            guard !closeRequested else { return .drop(.streamClosed) }
            guard pending.count < configuration.maxEventsBeforeResponse else {
                return .drop(.tooManyEventsBeforeResponse)
            }
            pending.append(.modeled(.applicationMessage, streamID: streamID, flags: [], shape: shape, json: json))
            streams[streamID] = .awaitingResponse(pendingEvents: pending, closeRequested: false)
            action = .write([], streamClosed: false)
        case (.awaitingResponse(let pending, _), .close):
            // The response must come first; the close follows it (and any queued events) once it is sent.
            streams[streamID] = .awaitingResponse(pendingEvents: pending, closeRequested: true)
            action = .write([], streamClosed: false)
        case (.open, .response):
            return .drop(.alreadyResponded)
        case (.open, .event(let shape, let json)):
            action = .write([.modeled(.applicationMessage, streamID: streamID, flags: [], shape: shape, json: json)],
                            streamClosed: false)
        case (_, .error(let shape, let json)):
            streams[streamID] = nil
            action = .write([.modeled(.applicationError, streamID: streamID, flags: .terminateStream, shape: shape, json: json)],
                            streamClosed: true)
        case (_, .close):
            streams[streamID] = nil
            action = .write([.terminateStream(streamID)], streamClosed: true)
        }
        return action
    }
}

extension RPCMessageType: CustomStringConvertible {
    public var description: String {
        switch self {
        case .applicationMessage: "ApplicationMessage"
        case .applicationError: "ApplicationError"
        case .ping: "Ping"
        case .pingResponse: "PingResponse"
        case .connect: "Connect"
        case .connectAck: "ConnectAck"
        case .protocolError: "ProtocolError"
        case .internalError: "InternalError"
        }
    }
}

import EventStream
import NIOCore
import Testing

/// The connection state machine, driven bare (no channel): each test feeds events and checks the actions.
@Suite("RPC server connection state machine")
struct RPCServerConnectionStateMachineTests {
    typealias Machine = RPCServerConnectionStateMachine

    static func message(
        _ type: RPCMessageType,
        stream: Int32 = 0,
        flags: RPCMessageFlags = [],
        operation: String? = nil,
        extra: [EventStreamHeader] = [],
        payload: String = ""
    ) -> EventStreamMessage {
        var headers = extra
        if let operation { headers.append(EventStreamHeader(name: RPCHeaderName.operation, value: .string(operation))) }
        return RPCMessage(type: type, flags: flags, streamID: stream, headers: headers, payload: ByteBuffer(string: payload))
            .eventStreamMessage
    }

    static let connect = message(.connect, extra: [EventStreamHeader(name: ":version", value: .string("0.1.0"))],
                                 payload: #"{"authToken": "T"}"#)

    /// A machine that has accepted a connection.
    static func connected(_ configuration: Machine.Configuration = .init()) -> Machine {
        var machine = Machine(configuration: configuration)
        _ = machine.receivedMessage(connect)
        _ = machine.authenticationCompleted(accepted: true)
        return machine
    }

    static func isProtocolError(_ action: Machine.Action) -> Bool {
        if case .sendAndClose(let message) = action { return message.type == .protocolError && message.streamID == 0 }
        return false
    }

    @Test("Connect → authenticate → accepted ConnectAck")
    func acceptedHandshake() {
        var machine = Machine()
        #expect(machine.receivedMessage(Self.connect) == .authenticate(connectPayload: ByteBuffer(string: #"{"authToken": "T"}"#)))
        #expect(machine.authenticationCompleted(accepted: true) == .send(RPCMessage(type: .connectAck, flags: .connectionAccepted)))
        #expect(!machine.isClosed)
    }

    @Test("a rejected token gets ConnectAck without the accepted flag; the connection is finished")
    func rejectedHandshake() {
        var machine = Machine()
        _ = machine.receivedMessage(Self.connect)
        #expect(machine.authenticationCompleted(accepted: false) == .reject(RPCMessage(type: .connectAck)))
        #expect(machine.isClosed)
        #expect(machine.receivedMessage(Self.message(.ping)) == .none)
    }

    @Test(
        "Connect versions other than 0.1.0 are rejected",
        arguments: [nil, "0.2.0", ""] as [String?]
    )
    func wrongVersion(version: String?) {
        var machine = Machine()
        let extra = version.map { [EventStreamHeader(name: ":version", value: .string($0))] } ?? []
        #expect(machine.receivedMessage(Self.message(.connect, extra: extra)) == .reject(RPCMessage(type: .connectAck)))
        #expect(machine.isClosed)
    }

    @Test(
        "anything before Connect is a protocol error",
        arguments: [
            message(.ping),
            message(.applicationMessage, stream: 1, operation: "aws.greengrass#PublishToIoTCore", payload: "{}"),
            message(.connect, stream: 1, extra: [EventStreamHeader(name: ":version", value: .string("0.1.0"))]),
            message(.connectAck),
        ]
    )
    func frameBeforeConnect(first: EventStreamMessage) {
        var machine = Machine()
        #expect(Self.isProtocolError(machine.receivedMessage(first)))
        #expect(machine.isClosed)
    }

    @Test("a message while authentication is pending is a protocol error")
    func messageWhileAuthenticating() {
        var machine = Machine()
        _ = machine.receivedMessage(Self.connect)
        #expect(Self.isProtocolError(machine.receivedMessage(Self.message(.ping))))
        #expect(machine.authenticationCompleted(accepted: true) == .none)
    }

    @Test("Ping echoes non-`:` headers and the payload")
    func pingEcho() {
        var machine = Self.connected()
        let custom = EventStreamHeader(name: "x-custom", value: .int64(7))
        let ping = Self.message(.ping, extra: [custom, EventStreamHeader(name: ":other", value: .bool(true))], payload: "p")
        #expect(machine.receivedMessage(ping) == .send(RPCMessage(type: .pingResponse, headers: [custom], payload: ByteBuffer(string: "p"))))
        #expect(machine.receivedMessage(Self.message(.pingResponse)) == .none)
    }

    @Test(
        "connection-level violations after the handshake",
        arguments: [
            message(.connect, extra: [EventStreamHeader(name: ":version", value: .string("0.1.0"))]),
            message(.connectAck),
            message(.applicationMessage, stream: 0, operation: "x"),
            message(.ping, stream: 3),
            message(.applicationMessage, stream: -1, operation: "x"),
            message(.applicationMessage, stream: 2, operation: "x"),
            message(.applicationMessage, stream: 1),
            EventStreamMessage(headers: [EventStreamHeader(name: ":message-type", value: .int32(9)),
                                         EventStreamHeader(name: ":message-flags", value: .int32(0)),
                                         EventStreamHeader(name: ":stream-id", value: .int32(0))]),
            EventStreamMessage(headers: [EventStreamHeader(name: ":message-type", value: .int32(2)),
                                         EventStreamHeader(name: ":message-flags", value: .int32(0)),
                                         EventStreamHeader(name: ":stream-id", value: .string("0"))]),
        ]
    )
    func violations(message: EventStreamMessage) {
        var machine = Self.connected()
        #expect(Self.isProtocolError(machine.receivedMessage(message)))
        #expect(machine.isClosed)
    }

    @Test("control headers match case-insensitively")
    func caseInsensitiveControlHeaders() {
        var machine = Self.connected()
        let ping = EventStreamMessage(headers: [EventStreamHeader(name: ":MESSAGE-TYPE", value: .int32(2)),
                                                EventStreamHeader(name: ":Message-Flags", value: .int32(0)),
                                                EventStreamHeader(name: ":STREAM-ID", value: .int32(0))])
        #expect(machine.receivedMessage(ping) == .send(RPCMessage(type: .pingResponse)))
    }

    @Test("the peer's ProtocolError or InternalError closes the connection")
    func peerGivesUp() {
        var machine = Self.connected()
        #expect(machine.receivedMessage(Self.message(.internalError, payload: "{}")) == .close)
        #expect(machine.isClosed)
    }

    @Test("request/response: a stream opens, its response terminates it, a reused id is a violation")
    func requestResponse() {
        var machine = Self.connected()
        let op = "aws.greengrass#PublishToIoTCore"
        #expect(machine.receivedMessage(Self.message(.applicationMessage, stream: 1, operation: op, payload: "{}"))
            == .startOperation(streamID: 1, operation: op, payload: ByteBuffer(string: "{}")))
        #expect(machine.openStreamIDs == [1])
        let response = Machine.StreamOutput.response(shape: "S", json: ByteBuffer(string: "{}"), terminate: true)
        #expect(machine.send(response, on: 1) == .write([.modeled(.applicationMessage, streamID: 1, flags: .terminateStream,
                                                                  shape: "S", json: ByteBuffer(string: "{}"))], streamClosed: true))
        #expect(machine.openStreamIDs == [])
        #expect(machine.send(response, on: 1) == .drop(.streamClosed))
        // A TerminateStream crossing our close is ignored; anything else on the dead stream is a violation.
        #expect(machine.receivedMessage(Self.message(.applicationMessage, stream: 1, flags: .terminateStream)) == .none)
        #expect(Self.isProtocolError(machine.receivedMessage(Self.message(.applicationMessage, stream: 1, operation: op))))
    }

    @Test("streaming: events wait for the response, then flow until the client terminates")
    func streaming() {
        var machine = Self.connected()
        _ = machine.receivedMessage(Self.message(.applicationMessage, stream: 1, operation: "Sub", payload: "{}"))
        let early = Machine.StreamOutput.event(shape: "E", json: ByteBuffer(string: "1"))
        #expect(machine.send(early, on: 1) == .write([], streamClosed: false))
        let eventMessage = RPCMessage.modeled(.applicationMessage, streamID: 1, flags: [], shape: "E", json: ByteBuffer(string: "1"))
        let responseMessage = RPCMessage.modeled(.applicationMessage, streamID: 1, flags: [], shape: "R", json: ByteBuffer(string: "{}"))
        #expect(machine.send(.response(shape: "R", json: ByteBuffer(string: "{}"), terminate: false), on: 1)
            == .write([responseMessage, eventMessage], streamClosed: false))
        #expect(machine.send(.response(shape: "R", json: ByteBuffer(), terminate: false), on: 1) == .drop(.alreadyResponded))
        #expect(machine.send(early, on: 1) == .write([eventMessage], streamClosed: false))
        #expect(machine.receivedMessage(Self.message(.applicationMessage, stream: 1, flags: .terminateStream))
            == .streamTerminatedByClient(streamID: 1))
        #expect(machine.send(early, on: 1) == .drop(.streamClosed))
    }

    @Test("server close and modeled errors end the stream with TerminateStream")
    func serverEnds() {
        var machine = Self.connected()
        _ = machine.receivedMessage(Self.message(.applicationMessage, stream: 1, operation: "A"))
        _ = machine.receivedMessage(Self.message(.applicationMessage, stream: 2, operation: "B"))
        _ = machine.send(.response(shape: "R", json: ByteBuffer(string: "{}"), terminate: false), on: 1)
        #expect(machine.send(.close, on: 1) == .write([.terminateStream(1)], streamClosed: true))
        #expect(machine.send(.error(shape: "aws.greengrass#ServiceError", json: ByteBuffer(string: "{}")), on: 2)
            == .write([.modeled(.applicationError, streamID: 2, flags: .terminateStream, shape: "aws.greengrass#ServiceError",
                                json: ByteBuffer(string: "{}"))], streamClosed: true))
        #expect(machine.openStreamIDs == [])
    }

    @Test("a close requested before the response follows the response and queued events")
    func earlyClose() {
        var machine = Self.connected()
        _ = machine.receivedMessage(Self.message(.applicationMessage, stream: 1, operation: "Sub"))
        let event = Machine.StreamOutput.event(shape: "E", json: ByteBuffer(string: "1"))
        _ = machine.send(event, on: 1)
        #expect(machine.send(.close, on: 1) == .write([], streamClosed: false))
        #expect(machine.send(event, on: 1) == .drop(.streamClosed))
        #expect(machine.send(.response(shape: "R", json: ByteBuffer(string: "{}"), terminate: false), on: 1) == .write([
            .modeled(.applicationMessage, streamID: 1, flags: [], shape: "R", json: ByteBuffer(string: "{}")),
            .modeled(.applicationMessage, streamID: 1, flags: [], shape: "E", json: ByteBuffer(string: "1")),
            .terminateStream(1),
        ], streamClosed: true))
        #expect(machine.openStreamIDs == [])
    }

    @Test("a second client message on an open stream fails that stream only")
    func clientStreamMessage() {
        var machine = Self.connected()
        _ = machine.receivedMessage(Self.message(.applicationMessage, stream: 1, operation: "A"))
        guard case .failStream(streamID: 1, _) = machine.receivedMessage(Self.message(.applicationMessage, stream: 1, payload: "{}")) else {
            Issue.record("expected failStream")
            return
        }
        #expect(!machine.isClosed)
        #expect(machine.openStreamIDs == [])
    }

    @Test("open streams are bounded per connection; a stream opened and closed at once runs nothing")
    func streamLimit() {
        var machine = Self.connected(.init(maxOpenStreams: 2))
        _ = machine.receivedMessage(Self.message(.applicationMessage, stream: 1, operation: "A"))
        _ = machine.receivedMessage(Self.message(.applicationMessage, stream: 2, operation: "A"))
        guard case .refuseStream(streamID: 3, operation: "A", _) = machine.receivedMessage(Self.message(.applicationMessage, stream: 3, operation: "A")) else {
            Issue.record("expected refuseStream")
            return
        }
        #expect(machine.receivedMessage(Self.message(.applicationMessage, stream: 4, flags: .terminateStream, operation: "A")) == .none)
        #expect(machine.openStreamIDs == [1, 2])
        #expect(machine.connectionClosed() == [1, 2])
        #expect(machine.send(.close, on: 1) == .drop(.connectionClosed))
    }

    @Test("events queued before the response are bounded")
    func earlyEventLimit() {
        var machine = Self.connected(.init(maxEventsBeforeResponse: 1))
        _ = machine.receivedMessage(Self.message(.applicationMessage, stream: 1, operation: "A"))
        let event = Machine.StreamOutput.event(shape: "E", json: ByteBuffer(string: "{}"))
        #expect(machine.send(event, on: 1) == .write([], streamClosed: false))
        #expect(machine.send(event, on: 1) == .drop(.tooManyEventsBeforeResponse))
    }

    @Test(
        "decoding failures: ProtocolError naming the problem, or a silent close at EOF",
        arguments: [
            EventStreamDecodingError.preludeChecksumMismatch(expected: 1, computed: 2),
            .messageChecksumMismatch(expected: 1, computed: 2),
            .totalLengthExceedsLimit(99_999_999, limit: 16),
            .unknownHeaderType(10, headerName: ":content-type"),
            .invalidHeaderNameEncoding(headerOffset: 0),
        ]
    )
    func decodingFailure(error: EventStreamDecodingError) {
        var machine = Self.connected()
        let action = machine.decodingFailed(error)
        #expect(Self.isProtocolError(action))
        if case .sendAndClose(let message) = action {
            #expect(String(buffer: message.payload).contains(error.description))
        }
        var other = Self.connected()
        #expect(other.decodingFailed(.truncated(bufferedBytes: 3)) == .close)
    }
}

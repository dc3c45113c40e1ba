import NIOCore
import Testing
@testable import EventStream

/// Replies are framed straight from the RPC message (no header array): the bytes must be those of its
/// `eventStreamMessage`, whose header order is the C runtime's.
@Suite("RPC messages framed without a header array")
struct RPCMessageEncodingTests {
    static let messages: [RPCMessage] = [
        .modeled(.applicationMessage, streamID: 7, flags: .terminateStream, shape: "aws.greengrass#PublishToIoTCoreResponse", json: ByteBuffer(string: "{}")),
        .modeled(.applicationMessage, streamID: 1, flags: [], shape: "s", json: ByteBuffer(string: "{\"a\":1}"), operation: "aws.greengrass#SubscribeToIoTCore"),
        .terminateStream(3),
        .connectionError(.protocolError, message: "bad"),
        // `operation` first and twice: only the first moves to the end; every value type.
        RPCMessage(type: .ping, flags: [], streamID: 0, headers: [
            EventStreamHeader(name: "operation", value: .string("first")),
            EventStreamHeader(name: "b", value: .bool(true)),
            EventStreamHeader(name: "c", value: .bool(false)),
            EventStreamHeader(name: "d", value: .byte(-1)),
            EventStreamHeader(name: "e", value: .int16(-2)),
            EventStreamHeader(name: "f", value: .int32(0x0102_0304)),
            EventStreamHeader(name: "g", value: .int64(-3)),
            EventStreamHeader(name: "h", value: .byteBuffer([0, 255])),
            EventStreamHeader(name: "operation", value: .string("second")),
            EventStreamHeader(name: "ü", value: .string("ß")),
            EventStreamHeader(name: "t", value: .timestamp(1_700_000_000_000)),
            EventStreamHeader(name: "u", value: .uuid(EventStreamUUID(bytes: Array(0..<16))!)),
        ], payload: ByteBuffer(string: "body")),
    ]

    @Test("the wire headers are the event-stream message's headers", arguments: messages)
    func wireHeaders(message: RPCMessage) {
        #expect(Array(message.wireHeaders) == message.eventStreamMessage.headers)
        #expect(Array(message.wireHeaders).last?.name == (message.operation == nil ? RPCHeaderName.streamID : "operation"))
    }

    @Test("framing the RPC message gives the bytes of framing its event-stream message, which decode back", arguments: messages)
    func sameBytes(message: RPCMessage) throws {
        var direct = ByteBuffer(string: "x")
        try EventStreamEncoder.encode(message, into: &direct)
        var viaMessage = ByteBuffer(string: "x")
        try EventStreamEncoder.encode(message.eventStreamMessage, into: &viaMessage)
        #expect(direct == viaMessage)
        direct.moveReaderIndex(forwardBy: 1)
        let decoded = try #require(try EventStreamDecoder.decodeMessage(from: &direct))
        #expect(decoded == message.eventStreamMessage)
        #expect(try RPCMessage(decoded).streamID == message.streamID)
    }

    @Test("limits count the control headers too, and a refused message leaves the buffer as it was")
    func limits() {
        let message = RPCMessage.modeled(.applicationMessage, streamID: 1, flags: [], shape: "s", json: ByteBuffer())
        var limits = EventStreamLimits.default
        limits.maxHeaderCount = 4  // two modeled headers + three control headers = 5
        var buffer = ByteBuffer(string: "kept")
        #expect(throws: EventStreamEncodingError.tooManyHeaders(count: 5, limit: 4)) { try EventStreamEncoder.encode(message, into: &buffer, limits: limits) }
        #expect(String(buffer: buffer) == "kept")
    }
}

import GreengrassJSON
import NIOCore

/// `:message-type` values of the event-stream RPC layer.
public enum RPCMessageType: Int32, Sendable, Hashable, CaseIterable {
    case applicationMessage = 0
    case applicationError = 1
    case ping = 2
    case pingResponse = 3
    case connect = 4
    case connectAck = 5
    case protocolError = 6
    case internalError = 7

    /// Whether this type belongs on a stream (id > 0) rather than on the connection (id 0).
    public var isStreamMessage: Bool { self == .applicationMessage || self == .applicationError }
}

/// `:message-flags` bits.
public struct RPCMessageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// ConnectAck only: the connection was accepted.
    public static let connectionAccepted = RPCMessageFlags(rawValue: 1)
    /// Last message the sender sends on this stream.
    public static let terminateStream = RPCMessageFlags(rawValue: 2)
}

/// Well-known header names and values of the RPC layer.
public enum RPCHeaderName {
    public static let messageType = ":message-type"
    public static let messageFlags = ":message-flags"
    public static let streamID = ":stream-id"
    public static let operation = "operation"
    public static let contentType = ":content-type"
    public static let serviceModelType = "service-model-type"
    public static let version = ":version"
    /// The only protocol version the SDK clients speak.
    public static let supportedVersion = "0.1.0"
    /// The content type of every modeled body.
    public static let applicationJSON = "application/json"
}

/// Why an event-stream message is not a valid RPC message.
public enum RPCMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One of the three control headers is absent or not an int32.
    case missingControlHeader(name: String)
    /// `:message-type` holds a value outside 0...7.
    case unknownMessageType(Int32)

    public var description: String {
        switch self {
        case .missingControlHeader(let name):
            "RPC message lacks the int32 header \(name) (every message needs :message-type, :message-flags and :stream-id)"
        case .unknownMessageType(let value):
            "RPC message has unknown :message-type \(value)"
        }
    }
}

/// An event-stream message viewed through the RPC layer: the three control headers parsed, everything else kept.
public struct RPCMessage: Sendable, Hashable {
    /// `:message-type`.
    public var type: RPCMessageType
    /// `:message-flags`.
    public var flags: RPCMessageFlags
    /// `:stream-id` (0 for connection-level messages).
    public var streamID: Int32
    /// All other headers, in wire order.
    public var headers: [EventStreamHeader]
    /// The body.
    public var payload: ByteBuffer

    /// Creates a message; `headers` are the non-control headers.
    public init(
        type: RPCMessageType,
        flags: RPCMessageFlags = [],
        streamID: Int32 = 0,
        headers: [EventStreamHeader] = [],
        payload: ByteBuffer = ByteBuffer()
    ) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.headers = headers
        self.payload = payload
    }

    /// Parses the control headers. Like the C runtime, names match case-insensitively and only int32 headers count,
    /// so a `:stream-id` sent as a string is "missing".
    public init(_ message: EventStreamMessage) throws(RPCMessageError) {
        var type: Int32?
        var flags: Int32?
        var streamID: Int32?
        var others: [EventStreamHeader] = []
        others.reserveCapacity(max(0, message.headers.count - 3))  // the three control headers are not kept
        for header in message.headers {
            if case .int32(let value) = header.value {
                if type == nil, asciiCaseInsensitiveEquals(header.name, RPCHeaderName.messageType) {
                    type = value
                    continue
                }
                if flags == nil, asciiCaseInsensitiveEquals(header.name, RPCHeaderName.messageFlags) {
                    flags = value
                    continue
                }
                if streamID == nil, asciiCaseInsensitiveEquals(header.name, RPCHeaderName.streamID) {
                    streamID = value
                    continue
                }
            }
            others.append(header)
        }
        guard let type else { throw .missingControlHeader(name: RPCHeaderName.messageType) }
        guard let flags else { throw .missingControlHeader(name: RPCHeaderName.messageFlags) }
        guard let streamID else { throw .missingControlHeader(name: RPCHeaderName.streamID) }
        guard let messageType = RPCMessageType(rawValue: type) else { throw .unknownMessageType(type) }
        self.init(type: messageType, flags: RPCMessageFlags(rawValue: flags), streamID: streamID, headers: others,
                  payload: message.payload)
    }

    /// The event-stream message, headers in the order the C runtime (and so the Java nucleus) writes them:
    /// the caller's headers, then the three control headers, then `operation` last.
    public var eventStreamMessage: EventStreamMessage {
        var all: [EventStreamHeader] = []
        all.reserveCapacity(headers.count + 3)
        all.append(contentsOf: wireHeaders)
        return EventStreamMessage(headers: all, payload: payload)
    }

    /// The headers of ``eventStreamMessage``, in its order, without building an array.
    var wireHeaders: WireHeaders { WireHeaders(message: self) }

    /// The caller's headers except the first `operation`, the three control headers, then that `operation`.
    struct WireHeaders: Sequence {
        let message: RPCMessage

        func makeIterator() -> Iterator {
            Iterator(message: message, operationIndex: message.headers.firstIndex { $0.name == RPCHeaderName.operation })
        }

        struct Iterator: IteratorProtocol {
            let message: RPCMessage
            let operationIndex: Int?
            /// Positions 0..<headers.count are the caller's headers, then the three control headers, then `operation`.
            private var position = 0

            init(message: RPCMessage, operationIndex: Int?) {
                self.message = message
                self.operationIndex = operationIndex
            }

            mutating func next() -> EventStreamHeader? {
                let headers = message.headers
                if position == operationIndex { position += 1 }
                defer { position += 1 }
                switch position - headers.count {
                case ..<0: return headers[position]
                case 0: return EventStreamHeader(name: RPCHeaderName.messageType, value: .int32(message.type.rawValue))
                case 1: return EventStreamHeader(name: RPCHeaderName.messageFlags, value: .int32(message.flags.rawValue))
                case 2: return EventStreamHeader(name: RPCHeaderName.streamID, value: .int32(message.streamID))
                case 3: return operationIndex.map { headers[$0] }
                default: return nil
                }
            }
        }
    }

    /// The value of the first string header called `name` (case-insensitive), if any.
    public func stringHeader(_ name: String) -> String? {
        for header in headers where asciiCaseInsensitiveEquals(header.name, name) {
            if case .string(let value) = header.value { return value }
        }
        return nil
    }

    /// `operation` header (first message of a stream).
    public var operation: String? { stringHeader(RPCHeaderName.operation) }
    /// `service-model-type` header.
    public var serviceModelType: String? { stringHeader(RPCHeaderName.serviceModelType) }
    /// `:content-type` header.
    public var contentType: String? { stringHeader(RPCHeaderName.contentType) }
    /// `:version` header (Connect).
    public var version: String? { stringHeader(RPCHeaderName.version) }
}

extension RPCMessage {
    /// A modeled application message or error: `:content-type: application/json` and `service-model-type`.
    public static func modeled(
        _ type: RPCMessageType,
        streamID: Int32,
        flags: RPCMessageFlags,
        shape: String,
        json: ByteBuffer,
        operation: String? = nil
    ) -> RPCMessage {
        var headers = [
            EventStreamHeader(name: RPCHeaderName.contentType, value: .string(RPCHeaderName.applicationJSON)),
            EventStreamHeader(name: RPCHeaderName.serviceModelType, value: .string(shape)),
        ]
        if let operation {
            headers.append(EventStreamHeader(name: RPCHeaderName.operation, value: .string(operation)))
        }
        return RPCMessage(type: type, flags: flags, streamID: streamID, headers: headers, payload: json)
    }

    /// A connection-level ProtocolError or InternalError with the JSON body `{"message": …}` peers expect.
    public static func connectionError(_ type: RPCMessageType, message: String) -> RPCMessage {
        var body = ByteBuffer()
        body.writeString("{\"message\":")
        body.writeJSONString(message)
        body.writeString("}")
        return RPCMessage(
            type: type,
            headers: [EventStreamHeader(name: RPCHeaderName.contentType, value: .string(RPCHeaderName.applicationJSON))],
            payload: body
        )
    }

    /// The bare close message (empty ApplicationMessage with TerminateStream, no other headers).
    public static func terminateStream(_ streamID: Int32) -> RPCMessage {
        RPCMessage(type: .applicationMessage, flags: .terminateStream, streamID: streamID)
    }
}

extension ByteBuffer {
    /// Writes `string` as a JSON string literal, with GreengrassJSON's one escaper (ProtocolError and modeled-error
    /// bodies only need string members, so they are written directly).
    public mutating func writeJSONString(_ string: String) {
        var literal: [UInt8] = []
        literal.reserveCapacity(string.utf8.count + 2)
        JSONStringLiteral.append(string, to: &literal)
        writeBytes(literal)
    }
}

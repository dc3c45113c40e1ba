import NIOCore

/// Encodes event-stream messages: prelude, headers, payload and both CRCs.
public enum EventStreamEncoder {
    /// Appends the wire form of `message` to `buffer`.
    ///
    /// - Throws: ``EventStreamEncodingError`` when a header or the message breaks `limits` (the peer's decoder
    ///   would refuse it), in which case `buffer` is left unchanged.
    public static func encode(
        _ message: EventStreamMessage,
        into buffer: inout ByteBuffer,
        limits: EventStreamLimits = .default
    ) throws(EventStreamEncodingError) {
        guard message.headers.count <= limits.maxHeaderCount else {
            throw .tooManyHeaders(count: message.headers.count, limit: limits.maxHeaderCount)
        }
        var headersLength = 0
        // The name's length travels in one byte: a larger configured limit must not reach `UInt8(_:)` below.
        let nameLimit = min(limits.maxHeaderNameLength, Int(UInt8.max))
        for header in message.headers {
            let nameLength = header.name.utf8.count
            guard nameLength > 0, nameLength <= nameLimit else {
                throw .invalidHeaderNameLength(name: header.name, limit: nameLimit)
            }
            switch header.value {
            case .string(let string) where string.utf8.count > limits.maxHeaderValueLength:
                throw .headerValueTooLong(name: header.name, length: string.utf8.count, limit: limits.maxHeaderValueLength)
            case .byteBuffer(let bytes) where bytes.count > limits.maxHeaderValueLength:
                throw .headerValueTooLong(name: header.name, length: bytes.count, limit: limits.maxHeaderValueLength)
            default: break
            }
            headersLength += header.encodedLength
        }
        guard headersLength <= limits.maxHeadersLength else {
            throw .headersTooLong(length: headersLength, limit: limits.maxHeadersLength)
        }
        let totalLength = EventStreamDecoder.minimumMessageLength + headersLength + message.payload.readableBytes
        guard totalLength <= limits.maxTotalLength else {
            throw .messageTooLong(length: totalLength, limit: limits.maxTotalLength)
        }

        buffer.reserveCapacity(minimumWritableBytes: totalLength)
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(totalLength))
        buffer.writeInteger(UInt32(headersLength))
        var crc = CRC32()
        crc.update(buffer, at: start, length: 8)
        buffer.writeInteger(crc.value)
        for header in message.headers {
            writeHeader(header, into: &buffer)
        }
        buffer.writeImmutableBuffer(message.payload)
        crc.update(buffer, at: start + 8, length: buffer.writerIndex - start - 8)
        buffer.writeInteger(crc.value)
    }

    /// Returns the wire form of `message` in a new buffer.
    public static func encode(
        _ message: EventStreamMessage,
        limits: EventStreamLimits = .default
    ) throws(EventStreamEncodingError) -> ByteBuffer {
        var buffer = ByteBuffer()
        try encode(message, into: &buffer, limits: limits)
        return buffer
    }

    private static func writeHeader(_ header: EventStreamHeader, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(header.name.utf8.count))
        buffer.writeString(header.name)
        buffer.writeInteger(header.value.typeID)
        switch header.value {
        case .bool: break
        case .byte(let value): buffer.writeInteger(value)
        case .int16(let value): buffer.writeInteger(value)
        case .int32(let value): buffer.writeInteger(value)
        case .int64(let value), .timestamp(let value): buffer.writeInteger(value)
        case .byteBuffer(let bytes):
            buffer.writeInteger(UInt16(bytes.count))
            buffer.writeBytes(bytes)
        case .string(let string):
            buffer.writeInteger(UInt16(string.utf8.count))
            buffer.writeString(string)
        case .uuid(let uuid): buffer.writeBytes(uuid.bytes)
        }
    }
}

/// A channel encoder that writes ``EventStreamMessage`` values as framed bytes.
public struct EventStreamMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = EventStreamMessage

    /// The limits outbound messages must respect.
    public let limits: EventStreamLimits

    /// Creates an encoder.
    public init(limits: EventStreamLimits = .default) {
        self.limits = limits
    }

    public func encode(data: EventStreamMessage, out: inout ByteBuffer) throws {
        try EventStreamEncoder.encode(data, into: &out, limits: limits)
    }
}

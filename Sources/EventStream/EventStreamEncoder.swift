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
        try encode(headers: message.headers, payload: message.payload, into: &buffer, limits: limits)
    }

    /// Appends the wire form of the RPC message `message` to `buffer`: as `encode(message.eventStreamMessage, …)`,
    /// without building that message's header array (every reply passes here).
    /// - Throws: as the `EventStreamMessage` form.
    public static func encode(
        _ message: RPCMessage,
        into buffer: inout ByteBuffer,
        limits: EventStreamLimits = .default
    ) throws(EventStreamEncodingError) {
        try encode(headers: message.wireHeaders, payload: message.payload, into: &buffer, limits: limits)
    }

    /// `headers` is read twice (checked and measured, then written), so it must give the same headers each time.
    private static func encode(
        headers: some Sequence<EventStreamHeader>,
        payload: ByteBuffer,
        into buffer: inout ByteBuffer,
        limits: EventStreamLimits
    ) throws(EventStreamEncodingError) {
        let headerCount = headers.reduce(0) { count, _ in count + 1 }
        guard headerCount <= limits.maxHeaderCount else {
            throw .tooManyHeaders(count: headerCount, limit: limits.maxHeaderCount)
        }
        var headersLength = 0
        // The name's length travels in one byte: a larger configured limit must not reach `UInt8(_:)` below.
        let nameLimit = min(limits.maxHeaderNameLength, Int(UInt8.max))
        for header in headers {
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
        let totalLength = EventStreamDecoder.minimumMessageLength + headersLength + payload.readableBytes
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
        // The whole header block in one write: per-field `ByteBuffer` writes (a capacity and uniqueness check
        // each) cost more than the copying itself for the dozen small fields of an RPC message.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: headersLength) { output in
            var offset = 0
            for header in headers {
                offset = write(header, into: output, at: offset)
            }
            return offset
        }
        buffer.writeImmutableBuffer(payload)
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

    /// Writes `header` into `output` at `offset` (room checked by the caller: ``EventStreamHeader/encodedLength``);
    /// returns the offset after it.
    private static func write(_ header: EventStreamHeader, into output: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var offset = offset
        func store<Integer: FixedWidthInteger>(_ value: Integer) {
            output.storeBytes(of: value.bigEndian, toByteOffset: offset, as: Integer.self)
            offset += MemoryLayout<Integer>.size
        }
        func copy(_ bytes: some Collection<UInt8>) {
            let copied = bytes.withContiguousStorageIfAvailable { contiguous in
                UnsafeMutableRawBufferPointer(rebasing: output[offset..<offset + contiguous.count]).copyMemory(from: UnsafeRawBufferPointer(contiguous))
                return contiguous.count
            }
            if let copied {
                offset += copied
            } else {
                for byte in bytes {
                    output[offset] = byte
                    offset += 1
                }
            }
        }
        store(UInt8(header.name.utf8.count))
        copy(header.name.utf8)
        store(header.value.typeID)
        switch header.value {
        case .bool: break
        case .byte(let value): store(value)
        case .int16(let value): store(value)
        case .int32(let value): store(value)
        case .int64(let value), .timestamp(let value): store(value)
        case .byteBuffer(let bytes):
            store(UInt16(bytes.count))
            copy(bytes)
        case .string(let string):
            store(UInt16(string.utf8.count))
            copy(string.utf8)
        case .uuid(let uuid): copy(uuid.bytes)
        }
        return offset
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

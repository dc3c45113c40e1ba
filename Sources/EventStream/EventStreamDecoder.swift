import GreengrassJSON
import NIOCore

/// Streaming event-stream decoder: returns `nil` until a whole message is buffered, throws
/// ``EventStreamDecodingError`` on anything malformed.
///
/// The prelude CRC is verified as soon as 12 bytes are available and *before* `total_length` is trusted, so a
/// corrupted or hostile length never makes us wait for (or buffer towards) a bogus size; every length is checked
/// against ``EventStreamLimits`` before a byte of it is read.
public struct EventStreamDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = EventStreamMessage

    /// Size of the prelude (total length, headers length, prelude CRC).
    public static let preludeLength = 12
    /// Prelude plus the trailing message CRC: the size of an empty message.
    public static let minimumMessageLength = 16

    /// The limits this decoder enforces.
    public let limits: EventStreamLimits
    /// Long string values this connection sent lately: its operation and shape names repeat on every message.
    private var recentStrings = RecentHeaderStrings()

    /// Creates a decoder with the given limits.
    public init(limits: EventStreamLimits = .default) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> EventStreamMessage? {
        try Self.decodeMessage(from: &buffer, limits: limits, recentStrings: &recentStrings)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> EventStreamMessage? {
        if let message = try Self.decodeMessage(from: &buffer, limits: limits, recentStrings: &recentStrings) {
            return message
        }
        if seenEOF && buffer.readableBytes > 0 {
            throw EventStreamDecodingError.truncated(bufferedBytes: buffer.readableBytes)
        }
        return nil
    }

    /// Decodes one message from the front of `buffer`, consuming its bytes; returns `nil` (consuming nothing)
    /// when the message is not complete yet.
    public static func decodeMessage(
        from buffer: inout ByteBuffer,
        limits: EventStreamLimits = .default
    ) throws(EventStreamDecodingError) -> EventStreamMessage? {
        var noRecentStrings = RecentHeaderStrings(capacity: 0)
        return try decodeMessage(from: &buffer, limits: limits, recentStrings: &noRecentStrings)
    }

    static func decodeMessage(
        from buffer: inout ByteBuffer,
        limits: EventStreamLimits,
        recentStrings: inout RecentHeaderStrings
    ) throws(EventStreamDecodingError) -> EventStreamMessage? {
        guard buffer.readableBytes >= preludeLength else { return nil }
        let start = buffer.readerIndex
        // Reading three integers from a buffer with >= 12 readable bytes cannot fail.
        let totalLength = buffer.getInteger(at: start, as: UInt32.self)!
        let headersLength = buffer.getInteger(at: start + 4, as: UInt32.self)!
        let preludeCRC = buffer.getInteger(at: start + 8, as: UInt32.self)!

        var crc = CRC32()
        crc.update(buffer, at: start, length: 8)
        guard crc.value == preludeCRC else {
            throw .preludeChecksumMismatch(expected: preludeCRC, computed: crc.value)
        }
        guard totalLength >= UInt32(minimumMessageLength) else { throw .totalLengthTooSmall(totalLength) }
        guard Int(totalLength) <= limits.maxTotalLength else {
            throw .totalLengthExceedsLimit(totalLength, limit: limits.maxTotalLength)
        }
        guard headersLength <= totalLength - UInt32(minimumMessageLength) else {
            throw .headersLengthExceedsMessage(headersLength: headersLength, totalLength: totalLength)
        }
        guard Int(headersLength) <= limits.maxHeadersLength else {
            throw .headersLengthExceedsLimit(headersLength, limit: limits.maxHeadersLength)
        }

        let total = Int(totalLength)
        guard buffer.readableBytes >= total else { return nil }

        crc.update(buffer, at: start + 8, length: total - 12)
        let messageCRC = buffer.getInteger(at: start + total - 4, as: UInt32.self)!
        guard crc.value == messageCRC else {
            throw .messageChecksumMismatch(expected: messageCRC, computed: crc.value)
        }

        var headerBlock = buffer.getSlice(at: start + preludeLength, length: Int(headersLength))!
        let headers = try parseHeaders(&headerBlock, limits: limits, recentStrings: &recentStrings)
        let payloadLength = total - Int(headersLength) - minimumMessageLength
        let payload = buffer.getSlice(at: start + preludeLength + Int(headersLength), length: payloadLength)!
        buffer.moveReaderIndex(forwardBy: total)
        return EventStreamMessage(headers: headers, payload: payload)
    }

    /// Parses a headers block strictly: every read stays inside the block.
    static func parseHeaders(
        _ block: inout ByteBuffer,
        limits: EventStreamLimits,
        recentStrings: inout RecentHeaderStrings
    ) throws(EventStreamDecodingError) -> [EventStreamHeader] {
        var headers: [EventStreamHeader] = []
        // One allocation instead of repeated growth; bounded by what the block can hold (3 bytes per header
        // minimum) and by a small constant, so a hostile length cannot reserve much.
        headers.reserveCapacity(min(block.readableBytes / 3, 16))
        let blockStart = block.readerIndex
        while block.readableBytes > 0 {
            let offset = block.readerIndex - blockStart
            guard headers.count < limits.maxHeaderCount else { throw .tooManyHeaders(limit: limits.maxHeaderCount) }
            let nameLength = Int(block.readInteger(as: UInt8.self)!)
            guard nameLength > 0, nameLength <= limits.maxHeaderNameLength else {
                throw .invalidHeaderNameLength(nameLength, limit: limits.maxHeaderNameLength)
            }
            let name = try readHeaderName(&block, length: nameLength, headerOffset: offset)
            guard let typeID = block.readInteger(as: UInt8.self) else {
                throw .headerExceedsHeadersBlock(headerOffset: offset)
            }
            let value = try readValue(
                type: typeID, name: name, from: &block, headerOffset: offset, limits: limits, recentStrings: &recentStrings)
            headers.append(EventStreamHeader(name: name, value: value))
        }
        return headers
    }

    /// Header names and values that every RPC message repeats and that are too long for Swift's allocation-free
    /// small strings (more than 15 UTF-8 bytes). Decoding them to these literals saves a heap allocation each.
    static let wellKnownLongStrings: [String] = [RPCHeaderName.serviceModelType, RPCHeaderName.applicationJSON]

    /// Reads a UTF-8 string, returning a shared literal for well-known long strings instead of allocating.
    static func readString(_ buffer: inout ByteBuffer, length: Int, recentStrings: inout RecentHeaderStrings) -> String? {
        if let known = readWellKnownLongString(&buffer, length: length) { return known }
        guard buffer.readableBytes >= length else { return nil }
        let recent = buffer.withUnsafeReadableBytes { raw in
            recentStrings.string(spelledBy: UnsafeRawBufferPointer(rebasing: raw[0..<length]))
        }
        if let recent {
            buffer.moveReaderIndex(forwardBy: length)
            return recent
        }
        guard let string = buffer.readString(length: length) else { return nil }
        recentStrings.remember(string, length: length)
        return string
    }

    /// Reads a header name. Unlike a string value, a name that is not valid UTF-8 is refused: repairing it with
    /// U+FFFD (as `readString` does) would make it re-encode to different bytes and could alias another name.
    static func readHeaderName(
        _ block: inout ByteBuffer,
        length: Int,
        headerOffset: Int
    ) throws(EventStreamDecodingError) -> String {
        guard block.readableBytes >= length else { throw .headerExceedsHeadersBlock(headerOffset: headerOffset) }
        if let known = readWellKnownLongString(&block, length: length) { return known }
        // Validate straight from the buffer's contiguous bytes (the hot path: every header of every message).
        let validated = block.withUnsafeReadableBytes { raw in
            UTF8Text.validated(UnsafeRawBufferPointer(rebasing: raw[0..<length]).assumingMemoryBound(to: UInt8.self))
        }
        guard let name = validated else {
            throw .invalidHeaderNameEncoding(headerOffset: headerOffset)
        }
        block.moveReaderIndex(forwardBy: length)
        return name
    }

    /// The shared literal for the next `length` bytes when they are one of ``wellKnownLongStrings`` (consuming
    /// them), otherwise `nil` (consuming nothing).
    private static func readWellKnownLongString(_ buffer: inout ByteBuffer, length: Int) -> String? {
        guard length > 15, buffer.readableBytes >= length else { return nil }
        let known: String? = buffer.withUnsafeReadableBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<length])
            return wellKnownLongStrings.first { RecentHeaderStrings.spells($0, bytes) }
        }
        if known != nil { buffer.moveReaderIndex(forwardBy: length) }
        return known
    }

    private static func readValue(
        type: UInt8,
        name: String,
        from block: inout ByteBuffer,
        headerOffset: Int,
        limits: EventStreamLimits,
        recentStrings: inout RecentHeaderStrings
    ) throws(EventStreamDecodingError) -> EventStreamHeaderValue {
        let value: EventStreamHeaderValue?
        switch type {
        case 0: value = .bool(true)
        case 1: value = .bool(false)
        case 2: value = block.readInteger(as: Int8.self).map(EventStreamHeaderValue.byte)
        case 3: value = block.readInteger(as: Int16.self).map(EventStreamHeaderValue.int16)
        case 4: value = block.readInteger(as: Int32.self).map(EventStreamHeaderValue.int32)
        case 5: value = block.readInteger(as: Int64.self).map(EventStreamHeaderValue.int64)
        case 6, 7:
            guard let length = block.readInteger(as: UInt16.self) else {
                throw .headerExceedsHeadersBlock(headerOffset: headerOffset)
            }
            guard Int(length) <= limits.maxHeaderValueLength else {
                throw .headerValueTooLong(Int(length), headerName: name, limit: limits.maxHeaderValueLength)
            }
            value = type == 6
                ? block.readBytes(length: Int(length)).map(EventStreamHeaderValue.byteBuffer)
                : readString(&block, length: Int(length), recentStrings: &recentStrings).map(EventStreamHeaderValue.string)
        case 8: value = block.readInteger(as: Int64.self).map(EventStreamHeaderValue.timestamp)
        case 9: value = block.readBytes(length: 16).flatMap(EventStreamUUID.init(bytes:)).map(EventStreamHeaderValue.uuid)
        default: throw .unknownHeaderType(type, headerName: name)
        }
        guard let value else { throw .headerExceedsHeadersBlock(headerOffset: headerOffset) }
        return value
    }
}

/// The last few long string header values one connection sent (its operation and shape names, repeated on every
/// message), handed out again for the same bytes instead of allocating and decoding a new string each time.
/// Bounded: `capacity` strings of at most ``maximumLength`` bytes, the oldest replaced first.
struct RecentHeaderStrings {
    /// Longer values (rare, and not worth comparing against) are never kept.
    static let maximumLength = 128
    /// Shorter values are small strings, which cost no allocation anyway.
    static let minimumLength = 16

    private let capacity: Int
    private var strings: [String] = []
    private var nextReplaced = 0

    init(capacity: Int = 8) {
        self.capacity = capacity
    }

    /// The kept string whose UTF-8 is exactly `bytes`, if any.
    func string(spelledBy bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count >= Self.minimumLength, bytes.count <= Self.maximumLength else { return nil }
        return strings.first { Self.spells($0, bytes) }
    }

    /// Whether `string`'s UTF-8 is exactly `bytes`: compared as contiguous memory, not through the UTF-8 view's
    /// index (a pure core: no libc `memcmp`).
    static func spells(_ string: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard string.utf8.count == bytes.count else { return false }
        return string.utf8.withContiguousStorageIfAvailable { utf8 in
            sameBytes(UnsafeRawBufferPointer(utf8), bytes)
        } ?? string.utf8.elementsEqual(bytes)
    }

    /// Whether `a` and `b` hold the same bytes, compared eight at a time (every request's operation and shape
    /// names are compared here; a byte-by-byte sequence comparison cost more than the rest of the lookup).
    static func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var offset = 0
        while a.count - offset >= 8 {
            guard a.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == b.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else {
                return false
            }
            offset += 8
        }
        while offset < a.count {
            guard a[offset] == b[offset] else { return false }
            offset += 1
        }
        return true
    }

    /// Keeps `string`, decoded from `length` bytes. Lookups compare the bytes themselves, so a string repaired
    /// from invalid UTF-8 is never handed out for the bytes it was repaired from.
    mutating func remember(_ string: String, length: Int) {
        guard capacity > 0, length >= Self.minimumLength, length <= Self.maximumLength, string.utf8.count == length else { return }
        if strings.count < capacity {
            strings.append(string)
        } else {
            strings[nextReplaced] = string
            nextReplaced = (nextReplaced + 1) % capacity
        }
    }
}

/// Limits the codec enforces before it allocates anything. Defaults follow the reference implementations: header
/// names up to 255 bytes (the whole range of the one-byte length; aws-c-event-stream ≥ 0.6.0, aws-sdk-go and
/// smithy-rs accept them all) and string/byte-buffer values up to 32767 bytes; the total and headers caps are this
/// project's own bounds on per-connection memory (well above anything a Greengrass IPC message needs).
public struct EventStreamLimits: Sendable, Hashable {
    /// Largest accepted `total_length` (whole message including prelude and trailer).
    public var maxTotalLength: Int
    /// Largest accepted `headers_length`.
    public var maxHeadersLength: Int
    /// Largest header name in bytes (the wire cannot carry more than 255, whatever this says).
    public var maxHeaderNameLength: Int
    /// Largest string / byte-buffer header value in bytes.
    public var maxHeaderValueLength: Int
    /// Largest number of headers in one message.
    public var maxHeaderCount: Int

    /// Creates limits; every argument defaults to the project default.
    public init(
        maxTotalLength: Int = 16 * 1024 * 1024,
        maxHeadersLength: Int = 128 * 1024,
        maxHeaderNameLength: Int = 255,
        maxHeaderValueLength: Int = 32767,
        maxHeaderCount: Int = 1024
    ) {
        self.maxTotalLength = maxTotalLength
        self.maxHeadersLength = maxHeadersLength
        self.maxHeaderNameLength = maxHeaderNameLength
        self.maxHeaderValueLength = maxHeaderValueLength
        self.maxHeaderCount = maxHeaderCount
    }

    /// The project defaults (16 MiB total, 128 KiB headers, names ≤ 255 bytes, values ≤ 32767 bytes, 1024 headers).
    public static let `default` = EventStreamLimits()
}

/// Why a byte stream could not be decoded into event-stream messages. Every case is connection-fatal: once a
/// length or CRC is wrong the stream cannot be resynchronised.
public enum EventStreamDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The CRC32 of prelude bytes 0..7 does not match bytes 8..11.
    case preludeChecksumMismatch(expected: UInt32, computed: UInt32)
    /// The CRC32 over everything before the trailer does not match the trailer.
    case messageChecksumMismatch(expected: UInt32, computed: UInt32)
    /// `total_length` is below the 16-byte minimum.
    case totalLengthTooSmall(UInt32)
    /// `total_length` exceeds the configured maximum.
    case totalLengthExceedsLimit(UInt32, limit: Int)
    /// `headers_length` does not fit inside `total_length - 16`.
    case headersLengthExceedsMessage(headersLength: UInt32, totalLength: UInt32)
    /// `headers_length` exceeds the configured maximum.
    case headersLengthExceedsLimit(UInt32, limit: Int)
    /// A header's value type byte is not 0...9.
    case unknownHeaderType(UInt8, headerName: String)
    /// A header name has length 0 or is longer than allowed.
    case invalidHeaderNameLength(Int, limit: Int)
    /// A header name is not valid UTF-8 (offset of the header within the block).
    case invalidHeaderNameEncoding(headerOffset: Int)
    /// A string or byte-buffer header value is longer than allowed.
    case headerValueTooLong(Int, headerName: String, limit: Int)
    /// A header field runs past the end of the headers block (offset of the header within the block).
    case headerExceedsHeadersBlock(headerOffset: Int)
    /// More headers than allowed in one message.
    case tooManyHeaders(limit: Int)
    /// End of stream with a partial message buffered.
    case truncated(bufferedBytes: Int)

    /// A short, stable machine-readable kind, matching the `expected_error` names of the conformance vectors.
    public var kind: String {
        switch self {
        case .preludeChecksumMismatch: "prelude_crc_mismatch"
        case .messageChecksumMismatch: "message_crc_mismatch"
        case .totalLengthTooSmall, .totalLengthExceedsLimit: "invalid_total_length"
        case .headersLengthExceedsMessage, .headersLengthExceedsLimit: "invalid_headers_length"
        case .unknownHeaderType: "unknown_header_type"
        case .invalidHeaderNameLength: "invalid_header_name_length"
        case .invalidHeaderNameEncoding: "invalid_header_name_utf8"
        case .headerValueTooLong: "header_value_too_long"
        case .headerExceedsHeadersBlock: "header_exceeds_headers_block"
        case .tooManyHeaders: "too_many_headers"
        case .truncated: "truncated"
        }
    }

    public var description: String {
        switch self {
        case .preludeChecksumMismatch(let expected, let computed):
            "event-stream prelude CRC mismatch: frame says \(hex(expected)), bytes 0..7 give \(hex(computed))"
        case .messageChecksumMismatch(let expected, let computed):
            "event-stream message CRC mismatch: trailer says \(hex(expected)), message bytes give \(hex(computed))"
        case .totalLengthTooSmall(let length):
            "event-stream total_length \(length) is below the 16-byte minimum"
        case .totalLengthExceedsLimit(let length, let limit):
            "event-stream total_length \(length) exceeds the limit of \(limit) bytes"
        case .headersLengthExceedsMessage(let headers, let total):
            "event-stream headers_length \(headers) does not fit in total_length \(total) (at most total-16)"
        case .headersLengthExceedsLimit(let length, let limit):
            "event-stream headers_length \(length) exceeds the limit of \(limit) bytes"
        case .unknownHeaderType(let type, let name):
            "unknown event-stream header value type \(type) for header '\(name)' (valid types are 0...9)"
        case .invalidHeaderNameLength(let length, let limit):
            "event-stream header name length \(length) is outside 1...\(limit)"
        case .invalidHeaderNameEncoding(let offset):
            "event-stream header name at offset \(offset) is not valid UTF-8"
        case .headerValueTooLong(let length, let name, let limit):
            "event-stream header '\(name)' value length \(length) exceeds the limit of \(limit) bytes"
        case .headerExceedsHeadersBlock(let offset):
            "event-stream header at offset \(offset) runs past the end of the headers block"
        case .tooManyHeaders(let limit):
            "event-stream message has more than \(limit) headers"
        case .truncated(let buffered):
            "event-stream input ended inside a message (\(buffered) bytes of it were buffered)"
        }
    }
}

/// Why a message could not be encoded (the encoder refuses to produce frames a strict peer would reject).
public enum EventStreamEncodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A header name is empty or longer than allowed.
    case invalidHeaderNameLength(name: String, limit: Int)
    /// A string or byte-buffer value is longer than allowed.
    case headerValueTooLong(name: String, length: Int, limit: Int)
    /// The headers block would exceed the limit.
    case headersTooLong(length: Int, limit: Int)
    /// The whole message would exceed the limit.
    case messageTooLong(length: Int, limit: Int)
    /// More headers than allowed.
    case tooManyHeaders(count: Int, limit: Int)

    public var description: String {
        switch self {
        case .invalidHeaderNameLength(let name, let limit):
            "cannot encode event-stream header '\(name)': name must be 1...\(limit) UTF-8 bytes"
        case .headerValueTooLong(let name, let length, let limit):
            "cannot encode event-stream header '\(name)': value of \(length) bytes exceeds \(limit)"
        case .headersTooLong(let length, let limit):
            "cannot encode event-stream message: headers block of \(length) bytes exceeds \(limit)"
        case .messageTooLong(let length, let limit):
            "cannot encode event-stream message: \(length) bytes exceeds \(limit)"
        case .tooManyHeaders(let count, let limit):
            "cannot encode event-stream message: \(count) headers exceeds \(limit)"
        }
    }
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

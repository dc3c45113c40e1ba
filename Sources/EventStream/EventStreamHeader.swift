import NIOCore

/// A 16-byte UUID header value, kept as raw bytes so the codec needs no Foundation.
public struct EventStreamUUID: Sendable, Hashable, CustomStringConvertible {
    /// The 16 bytes in RFC 4122 order (the canonical hex string read left to right).
    public let bytes: [UInt8]

    /// Creates a UUID from exactly 16 bytes; returns nil for any other count.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses the canonical `8-4-4-4-12` hex form (case-insensitive); nil when malformed.
    public init?(string: String) {
        let hex = string.utf8.filter { $0 != UInt8(ascii: "-") }
        guard hex.count == 32, string.utf8.count == 36 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(16)
        var iterator = hex.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            result.append(h << 4 | l)
        }
        self.bytes = result
    }

    /// The canonical lowercase `8-4-4-4-12` form.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The ten header value types of the event-stream wire format (type ids 0...9).
public enum EventStreamHeaderValue: Sendable, Hashable {
    /// Type 0 (`true`) or 1 (`false`): the type byte is the value.
    case bool(Bool)
    /// Type 2: one signed byte.
    case byte(Int8)
    /// Type 3: big-endian signed 16-bit integer.
    case int16(Int16)
    /// Type 4: big-endian signed 32-bit integer — every RPC control header uses it.
    case int32(Int32)
    /// Type 5: big-endian signed 64-bit integer.
    case int64(Int64)
    /// Type 6: u16 length + raw bytes.
    case byteBuffer([UInt8])
    /// Type 7: u16 length + UTF-8 bytes (length in bytes).
    case string(String)
    /// Type 8: signed 64-bit **milliseconds** since the Unix epoch.
    case timestamp(Int64)
    /// Type 9: 16 raw bytes.
    case uuid(EventStreamUUID)

    /// The wire type id of this value (0...9).
    public var typeID: UInt8 {
        switch self {
        case .bool(let value): value ? 0 : 1
        case .byte: 2
        case .int16: 3
        case .int32: 4
        case .int64: 5
        case .byteBuffer: 6
        case .string: 7
        case .timestamp: 8
        case .uuid: 9
        }
    }

    /// The number of bytes the value occupies on the wire after its type byte.
    var encodedValueLength: Int {
        switch self {
        case .bool: 0
        case .byte: 1
        case .int16: 2
        case .int32: 4
        case .int64, .timestamp: 8
        case .byteBuffer(let bytes): 2 + bytes.count
        case .string(let string): 2 + string.utf8.count
        case .uuid: 16
        }
    }
}

/// One event-stream header: a name (1...255 UTF-8 bytes) and a typed value.
public struct EventStreamHeader: Sendable, Hashable {
    /// The header name, e.g. `:message-type`.
    public var name: String
    /// The typed value.
    public var value: EventStreamHeaderValue

    /// Creates a header.
    public init(name: String, value: EventStreamHeaderValue) {
        self.name = name
        self.value = value
    }

    /// The number of bytes this header occupies in the headers block.
    var encodedLength: Int { 1 + name.utf8.count + 1 + value.encodedValueLength }
}

/// One framed event-stream message: headers in wire order and an opaque payload.
public struct EventStreamMessage: Sendable, Hashable {
    /// Headers in wire order (order carries no meaning but is preserved for byte-exact re-encoding).
    public var headers: [EventStreamHeader]
    /// The payload bytes (for RPC: UTF-8 JSON or empty).
    public var payload: ByteBuffer

    /// Creates a message.
    public init(headers: [EventStreamHeader] = [], payload: ByteBuffer = ByteBuffer()) {
        self.headers = headers
        self.payload = payload
    }

    /// The first header whose name equals `name` (ASCII case-insensitive, as the C runtime and SDKs look them up).
    public func header(named name: String) -> EventStreamHeader? {
        headers.first { asciiCaseInsensitiveEquals($0.name, name) }
    }
}

/// ASCII case-insensitive equality without allocating lowercased copies.
@inlinable
func asciiCaseInsensitiveEquals(_ lhs: String, _ rhs: String) -> Bool {
    // Every message's headers are compared with the control names: most pairs differ in length (O(1) for native
    // strings) or are equal as written, so the byte loop only runs for a real case difference.
    guard lhs.utf8.count == rhs.utf8.count else { return false }
    if lhs == rhs { return true }
    var left = lhs.utf8.makeIterator()
    var right = rhs.utf8.makeIterator()
    while true {
        switch (left.next(), right.next()) {
        case (nil, nil): return true
        case (let a?, let b?):
            if a == b { continue }
            let lowerA = (a >= 65 && a <= 90) ? a + 32 : a
            let lowerB = (b >= 65 && b <= 90) ? b + 32 : b
            if lowerA != lowerB { return false }
        default: return false
        }
    }
}

import NIOCore

/// The CRC-32 used by event-stream framing: the zlib/gzip/Ethernet polynomial (reflected `0xEDB88320`),
/// initial value `0xFFFFFFFF`, final XOR `0xFFFFFFFF` — *not* CRC-32C.
///
/// It is a running checksum because the message CRC continues over the prelude CRC bytes; a value type keeps
/// the state explicit and allocation-free.
public struct CRC32: Sendable, Hashable {
    private var state: UInt32 = 0xFFFF_FFFF

    /// A checksum with nothing fed in yet.
    public init() {}

    /// The checksum of everything fed in so far.
    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// Feeds raw bytes into the checksum.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = state
        CRC32.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        state = crc
    }

    /// Feeds a sequence of bytes into the checksum.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        var crc = state
        CRC32.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        state = crc
    }

    /// Feeds `length` bytes of `buffer` starting at absolute index `index` without moving its reader index.
    public mutating func update(_ buffer: ByteBuffer, at index: Int, length: Int) {
        buffer.withUnsafeReadableBytes { raw in
            let start = index - buffer.readerIndex
            self.update(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))
        }
    }

    /// One-shot checksum of a byte sequence.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    private static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = (value & 1) == 1 ? (0xEDB8_8320 ^ (value >> 1)) : (value >> 1)
        }
        return value
    }
}

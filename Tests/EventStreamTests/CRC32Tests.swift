import EventStream
import NIOCore
import Testing

@Suite("CRC32")
struct CRC32Tests {
    @Test(
        "known check values",
        arguments: [
            ("", UInt32(0)),
            ("a", 0xE8B7_BE43),
            ("123456789", 0xCBF4_3926),
            ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
        ]
    )
    func knownValues(input: String, expected: UInt32) {
        #expect(CRC32.checksum(Array(input.utf8)) == expected)
    }

    @Test("a running checksum equals the one-shot checksum at every split point")
    func runningEqualsOneShot() {
        let bytes = Array("event-stream running checksum over prelude and message".utf8)
        let whole = CRC32.checksum(bytes)
        for split in 0...bytes.count {
            var crc = CRC32()
            crc.update(bytes[..<split])
            let buffer = ByteBuffer(bytes: bytes)
            crc.update(buffer, at: split, length: bytes.count - split)
            #expect(crc.value == whole, "split at \(split)")
        }
    }

    @Test("every length and alignment matches a byte-at-a-time reference (the 8-byte steps and the tail)")
    func matchesBytewiseReference() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for start in 0..<9 {
            for end in start...bytes.count {
                let slice = bytes[start..<end]
                #expect(CRC32.checksum(slice) == Self.bytewiseReference(slice), "bytes \(start)..<\(end)")
                var fromBuffer = CRC32()
                fromBuffer.update(ByteBuffer(bytes: bytes), at: start, length: end - start)
                #expect(fromBuffer.value == Self.bytewiseReference(slice), "buffer bytes \(start)..<\(end)")
            }
        }
    }

    @Test("a non-contiguous sequence gives the same checksum as its bytes in an array")
    func nonContiguousSequence() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        #expect(CRC32.checksum(bytes.lazy.map { $0 }) == 0x414F_A339)
    }

    /// The textbook bitwise CRC-32, independent of the tables under test.
    static func bytewiseReference(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) == 1 ? (0xEDB8_8320 ^ (crc >> 1)) : (crc >> 1) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    @Test("the captured Connect's prelude and message CRCs")
    func connectVectorCRCs() throws {
        let vector = try ConformanceVector.load("01_c2s_connect")
        #expect(CRC32.checksum(vector.bytes[0..<8]) == 0xE9E7_9475)
        #expect(CRC32.checksum(vector.bytes[0..<(vector.bytes.count - 4)]) == 0x70E5_18E8)
    }
}

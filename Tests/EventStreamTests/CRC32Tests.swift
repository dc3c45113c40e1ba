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

    @Test("the captured Connect's prelude and message CRCs")
    func connectVectorCRCs() throws {
        let vector = try ConformanceVector.load("01_c2s_connect")
        #expect(CRC32.checksum(vector.bytes[0..<8]) == 0xE9E7_9475)
        #expect(CRC32.checksum(vector.bytes[0..<(vector.bytes.count - 4)]) == 0x70E5_18E8)
    }
}

import GreengrassJSON
import Testing

@Suite("UTF8Text.validated")
struct UTF8TextTests {
    static func validated(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBufferPointer { UTF8Text.validated($0) }
    }

    @Test("ASCII, empty and valid multi-byte text decode to the same string as the standard library's validation")
    func validText() {
        for text in ["", "service-model-type", "bench/topic-1", "caf\u{E9}", "\u{1F600} x", "a\u{301}/b"] {
            let bytes = Array(text.utf8)
            #expect(Self.validated(bytes) == text)
            #expect(Self.validated(bytes) == String(validating: bytes, as: UTF8.self))
        }
    }

    @Test("invalid UTF-8 is refused wherever the bad byte sits, never repaired")
    func invalidText() {
        let invalid: [[UInt8]] = [
            [0x80],  // lone continuation byte
            [0x61, 0x62, 0xC3],  // truncated two-byte sequence after ASCII
            [0xC0, 0xAF],  // overlong "/"
            [0xED, 0xA0, 0x80],  // UTF-16 surrogate
            [0x61, 0xFF, 0x62],  // byte that never appears in UTF-8
        ]
        for bytes in invalid {
            #expect(Self.validated(bytes) == nil, "\(bytes)")
        }
    }
}

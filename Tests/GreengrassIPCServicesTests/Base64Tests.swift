import NIOCore
import Testing
@testable import GreengrassIPCServices

@Suite("Base64 into and out of ByteBuffers")
struct Base64Tests {
    @Test("round trip at every length mod 3, and the RFC 4648 vectors", arguments: ["", "f", "fo", "foo", "foob", "fooba", "foobar"])
    func roundTrip(text: String) {
        let encoded = Base64.encode(Array(text.utf8))
        #expect(encoded == ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"][text])
        var buffer = ByteBuffer(string: "prefix:")
        #expect(Base64.decode(encoded.utf8, into: &buffer))
        #expect(String(buffer: buffer) == "prefix:" + text)
    }

    @Test("every byte value survives")
    func allBytes() {
        let bytes = (0...255).map(UInt8.init)
        var buffer = ByteBuffer()
        #expect(Base64.decode(Base64.encode(bytes).utf8, into: &buffer))
        #expect(Array(buffer.readableBytesView) == bytes)
    }

    @Test("hostile text is refused and leaves the buffer as it was",
          arguments: ["Zg=", "Zg", "Z===", "Zg==Zg==", "Z=g=", "Zm9*", "Zm9v\n", "Zm 9", "====", "Zm9v\u{00e9}A=="])
    func refused(text: String) {
        var buffer = ByteBuffer(string: "kept")
        #expect(!Base64.decode(text.utf8, into: &buffer))
        #expect(String(buffer: buffer) == "kept")
    }

    @Test("a blob decodes into a buffer of exactly its size, or nil when it is not base64",
          arguments: ["", "Zg==", "Zm8=", "Zm9v", "Zm9vYmFy", "Zg=", "Z=g=", "Zm9*"])
    func decodedBuffer(text: String) {
        var expected = ByteBuffer()
        guard Base64.decode(text.utf8, into: &expected) else {
            #expect(Base64.decodedBuffer(text) == nil)
            return
        }
        let buffer = Base64.decodedBuffer(text)
        #expect(buffer == expected)
    }
}

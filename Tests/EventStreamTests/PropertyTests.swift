import EventStream
import GreengrassTestSupport
import NIOCore
import Testing

/// Random messages from a seeded generator: encode → decode must be the identity, in any chunking.
@Suite("Codec properties")
struct PropertyTests {
    static func randomString(_ random: inout SplitMix64, maxLength: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz:-_#.ABCDEFé😀0123456789")
        let length = Int.random(in: 1...maxLength, using: &random)
        return String((0..<length).map { _ in alphabet.randomElement(using: &random)! })
    }

    static func randomValue(_ random: inout SplitMix64) -> EventStreamHeaderValue {
        switch Int.random(in: 0...9, using: &random) {
        case 0: .bool(true)
        case 1: .bool(false)
        case 2: .byte(Int8.random(in: .min ... .max, using: &random))
        case 3: .int16(Int16.random(in: .min ... .max, using: &random))
        case 4: .int32(Int32.random(in: .min ... .max, using: &random))
        case 5: .int64(Int64.random(in: .min ... .max, using: &random))
        case 6: .byteBuffer((0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        case 7: .string(Int.random(in: 0...4, using: &random) == 0 ? "" : randomString(&random, maxLength: 40))
        case 8: .timestamp(Int64.random(in: .min ... .max, using: &random))
        default: .uuid(EventStreamUUID(bytes: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })!)
        }
    }

    static func randomMessage(_ random: inout SplitMix64) -> EventStreamMessage {
        let headers = (0..<Int.random(in: 0...12, using: &random)).map { _ in
            EventStreamHeader(name: randomString(&random, maxLength: 30), value: randomValue(&random))
        }
        let payload = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        return EventStreamMessage(headers: headers, payload: ByteBuffer(bytes: payload))
    }

    @Test("encode then decode is the identity", arguments: UInt64(1)...50)
    func roundTrip(seed: UInt64) throws {
        var random = SplitMix64(state: seed)
        let messages = (0..<10).map { _ in Self.randomMessage(&random) }
        var stream: [UInt8] = []
        for message in messages {
            var encoded = try EventStreamEncoder.encode(message)
            stream += Array(buffer: encoded)
            #expect(try EventStreamDecoder.decodeMessage(from: &encoded) == message)
        }
        let sizes = (0..<stream.count).map { _ in Int.random(in: 1...64, using: &random) }
        #expect(try decodeInChunks(stream, chunkSizes: sizes) == messages)
    }

    @Test("UUID text form round-trips")
    func uuidText() throws {
        let uuid = try #require(EventStreamUUID(string: "01234567-89AB-cdef-0123-456789abcdef"))
        #expect(uuid.description == "01234567-89ab-cdef-0123-456789abcdef")
        #expect(EventStreamUUID(string: "0123456789abcdef0123456789abcdef") == nil)
        #expect(EventStreamUUID(string: "01234567-89ab-cdef-0123-456789abcdeg") == nil)
        #expect(EventStreamUUID(bytes: [1, 2, 3]) == nil)
    }

    @Test(
        "the encoder refuses what a strict peer would reject",
        arguments: [
            (EventStreamHeader(name: "", value: .bool(true)), EventStreamEncodingError.invalidHeaderNameLength(name: "", limit: 255)),
            (EventStreamHeader(name: String(repeating: "n", count: 256), value: .bool(true)),
             .invalidHeaderNameLength(name: String(repeating: "n", count: 256), limit: 255)),
            (EventStreamHeader(name: "s", value: .string(String(repeating: "v", count: 32768))),
             .headerValueTooLong(name: "s", length: 32768, limit: 32767)),
            (EventStreamHeader(name: "b", value: .byteBuffer(Array(repeating: 0, count: 32768))),
             .headerValueTooLong(name: "b", length: 32768, limit: 32767)),
        ]
    )
    func encoderLimits(header: EventStreamHeader, expected: EventStreamEncodingError) {
        #expect(throws: expected) {
            _ = try EventStreamEncoder.encode(EventStreamMessage(headers: [header]))
        }
    }

    @Test("a 255-byte header name (the whole one-byte range, as aws-c-event-stream ≥ 0.6.0 accepts) round-trips")
    func longestHeaderName() throws {
        let longest = String(repeating: "n", count: 249) + "é😀" // multi-byte scalars: the limit counts bytes
        #expect(longest.utf8.count == 255)
        let message = EventStreamMessage(headers: [EventStreamHeader(name: longest, value: .string("v"))])
        var encoded = try EventStreamEncoder.encode(message)
        #expect(encoded.getInteger(at: EventStreamDecoder.preludeLength, as: UInt8.self) == 255)
        #expect(try EventStreamDecoder.decodeMessage(from: &encoded) == message)
    }

    @Test("a configured name limit above 255 cannot make the encoder write a length that does not fit in one byte")
    func nameLimitIsCappedByTheWire() {
        let name = String(repeating: "n", count: 256)
        #expect(throws: EventStreamEncodingError.invalidHeaderNameLength(name: name, limit: 255)) {
            _ = try EventStreamEncoder.encode(
                EventStreamMessage(headers: [EventStreamHeader(name: name, value: .bool(true))]),
                limits: EventStreamLimits(maxHeaderNameLength: 1000)
            )
        }
    }

    @Test("the encoder refuses a message over the total limit")
    func encoderTotalLimit() {
        let limits = EventStreamLimits(maxTotalLength: 100)
        let message = EventStreamMessage(payload: ByteBuffer(repeating: 0, count: 85))
        #expect(throws: EventStreamEncodingError.messageTooLong(length: 101, limit: 100)) {
            _ = try EventStreamEncoder.encode(message, limits: limits)
        }
    }
}

/// One decoder per connection reuses the long string values it decoded lately (operation and shape names):
/// whatever it reuses, every message must decode to exactly what was encoded.
@Suite("Decoder reuse of recent long strings")
struct RecentStringTests {
    /// Long string values in an order that revisits, replaces and nearly matches what the decoder keeps.
    static func values(_ random: inout SplitMix64) -> [String] {
        let base = "aws.greengrass#PublishToIoTCoreRequest"
        var values = [base, base, base.dropLast() + "X", base, "aws.greengrass#PublishToIoTCore", base + "\u{E9}"]
        values += (0..<20).map { "aws.greengrass#Operation\($0 % 12)" }  // more than the decoder keeps, cycling
        values.append(String(repeating: "L", count: 200))  // too long to keep
        values.append(String(repeating: "L", count: 200))
        values.append("exactly-16-bytes")  // the shortest kept length
        values.append("exactly-16-bytez")
        values += (0..<40).map { _ in values.randomElement(using: &random)! }
        return values
    }

    @Test("a stream of messages whose long values repeat, differ by one byte, and outnumber what is kept decodes exactly", arguments: UInt64(1)...5)
    func decodesExactly(seed: UInt64) throws {
        var random = SplitMix64(state: seed)
        var decoder = EventStreamDecoder()
        var wire = ByteBuffer()
        let expected = Self.values(&random).map { value in
            EventStreamMessage(
                headers: [EventStreamHeader(name: "service-model-type", value: .string(value)),
                          EventStreamHeader(name: "operation", value: .string(value))],
                payload: ByteBuffer(string: value))
        }
        for message in expected { try EventStreamEncoder.encode(message, into: &wire) }
        var decoded: [EventStreamMessage] = []
        while let message = try decoder.decode(buffer: &wire) { decoded.append(message) }
        #expect(decoded == expected)
    }

    @Test("invalid UTF-8 in a long value decodes repaired, and is not handed out for the valid text it was repaired into")
    func invalidUTF8IsNotConfused() throws {
        var decoder = EventStreamDecoder()
        let prefix = Array("aws.greengrass#Shape".utf8)
        let invalid = prefix + [0xE2, 0x82]  // truncated three-byte sequence
        let repaired = String(decoding: invalid, as: UTF8.self)
        // The raw bytes in a hand-built frame (the encoder only writes valid strings), around a frame carrying the
        // repaired text itself.
        var wire = ByteBuffer()
        try EventStreamEncoder.encode(EventStreamMessage(headers: [EventStreamHeader(name: "name", value: .string(repaired))]), into: &wire)
        var raw = ByteBuffer()
        raw.writeInteger(UInt8(4))
        raw.writeString("name")
        raw.writeInteger(UInt8(7))
        raw.writeInteger(UInt16(invalid.count))
        raw.writeBytes(invalid)
        var invalidFrame = ByteBuffer()
        invalidFrame.writeInteger(UInt32(16 + raw.readableBytes))
        invalidFrame.writeInteger(UInt32(raw.readableBytes))
        var crc = CRC32()
        crc.update(invalidFrame, at: 0, length: 8)
        invalidFrame.writeInteger(crc.value)
        invalidFrame.writeImmutableBuffer(raw)
        crc.update(invalidFrame, at: 8, length: invalidFrame.writerIndex - 8)
        invalidFrame.writeInteger(crc.value)
        var both = invalidFrame
        both.writeImmutableBuffer(wire)
        both.writeImmutableBuffer(invalidFrame)
        var values: [EventStreamHeaderValue] = []
        while let message = try decoder.decode(buffer: &both) { values.append(message.headers[0].value) }
        #expect(values == [.string(repaired), .string(repaired), .string(repaired)])
    }
}

/// Hostile input: random bytes and mutated valid frames must never crash the decoder, and it must never wait for
/// (i.e. be willing to buffer) more than the limit.
@Suite("Decoder fuzzing")
struct DecoderFuzzTests {
    static let limits = EventStreamLimits(maxTotalLength: 4096, maxHeadersLength: 1024)

    /// Decodes until error or need-more-data; checks the bounded-buffering invariant on the way.
    static func exercise(_ bytes: [UInt8]) -> (frames: Int, error: EventStreamDecodingError?) {
        var buffer = ByteBuffer(bytes: bytes)
        var frames = 0
        do {
            while let message = try EventStreamDecoder.decodeMessage(from: &buffer, limits: limits) {
                frames += 1
                #expect(message.payload.readableBytes <= limits.maxTotalLength)
            }
            if buffer.readableBytes >= 12 {
                // Waiting for more: only ever for a length that passed the CRC and the limit.
                let claimed = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self)!
                #expect(Int(claimed) <= limits.maxTotalLength)
            }
            return (frames, nil)
        } catch {
            return (frames, error)
        }
    }

    @Test("random bytes", arguments: UInt64(1)...20)
    func randomBytes(seed: UInt64) {
        var random = SplitMix64(state: seed)
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = Self.exercise(bytes)
        }
    }

    @Test("valid frames with one random byte changed and CRCs recomputed", arguments: UInt64(1)...20)
    func mutatedFrames(seed: UInt64) throws {
        var random = SplitMix64(state: seed)
        for vector in ConformanceVector.clientToServer {
            var bytes = vector.bytes
            let index = Int.random(in: 0..<bytes.count - 4, using: &random)
            bytes[index] = UInt8.random(in: 0...255, using: &random)
            // Fix both CRCs so the mutation reaches the length and header checks.
            writeUInt32(CRC32.checksum(bytes[0..<8]), into: &bytes, at: 8)
            writeUInt32(CRC32.checksum(bytes[0..<(bytes.count - 4)]), into: &bytes, at: bytes.count - 4)
            let (frames, error) = Self.exercise(bytes)
            #expect(frames <= 1)
            if frames == 0, error == nil {
                // Only a longer claimed length may leave the decoder waiting.
                #expect(Int(readUInt32(bytes, at: 0)) > bytes.count)
            }
        }
    }

    @Test(
        "lengths are refused before anything is buffered",
        arguments: [
            (UInt32(15), UInt32(0), "invalid_total_length"),
            (UInt32(4097), UInt32(0), "invalid_total_length"),
            (UInt32(0xFFFF_FFFF), UInt32(0), "invalid_total_length"),
            (UInt32(100), UInt32(85), "invalid_headers_length"),
            (UInt32(4000), UInt32(1025), "invalid_headers_length"),
        ]
    )
    func preludeLimits(total: UInt32, headers: UInt32, kind: String) {
        var bytes: [UInt8] = Array(repeating: 0, count: 12)
        writeUInt32(total, into: &bytes, at: 0)
        writeUInt32(headers, into: &bytes, at: 4)
        writeUInt32(CRC32.checksum(bytes[0..<8]), into: &bytes, at: 8)
        #expect(Self.exercise(bytes).error?.kind == kind)
    }

    @Test(
        "header block errors name what was wrong",
        arguments: [
            ([UInt8]([0]), "invalid_header_name_length"),
            // Not UTF-8: a lone continuation byte, a truncated two-byte sequence, an overlong '/', a surrogate.
            ([1, 0x80, 0], "invalid_header_name_utf8"),
            ([2, 0xC3, 0x28, 0], "invalid_header_name_utf8"),
            ([2, 0xC0, 0xAF, 0], "invalid_header_name_utf8"),
            ([3, 0xED, 0xA0, 0x80, 0], "invalid_header_name_utf8"),
            ([3, 0x61, 0x62], "header_exceeds_headers_block"),
            ([1, 0x61, 4, 0, 0], "header_exceeds_headers_block"),
            ([1, 0x61, 7, 0x80, 0x00], "header_value_too_long"),
            ([1, 0x61, 7, 0, 5, 0x61], "header_exceeds_headers_block"),
            ([1, 0x61, 10], "unknown_header_type"),
            ([1, 0x61, 255], "unknown_header_type"),
            ([1, 0x61, 9, 1, 2, 3], "header_exceeds_headers_block"),
        ]
    )
    func headerErrors(block: [UInt8], kind: String) {
        #expect(Self.exercise(Self.frame(headersBlock: block)).error?.kind == kind)
    }

    @Test("a 255-byte header name is accepted, a 16-byte one that is not UTF-8 is refused (not repaired)")
    func headerNameBounds() throws {
        let longest = [UInt8(255)] + Array(repeating: UInt8(ascii: "n"), count: 255) + [0]
        #expect(Self.exercise(Self.frame(headersBlock: longest)).frames == 1)
        // Longer than 15 bytes, so it takes the well-known-string lookup path before validation.
        let invalidLong = [UInt8(16)] + Array(repeating: UInt8(ascii: "n"), count: 15) + [0xFF, 0]
        #expect(Self.exercise(Self.frame(headersBlock: invalidLong)).error?.kind == "invalid_header_name_utf8")
    }

    static func frame(headersBlock block: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = Array(repeating: 0, count: 12) + block + [0, 0, 0, 0]
        writeUInt32(UInt32(bytes.count), into: &bytes, at: 0)
        writeUInt32(UInt32(block.count), into: &bytes, at: 4)
        writeUInt32(CRC32.checksum(bytes[0..<8]), into: &bytes, at: 8)
        writeUInt32(CRC32.checksum(bytes[0..<(bytes.count - 4)]), into: &bytes, at: bytes.count - 4)
        return bytes
    }

    @Test("too many headers")
    func tooManyHeaders() throws {
        let message = EventStreamMessage(headers: (0..<5).map { EventStreamHeader(name: "h\($0)", value: .bool(true)) })
        var buffer = try EventStreamEncoder.encode(message)
        #expect(throws: EventStreamDecodingError.tooManyHeaders(limit: 4)) {
            _ = try EventStreamDecoder.decodeMessage(from: &buffer, limits: EventStreamLimits(maxHeaderCount: 4))
        }
    }
}

func writeUInt32(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
    for index in 0..<4 {
        bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (24 - 8 * index))
    }
}

import MQTTCore
import NIOCore

/// Encodes a packet and decodes it back through the streaming decoder.
func roundTrip(_ packet: MQTTPacket, version: MQTTProtocolVersion) throws -> MQTTPacket? {
    var buffer = ByteBuffer()
    try packet.write(version: version, to: &buffer)
    var decoder = MQTTPacketDecoder(version: version)
    let decoded = try decoder.decode(buffer: &buffer)
    guard buffer.readableBytes == 0 else { return nil }
    return decoded
}

/// Decodes raw bytes as one packet; throws the protocol error if any.
func decodeBytes(_ bytes: [UInt8], version: MQTTProtocolVersion = .v5, maximumPacketSize: Int = MQTTLimits.maximumPacketSize) throws(MQTTProtocolError) -> MQTTPacket? {
    var buffer = ByteBuffer(bytes: bytes)
    return try MQTTPacketDecoder(version: version, maximumPacketSize: maximumPacketSize).decodePacket(&buffer)
}

/// Captures the protocol error code thrown by decoding `bytes`, or nil when it decoded.
func decodeErrorCode(_ bytes: [UInt8], version: MQTTProtocolVersion = .v5, maximumPacketSize: Int = MQTTLimits.maximumPacketSize) -> MQTTProtocolError.Code? {
    do {
        _ = try decodeBytes(bytes, version: version, maximumPacketSize: maximumPacketSize)
        return nil
    } catch {
        return error.code
    }
}

/// Bytes of a packet with the given first byte and body, with a correct remaining length.
func frame(_ first: UInt8, _ body: [UInt8]) -> [UInt8] {
    var buffer = ByteBuffer()
    buffer.writeInteger(first)
    var remaining = body.count
    repeat {
        var byte = UInt8(remaining & 0x7F)
        remaining >>= 7
        if remaining > 0 { byte |= 0x80 }
        buffer.writeInteger(byte)
    } while remaining > 0
    buffer.writeBytes(body)
    return Array(buffer.readableBytesView)
}

/// A two-byte-length-prefixed string field.
func mqttString(_ string: String) -> [UInt8] {
    let utf8 = Array(string.utf8)
    return [UInt8(utf8.count >> 8), UInt8(utf8.count & 0xFF)] + utf8
}

func mqttRawString(_ bytes: [UInt8]) -> [UInt8] {
    [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
}

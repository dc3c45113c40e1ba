import NIOCore

// Primitive MQTT field readers and writers. Every reader checks the bytes are there before
// it reads, and every length comes from the (already size-capped) packet slice, so a hostile
// length can never size an allocation beyond the bytes actually received.
extension ByteBuffer {
    mutating func readMQTTByte(_ field: @autoclosure () -> String) throws(MQTTProtocolError) -> UInt8 {
        guard let value = readInteger(as: UInt8.self) else {
            throw MQTTProtocolError(.truncatedPacket, "\(field()) missing: packet ends early")
        }
        return value
    }

    mutating func readMQTTUInt16(_ field: @autoclosure () -> String) throws(MQTTProtocolError) -> UInt16 {
        guard let value = readInteger(endianness: .big, as: UInt16.self) else {
            throw MQTTProtocolError(.truncatedPacket, "\(field()) missing: packet ends early")
        }
        return value
    }

    mutating func readMQTTUInt32(_ field: @autoclosure () -> String) throws(MQTTProtocolError) -> UInt32 {
        guard let value = readInteger(endianness: .big, as: UInt32.self) else {
            throw MQTTProtocolError(.truncatedPacket, "\(field()) missing: packet ends early")
        }
        return value
    }

    /// Reads a two-byte-length-prefixed binary field.
    mutating func readMQTTBinary(_ field: @autoclosure () -> String) throws(MQTTProtocolError) -> [UInt8] {
        let length = Int(try readMQTTUInt16(field()))
        guard let bytes = readBytes(length: length) else {
            throw MQTTProtocolError(.truncatedPacket, "\(field()) declares \(length) bytes but only \(readableBytes) remain")
        }
        return bytes
    }

    /// Reads a two-byte-length-prefixed UTF-8 string; rejects ill-formed UTF-8 and U+0000 (MQTT-1.5.4-1, -2).
    mutating func readMQTTString(_ field: @autoclosure () -> String) throws(MQTTProtocolError) -> String {
        let length = Int(try readMQTTUInt16(field()))
        guard let view = readSlice(length: length) else {
            throw MQTTProtocolError(.truncatedPacket, "\(field()) declares \(length) bytes but only \(readableBytes) remain")
        }
        return try view.mqttValidatedString(field())
    }

    func mqttValidatedString(_ field: @autoclosure () -> String) throws(MQTTProtocolError) -> String {
        let valid = withUnsafeReadableBytes { raw -> String? in
            if raw.contains(0) { return nil }
            return String(validating: raw, as: UTF8.self)
        }
        guard let valid else {
            throw MQTTProtocolError(.invalidUTF8, "\(field()) is not well-formed UTF-8 (or contains U+0000)")
        }
        return valid
    }

    /// Reads a variable byte integer of at most 4 bytes (MQTT-1.5.5-1).
    mutating func readMQTTVariableInt(_ field: @autoclosure () -> String) throws(MQTTProtocolError) -> Int {
        var value = 0
        var multiplier = 1
        for index in 0..<4 {
            let byte = try readMQTTByte(field())
            value += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 { return value }
            multiplier *= 128
            if index == 3 { break }
        }
        throw MQTTProtocolError(.malformedRemainingLength, "\(field()) uses more than 4 bytes")
    }

    mutating func writeMQTTString(_ string: String) {
        let lengthIndex = writerIndex
        writeInteger(UInt16(0))
        let written = writeString(string)
        setInteger(UInt16(truncatingIfNeeded: written), at: lengthIndex)
    }

    mutating func writeMQTTBinary(_ bytes: [UInt8]) {
        writeInteger(UInt16(truncatingIfNeeded: bytes.count))
        writeBytes(bytes)
    }

    mutating func writeMQTTVariableInt(_ value: Int) {
        var remaining = value
        repeat {
            var byte = UInt8(remaining & 0x7F)
            remaining >>= 7
            if remaining > 0 { byte |= 0x80 }
            writeInteger(byte)
        } while remaining > 0
    }
}

/// The number of bytes `value` takes as a variable byte integer.
func mqttVariableIntSize(_ value: Int) -> Int {
    switch value {
    case ..<128: 1
    case ..<16_384: 2
    case ..<2_097_152: 3
    default: 4
    }
}

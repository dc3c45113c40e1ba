import NIOCore

/// Standard base64 (RFC 4648 §4, padded), the encoding of `blob` members in GreengrassCoreIPC JSON, written
/// straight into and read straight out of `ByteBuffer`s so a payload is transformed once instead of passing
/// through `Data`.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    /// 0xFF: not in the alphabet.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// How many bytes `text` decodes to, or nil when it cannot be base64 (length not a multiple of 4).
    static func decodedLength(_ text: some Collection<UInt8>) -> Int? {
        let count = text.count
        guard count % 4 == 0 else { return nil }
        var padding = 0
        if count > 0, text.dropFirst(count - 1).first == UInt8(ascii: "=") { padding += 1 }
        if count > 1, text.dropFirst(count - 2).first == UInt8(ascii: "=") { padding += 1 }
        return count / 4 * 3 - padding
    }

    /// Appends the bytes `text` encodes to `buffer`; false (buffer unchanged) when `text` is not padded base64.
    static func decode(_ text: some Collection<UInt8>, into buffer: inout ByteBuffer) -> Bool {
        if let result = text.withContiguousStorageIfAvailable({ decode($0, into: &buffer) }) { return result }
        return Array(text).withUnsafeBufferPointer { decode($0, into: &buffer) }
    }

    /// A `blob` member's text decoded into a new buffer of exactly its size; nil when it is not padded base64.
    static func decodedBuffer(_ text: String) -> ByteBuffer? {
        var text = text
        return text.withUTF8 { utf8 -> ByteBuffer? in
            guard let length = decodedLength(utf8) else { return nil }
            var buffer = ByteBufferAllocator().buffer(capacity: length)
            return decode(utf8, into: &buffer) ? buffer : nil
        }
    }

    private static func decode(_ input: UnsafeBufferPointer<UInt8>, into buffer: inout ByteBuffer) -> Bool {
        guard let length = decodedLength(input) else { return false }
        guard length > 0 else { return input.isEmpty }
        var valid = true
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { output in
            values.withUnsafeBufferPointer { values in
                var written = 0
                var index = 0
                while index < input.count {
                    let a = values[Int(input[index])], b = values[Int(input[index + 1])]
                    let cText = input[index + 2], dText = input[index + 3]
                    let isLast = index + 4 == input.count
                    let c = cText == UInt8(ascii: "=") && isLast ? 0 : values[Int(cText)]
                    let d = dText == UInt8(ascii: "=") && isLast ? 0 : values[Int(dText)]
                    // "=" only at the end, and "x=y=" is not padding.
                    guard a < 64, b < 64, c < 64, d < 64,
                          !(cText == UInt8(ascii: "=") && dText != UInt8(ascii: "="))
                    else {
                        valid = false
                        return 0
                    }
                    let triple = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    // Only the last group can be short (padding), so only it needs the length checks.
                    output[written] = UInt8(truncatingIfNeeded: triple >> 16)
                    written += 1
                    if written < length {
                        output[written] = UInt8(truncatingIfNeeded: triple >> 8)
                        written += 1
                    }
                    if written < length {
                        output[written] = UInt8(truncatingIfNeeded: triple)
                        written += 1
                    }
                    index += 4
                }
                return written
            }
        }
        return valid
    }

    /// `bytes` as padded base64 text.
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next(), third = iterator.next()
            let triple = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(triple >> 18 & 63)])
            output.append(alphabet[Int(triple >> 12 & 63)])
            output.append(second == nil ? UInt8(ascii: "=") : alphabet[Int(triple >> 6 & 63)])
            output.append(third == nil ? UInt8(ascii: "=") : alphabet[Int(triple & 63)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}

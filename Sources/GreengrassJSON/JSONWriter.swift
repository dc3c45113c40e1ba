extension JSONValue {
    /// Output layout for `serialized(_:)`.
    public enum Layout: Sendable, Hashable {
        /// No whitespace at all, as Greengrass renders `{configuration:/x}` objects and the CLI prints
        /// configurations.
        case compact
        /// Two-space indentation, one member per line, `"key": value`.
        case pretty
    }

    /// This value as JSON text with object keys sorted.
    ///
    /// Keys are ordered by UTF-16 code units, as Java's `String.compareTo` (and therefore Jackson's
    /// `ORDER_MAP_ENTRIES_BY_KEYS`) orders them; for ASCII keys that is plain byte order. Strings are
    /// escaped like Jackson: `"`, `\` and control characters only, non-ASCII text is written as UTF-8.
    /// Non-finite doubles, which JSON cannot express, are written as `null`.
    public func serialized(_ layout: Layout = .compact) -> String {
        var writer = JSONWriter(layout: layout)
        writer.write(self, depth: 0)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// This value as UTF-8 JSON bytes; see `serialized(_:)`.
    public func serializedBytes(_ layout: Layout = .compact) -> [UInt8] {
        var writer = JSONWriter(layout: layout)
        writer.write(self, depth: 0)
        return writer.bytes
    }

    /// Sorts keys the way Java's `String.compareTo` does (UTF-16 code unit order).
    ///
    /// UTF-8 byte order equals code point order, which equals UTF-16 order except between a character
    /// in U+E000…U+FFFF (UTF-8 lead byte 0xEE/0xEF) and one above U+FFFF (lead 0xF0…0xF4, a surrogate
    /// pair in UTF-16, so smaller there). Comparing bytes and flipping that one case avoids transcoding.
    static func javaOrder(_ left: String, _ right: String) -> Bool {
        var leftBytes = left.utf8.makeIterator()
        var rightBytes = right.utf8.makeIterator()
        while true {
            switch (leftBytes.next(), rightBytes.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case let (a?, b?):
                if a == b { continue }
                if (0xEE...0xEF).contains(a), b >= 0xF0 { return false }
                if (0xEE...0xEF).contains(b), a >= 0xF0 { return true }
                return a < b
            }
        }
    }
}

private struct JSONWriter {
    let layout: JSONValue.Layout
    var bytes: [UInt8] = []

    init(layout: JSONValue.Layout) {
        self.layout = layout
        bytes.reserveCapacity(256)
    }

    mutating func write(_ value: JSONValue, depth: Int) {
        switch value {
        case .null:
            append("null")
        case .bool(let flag):
            append(flag ? "true" : "false")
        case .int(let number):
            append(String(number))
        case .double(let number):
            append(JSONWriter.render(number))
        case .string(let text):
            writeString(text)
        case .array(let elements):
            writeContainer(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), count: elements.count, depth: depth) {
                writer, index in writer.write(elements[index], depth: depth + 1)
            }
        case .object(let members):
            let keys = members.keys.sorted(by: JSONValue.javaOrder)
            writeContainer(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), count: keys.count, depth: depth) {
                writer, index in
                writer.writeString(keys[index])
                writer.bytes.append(UInt8(ascii: ":"))
                if writer.layout == .pretty { writer.bytes.append(UInt8(ascii: " ")) }
                writer.write(members[keys[index]] ?? .null, depth: depth + 1)
            }
        }
    }

    private mutating func writeContainer(
        open: UInt8, close: UInt8, count: Int, depth: Int, element: (inout JSONWriter, Int) -> Void
    ) {
        bytes.append(open)
        for index in 0..<count {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            newline(depth: depth + 1)
            element(&self, index)
        }
        if count > 0 { newline(depth: depth) }
        bytes.append(close)
    }

    private mutating func newline(depth: Int) {
        guard layout == .pretty else { return }
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func writeString(_ text: String) {
        JSONStringLiteral.append(text, to: &bytes)
    }

    /// Swift's shortest round-trip rendering (`1.5`, `1.0`, `1e+20`) is valid JSON for finite values.
    static func render(_ number: Double) -> String {
        number.isFinite ? number.description : "null"
    }
}

/// The one JSON string escaper (the value writer, the coders, the Greengrass JSON log format and the event-stream
/// error bodies all use it), with Jackson's choices, so our files and messages read like the Java nucleus's:
/// `"` and `\` escaped, `\b \f \n \r \t` for those controls, `\u00XX` (upper-case hex) for the other controls
/// below U+0020, everything else (`/`, non-ASCII) written as UTF-8.
public enum JSONStringLiteral {
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// `true` when `text` has a byte that must be escaped.
    public static func needsEscaping(_ text: String) -> Bool {
        text.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
    }

    /// Appends `text` as a quoted JSON string literal to `bytes`.
    public static func append(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0x08: appendEscape(UInt8(ascii: "b"), to: &bytes)
            case 0x0C: appendEscape(UInt8(ascii: "f"), to: &bytes)
            case 0x0A: appendEscape(UInt8(ascii: "n"), to: &bytes)
            case 0x0D: appendEscape(UInt8(ascii: "r"), to: &bytes)
            case 0x09: appendEscape(UInt8(ascii: "t"), to: &bytes)
            case 0x00..<0x20:
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0F)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends `text` as a quoted JSON string literal to `output`; text without anything to escape (most log
    /// lines) is appended as is, without a detour through bytes.
    public static func append(_ text: String, to output: inout String) {
        guard needsEscaping(text) else {
            output.append("\"")
            output.append(text)
            output.append("\"")
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 16)
        append(text, to: &bytes)
        output.append(String(decoding: bytes, as: UTF8.self))
    }

    /// `text` as a quoted JSON string literal.
    public static func quoted(_ text: String) -> String {
        var output = ""
        append(text, to: &output)
        return output
    }

    private static func appendEscape(_ letter: UInt8, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(letter)
    }
}

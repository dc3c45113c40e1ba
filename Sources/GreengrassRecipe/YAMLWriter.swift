import GreengrassJSON

/// Writes a JSON value as block-style YAML for people to read (the nucleus's `config/effectiveConfig.yaml`), such
/// that any YAML 1.1 or 1.2 parser reads back the same value: map keys sorted, strings always double-quoted
/// (so `"true"`, `"1.0"`, `""` and `"a: b"` stay strings), keys plain only when they cannot be read as anything
/// but the same string.
public enum YAMLWriter {
    public static func document(_ value: JSONValue) -> String {
        lines(value).joined(separator: "\n") + "\n"
    }

    /// The value as lines, unindented; the caller indents nested blocks.
    private static func lines(_ value: JSONValue) -> [String] {
        switch value {
        case .array(let elements) where !elements.isEmpty:
            return elements.flatMap { element in
                // `- ` then the element's first line; its other lines line up under that first line.
                lines(element).enumerated().map { index, line in (index == 0 ? "- " : "  ") + line }
            }
        case .object(let members) where !members.isEmpty:
            return members.keys.sorted().flatMap { key -> [String] in
                let member = members[key] ?? .null
                let name = self.key(key) + ":"
                if member.isBlock { return [name] + lines(member).map { "  " + $0 } }
                return [name + " " + scalar(member)]
            }
        default:
            return [scalar(value)]
        }
    }

    private static func scalar(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number): return floatText(number)
        case .string(let text): return doubleQuoted(text)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    /// Swift prints `1e+16`; YAML 1.1 wants a dot in a float (`1.0e+16`), and JSON has no NaN or infinity but
    /// YAML does.
    static func floatText(_ number: Double) -> String {
        if number.isNaN { return ".nan" }
        if number.isInfinite { return number < 0 ? "-.inf" : ".inf" }
        let text = String(number)
        guard !text.contains("."), let exponent = text.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return text }
        return text[..<exponent] + ".0" + text[exponent...]
    }

    /// A key stays plain when it is a simple name that no YAML version types as a boolean or null.
    static func key(_ text: String) -> String {
        guard let first = text.utf8.first, isNameStart(first), text.utf8.allSatisfy(isNameByte),
              !typedWords.contains(text.lowercased())
        else { return doubleQuoted(text) }
        return text
    }

    private static let typedWords: Set<String> = ["y", "n", "yes", "no", "true", "false", "on", "off", "null"]

    private static func isNameStart(_ byte: UInt8) -> Bool {
        (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "/")
    }

    /// A double-quoted scalar: backslash escapes for `"` and `\`, and for every character a YAML reader would not
    /// take literally inside quotes (controls, and NEL/LS/PS, which YAML 1.1 folds as line breaks).
    static func doubleQuoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "\0": result += "\\0"
            case "\u{85}": result += "\\N"
            case "\u{2028}": result += "\\L"
            case "\u{2029}": result += "\\P"
            default:
                if isPrintable(scalar) {
                    result.unicodeScalars.append(scalar)
                } else if scalar.value <= 0xFF {
                    result += "\\x" + hex(scalar.value, digits: 2)
                } else if scalar.value <= 0xFFFF {
                    result += "\\u" + hex(scalar.value, digits: 4)
                } else {
                    result += "\\U" + hex(scalar.value, digits: 8)
                }
            }
        }
        return result + "\""
    }

    /// YAML's printable set (what libyaml's reader accepts), minus the byte-order mark.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20...0x7E, 0xA0...0xD7FF, 0xE000...0xFEFE, 0xFF00...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

extension JSONValue {
    /// A non-empty list or map, written as an indented block rather than on the key's line.
    fileprivate var isBlock: Bool {
        switch self {
        case .array(let elements): !elements.isEmpty
        case .object(let members): !members.isEmpty
        default: false
        }
    }
}

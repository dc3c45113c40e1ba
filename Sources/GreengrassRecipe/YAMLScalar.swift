import GreengrassJSON

/// One YAML scalar and the JSON value it stands for, resolved the way YAML 1.1 (SnakeYAML, which Greengrass uses)
/// does: plain `true`/`yes`/`on` are booleans, plain numbers are numbers, quoted text is always a string, and
/// timestamps, `<<` and other tags stay text.
struct YAMLScalar: Sendable, Hashable {
    /// The text as written, after YAML's own unescaping and folding.
    var text: String
    /// Plain (unquoted, not a block scalar): only plain text is typed by its look.
    var isPlain: Bool
    /// An explicit tag such as `tag:yaml.org,2002:int` (`!!int`), or `nil` for none.
    var explicitTag: String?

    private static let yamlTag = "tag:yaml.org,2002:"

    var value: JSONValue {
        let type: ResolvedType
        switch explicitTag {
        case nil: type = isPlain ? Self.resolve(Array(text.utf8)) : .string
        case Self.yamlTag + "null": type = .null
        case Self.yamlTag + "bool": type = .bool
        case Self.yamlTag + "int": type = .int
        case Self.yamlTag + "float": type = .float
        default: type = .string
        }
        switch type {
        case .null:
            return .null
        case .bool:
            return Self.boolean(text).map(JSONValue.bool) ?? .string(text)
        case .int:
            if isPlain, let exact = Self.integer(text) { return .int(exact) }
            if isPlain, let number = Self.double(text), number.isFinite { return .double(number) }
            return .string(text)
        case .float:
            // JSON has no NaN or infinity: keep those as text.
            if isPlain, let number = Self.double(text), number.isFinite { return .double(number) }
            return .string(text)
        case .string:
            return .string(text)
        }
    }

    enum ResolvedType { case null, bool, int, float, string }

    /// The implicit type of plain text (YAML 1.1's resolver, in its order: bool, int, float, null).
    static func resolve(_ bytes: [UInt8]) -> ResolvedType {
        let text = String(decoding: bytes, as: UTF8.self)
        if booleanWords.contains(text) { return .bool }
        if isInteger(bytes) { return .int }
        if isFloat(bytes) { return .float }
        if ["", "~", "null", "Null", "NULL"].contains(text) { return .null }
        return .string
    }

    private static let booleanWords: Set<String> = [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
    ]

    static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    /// `0b1010`, `0o17`/`017` (octal), `0x1F`, `1_000`, `1:30` (sexagesimal, 90), with an optional sign.
    static func integer(_ text: String) -> Int? {
        var digits = text.filter { $0 != "_" }
        let negative = digits.hasPrefix("-")
        if negative || digits.hasPrefix("+") { digits.removeFirst() }
        let sign = negative ? "-" : ""
        if digits == "0" { return 0 }
        for (prefix, radix) in [("0x", 16), ("0b", 2), ("0o", 8), ("0", 8)] where digits.hasPrefix(prefix) {
            return Int(sign + digits.dropFirst(prefix.count), radix: radix)
        }
        if digits.contains(":") { return sexagesimal(digits, Int.init).map { negative ? -$0 : $0 } }
        return Int(sign + digits)
    }

    /// `2.5`, `1e3`, `.5`, `1:30.5` (sexagesimal), `.inf`, `.nan`, with an optional sign.
    static func double(_ text: String) -> Double? {
        switch text.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: break
        }
        var digits = text.filter { $0 != "_" }
        guard digits.contains(":") else { return Double(digits) }
        let negative = digits.hasPrefix("-")
        if negative || digits.hasPrefix("+") { digits.removeFirst() }
        return sexagesimal(digits, Double.init).map { negative ? -$0 : $0 }
    }

    /// `a:b:c` in base 60.
    private static func sexagesimal<Number: Numeric>(_ text: String, _ parse: (String) -> Number?) -> Number? {
        var value: Number = 0
        for part in text.split(separator: ":", omittingEmptySubsequences: false) {
            guard let digit = parse(String(part)) else { return nil }
            value = value * 60 + digit
        }
        return value
    }

    // MARK: - YAML 1.1's int and float patterns, by hand (no regular-expression engine in the nucleus)

    private struct Cursor {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ allowed: (UInt8) -> Bool) -> Bool {
            guard index < bytes.count, allowed(bytes[index]) else { return false }
            index += 1
            return true
        }

        mutating func take(_ literal: String) -> Bool {
            let literal = Array(literal.utf8)
            guard bytes[index...].starts(with: literal) else { return false }
            index += literal.count
            return true
        }

        /// Zero or more bytes in `allowed`; returns how many.
        @discardableResult
        mutating func takeAll(_ allowed: (UInt8) -> Bool) -> Int {
            let start = index
            while take(allowed) {}
            return index - start
        }

        mutating func takeSign() { _ = take { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") } }

        /// `(:[0-5]?[0-9])+`
        mutating func takeSexagesimalGroups() -> Bool {
            var groups = 0
            while take(":") {
                let first = index
                guard takeAll(isDigit) > 0 else { return false }
                let count = index - first
                guard count == 1 || (count == 2 && bytes[first] <= UInt8(ascii: "5")) else { return false }
                groups += 1
            }
            return groups > 0
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isDigitOrUnderscore(_ byte: UInt8) -> Bool { isDigit(byte) || byte == UInt8(ascii: "_") }

    /// Whether the whole of `bytes` matches, trying each alternative from the start.
    private static func matchesAny(_ bytes: [UInt8], _ alternatives: [(inout Cursor) -> Bool]) -> Bool {
        alternatives.contains { alternative in
            var cursor = Cursor(bytes: bytes)
            return alternative(&cursor) && cursor.atEnd
        }
    }

    static func isInteger(_ bytes: [UInt8]) -> Bool {
        matchesAny(bytes, [
            { $0.takeSign(); return $0.take("0b") && $0.takeAll { $0 == 0x30 || $0 == 0x31 || $0 == 0x5F } > 0 },
            { cursor in
                cursor.takeSign()
                guard cursor.take("0") else { return false }
                _ = cursor.take("o")
                return cursor.takeAll { ($0 >= 0x30 && $0 <= 0x37) || $0 == 0x5F } > 0
            },
            { $0.takeSign(); return $0.take("0") },
            { $0.takeSign(); return takeDecimal(&$0) },
            { $0.takeSign(); return $0.take("0x") && $0.takeAll { isHexDigit($0) || $0 == 0x5F } > 0 },
            { $0.takeSign(); return takeDecimal(&$0) && $0.takeSexagesimalGroups() },
        ])
    }

    /// `[1-9][0-9_]*`
    private static func takeDecimal(_ cursor: inout Cursor) -> Bool {
        guard cursor.take({ $0 >= 0x31 && $0 <= 0x39 }) else { return false }
        cursor.takeAll(isDigitOrUnderscore)
        return true
    }

    static func isFloat(_ bytes: [UInt8]) -> Bool {
        matchesAny(bytes, [
            { cursor in
                cursor.takeSign()
                guard cursor.take(isDigit) else { return false }
                cursor.takeAll(isDigitOrUnderscore)
                if cursor.take(".") { cursor.takeAll(isDigitOrUnderscore) }
                return takeExponent(&cursor, signRequired: false)
            },
            { cursor in
                cursor.take(".") && cursor.takeAll(isDigitOrUnderscore) > 0 && takeExponent(&cursor, signRequired: true)
            },
            { cursor in
                cursor.takeSign()
                guard cursor.take(isDigit) else { return false }
                cursor.takeAll(isDigitOrUnderscore)
                guard cursor.takeSexagesimalGroups(), cursor.take(".") else { return false }
                cursor.takeAll(isDigitOrUnderscore)
                return true
            },
            { $0.takeSign(); return $0.take(".inf") || $0.take(".Inf") || $0.take(".INF") },
            { $0.take(".nan") || $0.take(".NaN") || $0.take(".NAN") },
        ])
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "f"))
    }

    /// `([eE][-+]?[0-9]+)?`, or with the sign required; `false` only for a started but malformed exponent.
    private static func takeExponent(_ cursor: inout Cursor, signRequired: Bool) -> Bool {
        guard cursor.take({ $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else { return true }
        let signed = cursor.take { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }
        guard signed || !signRequired else { return false }
        return cursor.takeAll(isDigit) > 0
    }
}

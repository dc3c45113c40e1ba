import GreengrassJSON

/// Reads a JSON recipe into a located tree in one pass over the text: the structure and each value's line and
/// column here, each scalar's value by the JSON module's own parser (so a number or a string means exactly what
/// `JSONValue(parsing:)` makes of it). It accepts only what that parser accepts; on anything else it returns nil
/// and the caller falls back to the full parser, which names the syntax error.
///
/// Positions are counted as libyaml counts them (lines from 1; columns from 1, in characters; `\r\n` and a lone
/// `\r` end a line), so an error names the same place whether the tree came from here or from the YAML reader.
struct LocatedJSONReader {
    private let bytes: [UInt8]
    private let maximumDepth: Int
    private var offset = 0
    private var line = 1
    private var column = 1

    /// Reads `text` (without a byte order mark); nil when it is not a JSON document this reader can vouch for.
    static func read(_ text: String, maximumDepth: Int) -> RecipeNode? {
        var reader = LocatedJSONReader(bytes: Array(text.utf8), maximumDepth: maximumDepth)
        reader.skipWhitespace()
        guard let root = reader.value(depth: 0) else { return nil }
        reader.skipWhitespace()
        return reader.offset == reader.bytes.count ? root : nil
    }

    private init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    private var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private mutating func advance() {
        let byte = bytes[offset]
        offset += 1
        if byte == UInt8(ascii: "\n") || (byte == UInt8(ascii: "\r") && current != UInt8(ascii: "\n")) {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80, byte != UInt8(ascii: "\r") {
            column += 1
        }
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { advance() }
    }

    private mutating func value(depth: Int) -> RecipeNode? {
        let position = SourcePosition(line: line, column: column)
        switch current {
        case UInt8(ascii: "{")?:
            guard depth + 1 <= maximumDepth else { return nil }
            advance()
            guard let members = members(depth: depth + 1) else { return nil }
            return RecipeNode(content: .mapping(members), location: position)
        case UInt8(ascii: "[")?:
            guard depth + 1 <= maximumDepth else { return nil }
            advance()
            guard let elements = elements(depth: depth + 1) else { return nil }
            return RecipeNode(content: .sequence(elements), location: position)
        case UInt8(ascii: "\"")?:
            guard let text = string() else { return nil }
            return RecipeNode(content: .scalar(.string(text), text: text), location: position)
        case nil:
            return nil
        default:
            let start = offset
            while let byte = current, !Self.endsBareToken(byte) { advance() }
            let token = bytes[start..<offset]
            // A number, true, false or null; the JSON parser says which, and whether it is one at all.
            guard !token.isEmpty, let scalar = try? JSONValue(parsing: token) else { return nil }
            switch scalar {
            case .array, .object, .string: return nil
            case .null, .bool, .int, .double:
                return RecipeNode(content: .scalar(scalar, text: String(decoding: token, as: UTF8.self)), location: position)
            }
        }
    }

    private static func endsBareToken(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == UInt8(ascii: ",")
            || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: ":")
    }

    /// A quoted string at the current position (escapes decoded by the JSON parser).
    private mutating func string() -> String? {
        let start = offset
        advance()
        while let byte = current, byte != UInt8(ascii: "\"") {
            advance()
            if byte == UInt8(ascii: "\\") {
                guard current != nil else { return nil }
                advance()
            }
        }
        guard current != nil else { return nil }
        advance()
        guard case .string(let text)? = try? JSONValue(parsing: bytes[start..<offset]) else { return nil }
        return text
    }

    /// The members of an object whose `{` was just read, through its `}`.
    private mutating func members(depth: Int) -> [RecipeNode.Member]? {
        var members: [RecipeNode.Member] = []
        let complete = items(closing: UInt8(ascii: "}")) { reader in
            guard reader.current == UInt8(ascii: "\""), let key = reader.string() else { return false }
            reader.skipWhitespace()
            guard reader.current == UInt8(ascii: ":") else { return false }
            reader.advance()
            reader.skipWhitespace()
            guard let value = reader.value(depth: depth) else { return false }
            members.append(RecipeNode.Member(key: key, value: value))
            return true
        }
        return complete ? members : nil
    }

    /// The elements of an array whose `[` was just read, through its `]`.
    private mutating func elements(depth: Int) -> [RecipeNode]? {
        var elements: [RecipeNode] = []
        let complete = items(closing: UInt8(ascii: "]")) { reader in
            guard let element = reader.value(depth: depth) else { return false }
            elements.append(element)
            return true
        }
        return complete ? elements : nil
    }

    /// Reads comma-separated items with `item` up to and including `closing`; false when the list is malformed.
    private mutating func items(closing: UInt8, _ item: (inout LocatedJSONReader) -> Bool) -> Bool {
        skipWhitespace()
        if current == closing {
            advance()
            return true
        }
        while true {
            skipWhitespace()
            guard item(&self) else { return false }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ",")?: advance()
            case closing?:
                advance()
                return true
            default: return false
            }
        }
    }
}

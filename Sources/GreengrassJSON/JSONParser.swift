/// Why a JSON text could not be parsed, and where (1-based line and column; the column counts
/// Unicode scalars, like libyaml and most editors).
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of syntax error.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Stable name of the code, for logs and tests.
        public let name: String
        public var description: String { name }

        /// The text ended inside a value.
        public static let unexpectedEndOfInput = Code(name: "unexpectedEndOfInput")
        /// A byte that cannot start or continue the expected token.
        public static let unexpectedCharacter = Code(name: "unexpectedCharacter")
        /// A number that breaks the JSON grammar or is out of range.
        public static let invalidNumber = Code(name: "invalidNumber")
        /// A bad `\\` escape or an unpaired UTF-16 surrogate.
        public static let invalidEscape = Code(name: "invalidEscape")
        /// String bytes that are not UTF-8.
        public static let invalidUTF8 = Code(name: "invalidUTF8")
        /// A raw control character (below U+0020) inside a string.
        public static let controlCharacterInString = Code(name: "controlCharacterInString")
        /// Arrays/objects nested deeper than `JSONParsingOptions.maximumDepth`.
        public static let nestingTooDeep = Code(name: "nestingTooDeep")
        /// Something other than whitespace after the value.
        public static let trailingContent = Code(name: "trailingContent")
        /// More bytes than `JSONParsingOptions.maximumInputSize`.
        public static let inputTooLarge = Code(name: "inputTooLarge")
    }

    /// The kind of error.
    public var code: Code
    /// 1-based line of the offending byte.
    public var line: Int
    /// 1-based column (in Unicode scalars) of the offending byte.
    public var column: Int
    /// 0-based byte offset of the offending byte.
    public var offset: Int
    /// What was wrong, e.g. `expected ',' or '}' after an object member, found 'x'`.
    public var reason: String

    public init(code: Code, line: Int, column: Int, offset: Int, reason: String) {
        self.code = code
        self.line = line
        self.column = column
        self.offset = offset
        self.reason = reason
    }

    /// `line 3, column 7: <reason>`
    public var description: String { "line \(line), column \(column): \(reason)" }
}

/// Limits applied while parsing untrusted JSON.
public struct JSONParsingOptions: Sendable, Hashable {
    /// Deepest nesting of arrays and objects accepted (protects the recursive parser's stack).
    public var maximumDepth: Int
    /// Largest input accepted, in bytes.
    public var maximumInputSize: Int
    /// Read an unpaired UTF-16 surrogate escape (`\ud800` alone) as U+FFFD instead of refusing the text. Java
    /// strings may hold lone surrogates and Jackson writes them as such escapes, so a reader of Java-written logs
    /// takes them; everything else refuses them (they are not text).
    public var replacesUnpairedSurrogates: Bool

    public init(maximumDepth: Int = 512, maximumInputSize: Int = 64 << 20, replacesUnpairedSurrogates: Bool = false) {
        self.maximumDepth = maximumDepth
        self.maximumInputSize = maximumInputSize
        self.replacesUnpairedSurrogates = replacesUnpairedSurrogates
    }

    /// 512 levels, 64 MiB.
    public static let `default` = JSONParsingOptions()
}

extension JSONValue {
    /// Parses one JSON value (RFC 8259) from `text`; a leading byte order mark and surrounding whitespace
    /// are allowed, anything else after the value is an error. Repeated object keys: the last one wins
    /// (as Jackson).
    public init(parsing text: String, options: JSONParsingOptions = .default) throws(JSONParseError) {
        self = try parseJSONTree(text, options: options)
    }

    /// Parses one JSON value from UTF-8 `bytes`; see `init(parsing:options:)` for `String`.
    public init(parsing bytes: some Collection<UInt8>, options: JSONParsingOptions = .default) throws(JSONParseError) {
        self = try parseJSONTree(bytes, options: options)
    }
}

/// What the parser builds: ``JSONValue`` (objects as dictionaries) or ``OrderedJSONValue`` (objects as member
/// lists in document order). One parser, so both accept exactly the same texts with the same limits and errors.
protocol JSONParsedTree {
    associatedtype Members
    static var null: Self { get }
    static func bool(_ value: Bool) -> Self
    static func int(_ value: Int) -> Self
    static func double(_ value: Double) -> Self
    static func string(_ value: String) -> Self
    static func array(_ elements: [Self]) -> Self
    static func object(_ members: Members) -> Self
    static var noMembers: Members { get }
    static func add(_ key: String, _ value: Self, to members: inout Members)
}

extension JSONValue: JSONParsedTree {
    static var noMembers: [String: JSONValue] { [:] }
    static func add(_ key: String, _ value: JSONValue, to members: inout [String: JSONValue]) { members[key] = value }
}

func parseJSONTree<Tree: JSONParsedTree>(_ text: String, options: JSONParsingOptions) throws(JSONParseError) -> Tree {
    var text = text
    let result: Result<Tree, JSONParseError> = text.withUTF8 { buffer in parseJSONTree(buffer, options: options) }
    return try result.get()
}

func parseJSONTree<Tree: JSONParsedTree>(_ bytes: some Collection<UInt8>, options: JSONParsingOptions) throws(JSONParseError) -> Tree {
    let result: Result<Tree, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
        parseJSONTree(buffer, options: options)
    }
    if let result { return try result.get() }
    let copy = Array(bytes)
    return try copy.withUnsafeBufferPointer { buffer in parseJSONTree(buffer, options: options) }.get()
}

private func parseJSONTree<Tree: JSONParsedTree>(
    _ buffer: UnsafeBufferPointer<UInt8>, options: JSONParsingOptions
) -> Result<Tree, JSONParseError> {
    var parser = JSONByteParser<Tree>(input: buffer, options: options)
    do throws(JSONParseError) {
        guard buffer.count <= options.maximumInputSize else {
            throw parser.error(.inputTooLarge, at: 0,
                               "input is \(buffer.count) bytes, more than the limit of \(options.maximumInputSize)")
        }
        // A UTF-8 byte order mark is allowed and ignored (RFC 8259 §8.1), as Jackson does.
        if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { parser.position = 3 }
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.position < buffer.count {
            throw parser.error(.trailingContent, at: parser.position,
                               "unexpected \(parser.describe(parser.position)) after the end of the JSON value")
        }
        return .success(value)
    } catch {
        return .failure(error)
    }
}

/// Recursive-descent parser over a UTF-8 buffer. Positions are byte offsets; line and column are only
/// computed when an error is reported.
private struct JSONByteParser<Tree: JSONParsedTree> {
    let input: UnsafeBufferPointer<UInt8>
    let options: JSONParsingOptions
    var position = 0

    init(input: UnsafeBufferPointer<UInt8>, options: JSONParsingOptions) {
        self.input = input
        self.options = options
    }

    mutating func skipWhitespace() {
        while position < input.count {
            switch input[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> Tree {
        guard position < input.count else {
            throw error(.unexpectedEndOfInput, at: position, "unexpected end of input, expected a value")
        }
        switch input[position] {
        case UInt8(ascii: "{"):
            return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["):
            return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectWord("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw error(.unexpectedCharacter, at: position, "expected a value, found \(describe(position))")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONParseError) {
        let start = position
        let count = word.utf8CodeUnitCount
        var index = 0
        while index < count {
            guard position < input.count else {
                throw error(.unexpectedEndOfInput, at: position, "unexpected end of input in literal '\(word)'")
            }
            guard input[position] == word.utf8Start[index] else {
                throw error(.unexpectedCharacter, at: start, "expected a value, found \(describe(start))")
            }
            position += 1
            index += 1
        }
    }

    private mutating func checkDepth(_ depth: Int) throws(JSONParseError) {
        if depth > options.maximumDepth {
            throw error(.nestingTooDeep, at: position, "nesting deeper than \(options.maximumDepth) levels")
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> Tree {
        try checkDepth(depth)
        position += 1  // {
        var members = Tree.noMembers
        skipWhitespace()
        if position < input.count, input[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < input.count else {
                throw error(.unexpectedEndOfInput, at: position, "unexpected end of input inside an object")
            }
            guard input[position] == UInt8(ascii: "\"") else {
                throw error(.unexpectedCharacter, at: position,
                            "expected a quoted member name, found \(describe(position))")
            }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "expected ':' after member name \"\(key)\"")
            skipWhitespace()
            Tree.add(key, try parseValue(depth: depth), to: &members)
            if try closesContainer(UInt8(ascii: "}"), container: "an object", element: "an object member") {
                return .object(members)
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> Tree {
        try checkDepth(depth)
        position += 1  // [
        var elements: [Tree] = []
        skipWhitespace()
        if position < input.count, input[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            if try closesContainer(UInt8(ascii: "]"), container: "an array", element: "an array element") {
                return .array(elements)
            }
        }
    }

    /// After an element: consumes `,` (returns false: another element follows) or `close` (returns true).
    private mutating func closesContainer(_ close: UInt8, container: String, element: String) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard position < input.count else {
            throw error(.unexpectedEndOfInput, at: position, "unexpected end of input inside \(container)")
        }
        let byte = input[position]
        guard byte == UInt8(ascii: ",") || byte == close else {
            throw error(.unexpectedCharacter, at: position,
                        "expected ',' or '\(Character(Unicode.Scalar(close)))' after \(element), found \(describe(position))")
        }
        position += 1
        return byte == close
    }

    private mutating func expect(_ byte: UInt8, _ message: @autoclosure () -> String) throws(JSONParseError) {
        guard position < input.count else {
            throw error(.unexpectedEndOfInput, at: position, "unexpected end of input: " + message())
        }
        guard input[position] == byte else {
            throw error(.unexpectedCharacter, at: position, message() + ", found \(describe(position))")
        }
        position += 1
    }

    // MARK: Strings

    mutating func parseString() throws(JSONParseError) -> String {
        let start = position
        position += 1  // opening quote
        let contentStart = position
        // Fast path: no escapes.
        while position < input.count {
            let byte = input[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: input[contentStart..<position])
                position += 1
                return try validated(slice, at: contentStart)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 {
                throw error(.controlCharacterInString, at: position,
                            "control character \(describe(position)) must be escaped in a string")
            }
            position += 1
        }
        guard position < input.count else {
            throw error(.unexpectedEndOfInput, at: start, "unterminated string")
        }
        // Slow path: copy what we have, then decode escapes.
        var bytes = Array(UnsafeBufferPointer(rebasing: input[contentStart..<position]))
        while position < input.count {
            let byte = input[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
                    try validated(buffer, at: contentStart)
                }
            case UInt8(ascii: "\\"):
                try parseEscape(into: &bytes)
            case 0x00..<0x20:
                throw error(.controlCharacterInString, at: position,
                            "control character \(describe(position)) must be escaped in a string")
            default:
                bytes.append(byte)
                position += 1
            }
        }
        throw error(.unexpectedEndOfInput, at: start, "unterminated string")
    }

    private func validated(_ slice: UnsafeBufferPointer<UInt8>, at offset: Int) throws(JSONParseError) -> String {
        guard let text = UTF8Text.validated(slice) else {
            throw error(.invalidUTF8, at: offset, "string is not valid UTF-8")
        }
        return text
    }

    private mutating func parseEscape(into bytes: inout [UInt8]) throws(JSONParseError) {
        let escapeStart = position
        position += 1  // backslash
        guard position < input.count else {
            throw error(.unexpectedEndOfInput, at: escapeStart, "unterminated escape sequence")
        }
        let letter = input[position]
        position += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(letter)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            var scalarValue = try parseHex4(escapeStart: escapeStart)
            if (0xD800...0xDBFF).contains(scalarValue) {
                // A high surrogate must be followed by an escaped low surrogate.
                let lowStart = position
                guard position + 1 < input.count, input[position] == UInt8(ascii: "\\"),
                      input[position + 1] == UInt8(ascii: "u")
                else {
                    return try unpairedSurrogate(escapeStart, into: &bytes)
                }
                position += 2
                let low = try parseHex4(escapeStart: escapeStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    position = lowStart  // the second escape is read again on its own
                    return try unpairedSurrogate(escapeStart, into: &bytes)
                }
                scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalarValue) {
                return try unpairedSurrogate(escapeStart, into: &bytes)
            }
            guard let scalar = Unicode.Scalar(scalarValue) else {
                throw error(.invalidEscape, at: escapeStart, "invalid \\u escape")
            }
            bytes.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw error(.invalidEscape, at: escapeStart, "invalid escape sequence \\\(describeByte(letter))")
        }
    }

    /// U+FFFD when the options say so, else the error.
    private func unpairedSurrogate(_ escapeStart: Int, into bytes: inout [UInt8]) throws(JSONParseError) {
        guard options.replacesUnpairedSurrogates else {
            throw error(.invalidEscape, at: escapeStart, "unpaired UTF-16 surrogate in \\u escape")
        }
        bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        guard position + 4 <= input.count else {
            throw error(.unexpectedEndOfInput, at: escapeStart, "truncated \\u escape")
        }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = input[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw error(.invalidEscape, at: escapeStart, "\\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(JSONParseError) -> Tree {
        let start = position
        var isInteger = true
        if input[position] == UInt8(ascii: "-") { position += 1 }
        guard position < input.count, isDigit(input[position]) else {
            throw error(.invalidNumber, at: start, "'-' must be followed by a digit")
        }
        if input[position] == UInt8(ascii: "0") {
            position += 1
            if position < input.count, isDigit(input[position]) {
                throw error(.invalidNumber, at: start, "numbers must not have leading zeros")
            }
        } else {
            skipDigits()
        }
        if position < input.count, input[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard position < input.count, isDigit(input[position]) else {
                throw error(.invalidNumber, at: start, "a decimal point must be followed by a digit")
            }
            skipDigits()
        }
        if position < input.count, input[position] == UInt8(ascii: "e") || input[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < input.count, input[position] == UInt8(ascii: "+") || input[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < input.count, isDigit(input[position]) else {
                throw error(.invalidNumber, at: start, "an exponent must have digits")
            }
            skipDigits()
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: input[start..<position]), as: UTF8.self)
        if isInteger, let exact = Int(text) {
            return .int(exact)
        }
        guard let number = Double(text), number.isFinite else {
            throw error(.invalidNumber, at: start, "number \(text) is out of range")
        }
        return .double(number)
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipDigits() {
        while position < input.count, isDigit(input[position]) { position += 1 }
    }

    // MARK: Errors

    func describe(_ offset: Int) -> String {
        guard offset < input.count else { return "end of input" }
        return describeByte(input[offset])
    }

    private func describeByte(_ byte: UInt8) -> String {
        switch byte {
        case 0x21...0x7E: return "'\(Character(Unicode.Scalar(byte)))'"
        default: return "byte 0x" + String(byte, radix: 16, uppercase: true)
        }
    }

    func error(_ code: JSONParseError.Code, at offset: Int, _ reason: String) -> JSONParseError {
        var line = 1
        var column = 1
        var index = 0
        let end = min(offset, input.count)
        while index < end {
            let byte = input[index]
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {  // count scalars, not continuation bytes
                column += 1
            }
            index += 1
        }
        return JSONParseError(code: code, line: line, column: column, offset: offset, reason: reason)
    }
}

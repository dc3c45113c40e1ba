extension GreengrassLogLine {
    /// Parses one JSON line (reference §4.2; what `logging.format: JSON` writes and `greengrass-cli logs` reads).
    ///
    /// Required: `thread`, `level`, `loggerName` (strings) and `timestamp` (integer epoch ms). Optional:
    /// `eventType`, `message` (string or null), `contexts` (object; non-string values are kept as their JSON text).
    /// Other fields (`cause`, …) are skipped. Nesting deeper than 64 levels is rejected, so hostile input cannot
    /// exhaust the stack.
    public init(parsingJSON line: some StringProtocol) throws(GreengrassLogParseError) {
        var reader = JSONReader(Array(line.utf8))
        guard case .object(let fields) = try reader.parseDocument() else { throw .invalidJSON("top level is not an object") }
        func string(_ key: String) throws(GreengrassLogParseError) -> String {
            guard case .string(let value)? = fields.first(where: { $0.key == key })?.value else { throw .badJSONField(key) }
            return value
        }
        func optionalString(_ key: String) throws(GreengrassLogParseError) -> String? {
            switch fields.first(where: { $0.key == key })?.value {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default: throw .badJSONField(key)
            }
        }
        guard let level = GreengrassLogLevel(rawValue: try string("level")) else { throw .badJSONField("level") }
        guard case .number(let number)? = fields.first(where: { $0.key == "timestamp" })?.value, let timestamp = Int64(number)
        else { throw .badJSONField("timestamp") }
        var contexts: [GreengrassLogContext] = []
        switch fields.first(where: { $0.key == "contexts" })?.value {
        case nil, .null?: break
        case .object(let entries)?:
            contexts = entries.map { GreengrassLogContext($0.key, $0.value.contextText) }
        default: throw .badJSONField("contexts")
        }
        self.init(
            timestamp: timestamp, level: level, thread: try string("thread"), loggerName: try string("loggerName"),
            eventType: try optionalString("eventType"), message: try optionalString("message"), contexts: contexts)
    }
}

/// A parsed JSON value; objects keep their member order.
enum JSONValue: Hashable {
    case null
    case bool(Bool)
    /// The number's text as written (integers are converted by the caller).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// How a context value is shown: strings as themselves, anything else as compact JSON text.
    var contextText: String {
        switch self {
        case .string(let text): return text
        default:
            var out = ""
            appendJSON(to: &out)
            return out
        }
    }

    func appendJSON(to out: inout String) {
        switch self {
        case .null: out.append("null")
        case .bool(let value): out.append(value ? "true" : "false")
        case .number(let text): out.append(text)
        case .string(let text): JSONString.append(text, to: &out)
        case .array(let values):
            out.append("[")
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(",") }
                value.appendJSON(to: &out)
            }
            out.append("]")
        case .object(let members):
            out.append("{")
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(",") }
                JSONString.append(member.key, to: &out)
                out.append(":")
                member.value.appendJSON(to: &out)
            }
            out.append("}")
        }
    }
}

/// One `"key": value` of a JSON object.
struct JSONMember: Hashable {
    var key: String
    var value: JSONValue
}

/// A strict RFC 8259 reader over UTF-8 bytes with a nesting limit.
struct JSONReader {
    static let maxDepth = 64
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// One value surrounded only by whitespace (a trailing newline is fine).
    mutating func parseDocument() throws(GreengrassLogParseError) -> JSONValue {
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw failure("unexpected data after the value") }
        return value
    }

    private func failure(_ reason: String) -> GreengrassLogParseError {
        .invalidJSON("\(reason) at byte \(position)")
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws(GreengrassLogParseError) -> JSONValue {
        for byte in literal.utf8 {
            guard position < bytes.count, bytes[position] == byte else { throw failure("bad literal") }
            position += 1
        }
        return value
    }

    private mutating func parseValue(depth: Int) throws(GreengrassLogParseError) -> JSONValue {
        guard depth < Self.maxDepth else { throw failure("nesting deeper than \(Self.maxDepth)") }
        skipWhitespace()
        guard position < bytes.count else { throw failure("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws(GreengrassLogParseError) -> JSONValue {
        var members: [JSONMember] = []
        try parseElements(closing: UInt8(ascii: "}"), what: "object") { (reader: inout JSONReader) throws(GreengrassLogParseError) in
            reader.skipWhitespace()
            guard reader.position < reader.bytes.count, reader.bytes[reader.position] == UInt8(ascii: "\"")
            else { throw reader.failure("expected a member name") }
            let key = try reader.parseString()
            reader.skipWhitespace()
            guard reader.position < reader.bytes.count, reader.bytes[reader.position] == UInt8(ascii: ":")
            else { throw reader.failure("expected ':'") }
            reader.position += 1
            members.append(JSONMember(key: key, value: try reader.parseValue(depth: depth + 1)))
        }
        return .object(members)
    }

    private mutating func parseArray(depth: Int) throws(GreengrassLogParseError) -> JSONValue {
        var values: [JSONValue] = []
        try parseElements(closing: UInt8(ascii: "]"), what: "array") { (reader: inout JSONReader) throws(GreengrassLogParseError) in
            values.append(try reader.parseValue(depth: depth + 1))
        }
        return .array(values)
    }

    /// Consumes the opening bracket, then `element`s separated by commas up to `closing`.
    private mutating func parseElements(
        closing: UInt8, what: String, _ element: (inout JSONReader) throws(GreengrassLogParseError) -> Void
    ) throws(GreengrassLogParseError) {
        position += 1
        skipWhitespace()
        if position < bytes.count, bytes[position] == closing {
            position += 1
            return
        }
        while true {
            try element(&self)
            skipWhitespace()
            guard position < bytes.count else { throw failure("unterminated \(what)") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == closing {
                position += 1
                return
            } else {
                throw failure("expected ',' or the end of the \(what)")
            }
        }
    }

    private mutating func parseNumber() throws(GreengrassLogParseError) -> JSONValue {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        func digits(_ reader: inout JSONReader) -> Int {
            let from = reader.position
            while reader.position < reader.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.position]) {
                reader.position += 1
            }
            return reader.position - from
        }
        let integerStart = position
        let integerDigits = digits(&self)
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { throw failure("bad number") }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw failure("bad fraction") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw failure("bad exponent") }
        }
        return .number(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    private mutating func parseString() throws(GreengrassLogParseError) -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var runStart = position
        func flushRun(_ reader: JSONReader, upTo end: Int, into scalars: inout String.UnicodeScalarView) {
            if end > runStart { scalars.append(contentsOf: String(decoding: reader.bytes[runStart..<end], as: UTF8.self).unicodeScalars) }
        }
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                flushRun(self, upTo: position, into: &scalars)
                position += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                flushRun(self, upTo: position, into: &scalars)
                position += 1
                scalars.append(try parseEscape())
                runStart = position
            case 0..<0x20:
                throw failure("control character in string")
            default:
                position += 1
            }
        }
        throw failure("unterminated string")
    }

    private mutating func parseEscape() throws(GreengrassLogParseError) -> Unicode.Scalar {
        guard position < bytes.count else { throw failure("unterminated escape") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try parseHex4()
            if (0xD800..<0xDC00).contains(unit) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { return "\u{FFFD}" }
                position += 2
                let low = try parseHex4()
                guard (0xDC00..<0xE000).contains(low) else { return "\u{FFFD}" }
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}"
            }
            return Unicode.Scalar(unit) ?? "\u{FFFD}"
        default:
            throw failure("bad escape")
        }
    }

    private mutating func parseHex4() throws(GreengrassLogParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("bad hex digit")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}

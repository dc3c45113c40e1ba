import GreengrassJSON

extension GreengrassLogLine {
    /// Log lines are read with GreengrassJSON's parser, keeping member order (contexts are shown in the order
    /// written), nesting bounded at 64 levels so hostile input cannot exhaust the stack, and lone UTF-16
    /// surrogates read as U+FFFD (a Java string may hold one; Jackson writes it as a lone `\uD800`).
    static let jsonParsingOptions = JSONParsingOptions(maximumDepth: 64, replacesUnpairedSurrogates: true)

    /// Parses one JSON line (reference §4.2; what `logging.format: JSON` writes and `greengrass-cli logs` reads).
    ///
    /// Required: `thread`, `level`, `loggerName` (strings) and `timestamp` (integer epoch ms). Optional:
    /// `eventType`, `message` (string or null), `contexts` (object; non-string values are kept as compact JSON
    /// text). Other fields (`cause`, …) are skipped. A repeated field: the first one counts.
    public init(parsingJSON line: some StringProtocol) throws(GreengrassLogParseError) {
        let document: OrderedJSONValue
        do {
            document = try OrderedJSONValue(parsing: String(line), options: Self.jsonParsingOptions)
        } catch {
            throw .invalidJSON("\(error)")
        }
        guard case .object = document else { throw .invalidJSON("top level is not an object") }
        func string(_ key: String) throws(GreengrassLogParseError) -> String {
            guard case .string(let value)? = document.firstMember(key) else { throw .badJSONField(key) }
            return value
        }
        func optionalString(_ key: String) throws(GreengrassLogParseError) -> String? {
            switch document.firstMember(key) {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default: throw .badJSONField(key)
            }
        }
        guard let level = GreengrassLogLevel(rawValue: try string("level")) else { throw .badJSONField("level") }
        guard case .int(let milliseconds)? = document.firstMember("timestamp") else { throw .badJSONField("timestamp") }
        var contexts: [GreengrassLogContext] = []
        switch document.firstMember("contexts") {
        case nil, .null?: break
        case .object(let entries)?:
            contexts = entries.map { GreengrassLogContext($0.key, Self.contextText($0.value)) }
        default: throw .badJSONField("contexts")
        }
        self.init(
            timestamp: Int64(milliseconds), level: level, thread: try string("thread"), loggerName: try string("loggerName"),
            eventType: try optionalString("eventType"), message: try optionalString("message"), contexts: contexts)
    }

    /// How a context value is shown: a string as itself, anything else as compact JSON text.
    private static func contextText(_ value: OrderedJSONValue) -> String {
        if case .string(let text) = value { return text }
        return value.unordered.serialized()
    }
}

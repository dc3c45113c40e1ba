/// Why a line is not a Greengrass TEXT log line.
public enum GreengrassLogParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The first token is not an ISO-8601 UTC instant.
    case badTimestamp(String)
    /// `[LEVEL]` is missing after the timestamp.
    case missingLevel
    /// The bracketed level is not TRACE, DEBUG, INFO, WARN or ERROR.
    case unknownLevel(String)
    /// `(thread)` is missing after the level.
    case missingThread
    /// `loggerName: ` is missing after the thread.
    case missingLoggerName
    /// A JSON line is not valid JSON; the text says what and at which byte offset.
    case invalidJSON(String)
    /// A JSON line lacks a required field or has it with the wrong type.
    case badJSONField(String)

    public var description: String {
        switch self {
        case .badTimestamp(let token): "log line does not start with an ISO-8601 UTC instant: '\(token.prefix(40))'"
        case .missingLevel: "log line has no '[LEVEL] ' after the timestamp"
        case .unknownLevel(let level): "log line has unknown level '\(level.prefix(20))'"
        case .missingThread: "log line has no '(thread) ' after the level"
        case .missingLoggerName: "log line has no 'loggerName: ' after the thread"
        case .invalidJSON(let reason): "JSON log line is not valid JSON: \(reason)"
        case .badJSONField(let field): "JSON log line has a missing or mistyped field '\(field)'"
        }
    }
}

extension GreengrassLogLine {
    /// Parses one TEXT line (reference §4.1), accepting both timestamp forms (`…:53.230Z` and `…:53Z`).
    ///
    /// The header (timestamp, level, thread, logger) is strict. The body is split leniently, because Java's
    /// rendering is not reversible in general:
    /// - the context map is the last `{…}` group starting the body or following `". "` whose braces balance and
    ///   close at the end of the line (so messages containing `". {"` still parse); a line without one has no
    ///   contexts and its whole body is the message;
    /// - inside the map, entries split on `", "` outside `{}`/`[]`; a fragment without `=` continues the previous
    ///   value (a value containing `", "`);
    /// - before the map, a first part without whitespace that does not end in `.` is the event type (Greengrass
    ///   event types are tokens like `stdout` or `service-set-state`); the rest is the message.
    ///
    /// Hence `renderText()` of the result reproduces the line for every line this module writes.
    /// Escaped `\n`/`\r` are kept as written.
    public init(parsingText line: some StringProtocol) throws(GreengrassLogParseError) {
        var rest = Substring(line)
        if rest.last == "\n" { rest = rest.dropLast() }
        if rest.last == "\r" { rest = rest.dropLast() }

        let timestampToken = rest.prefix { $0 != " " }
        guard let timestamp = ISOInstant.parse(timestampToken) else {
            throw .badTimestamp(String(timestampToken))
        }
        rest = rest[timestampToken.endIndex...]
        guard rest.hasPrefix(" ["), let levelEnd = rest.firstIndex(of: "]") else { throw .missingLevel }
        let levelText = rest[rest.index(rest.startIndex, offsetBy: 2)..<levelEnd]
        guard let level = GreengrassLogLevel(rawValue: String(levelText)) else { throw .unknownLevel(String(levelText)) }
        rest = rest[rest.index(after: levelEnd)...]
        guard rest.hasPrefix(" ("), let threadEnd = rest.firstRange(of: ") ") else { throw .missingThread }
        let thread = rest[rest.index(rest.startIndex, offsetBy: 2)..<threadEnd.lowerBound]
        rest = rest[threadEnd.upperBound...]
        guard let loggerEnd = rest.firstRange(of: ": ") else { throw .missingLoggerName }
        let loggerName = rest[..<loggerEnd.lowerBound]
        let body = rest[loggerEnd.upperBound...]

        let prefix: Substring
        let contexts: [GreengrassLogContext]
        if let mapStart = Self.contextMapStart(in: body) {
            contexts = Self.parseContextMap(body[mapStart...])
            prefix = mapStart == body.startIndex ? body[mapStart..<mapStart] : body[..<body.index(mapStart, offsetBy: -2)]
        } else {
            contexts = []
            prefix = body
        }
        let (eventType, message) = Self.splitEventTypeAndMessage(prefix)
        self.init(
            timestamp: timestamp, level: level, thread: String(thread), loggerName: String(loggerName),
            eventType: eventType, message: message, contexts: contexts)
    }

    /// The index of the `{` opening the context map, or nil.
    static func contextMapStart(in body: Substring) -> Substring.Index? {
        guard body.last == "}" else { return nil }
        var candidates: [Substring.Index] = []
        if body.first == "{" { candidates.append(body.startIndex) }
        var searchFrom = body.startIndex
        while let range = body[searchFrom...].firstRange(of: ". {") {
            candidates.append(body.index(range.lowerBound, offsetBy: 2))
            searchFrom = body.index(after: range.lowerBound)
        }
        // Prefer the last balanced group: messages are more likely to contain ". {" than context values.
        for candidate in candidates.reversed() where isBalancedGroup(body[candidate...]) {
            return candidate
        }
        return candidates.last
    }

    /// True when `text` is `{…}` whose outermost brace closes at the last character.
    static func isBalancedGroup(_ text: Substring) -> Bool {
        var depth = 0
        var index = text.startIndex
        while index < text.endIndex {
            switch text[index] {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { return text.index(after: index) == text.endIndex }
                if depth < 0 { return false }
            default: break
            }
            index = text.index(after: index)
        }
        return false
    }

    /// Parses `{k=v, k2=v2}` (Java `Map.toString`).
    static func parseContextMap(_ map: Substring) -> [GreengrassLogContext] {
        let inner = map.dropFirst().dropLast()
        guard !inner.isEmpty else { return [] }
        var fragments: [Substring] = []
        var depth = 0
        var fragmentStart = inner.startIndex
        var index = inner.startIndex
        while index < inner.endIndex {
            let character = inner[index]
            switch character {
            case "{", "[": depth += 1
            case "}", "]": depth = max(0, depth - 1)
            case "," where depth == 0 && inner[inner.index(after: index)...].hasPrefix(" "):
                fragments.append(inner[fragmentStart..<index])
                fragmentStart = inner.index(index, offsetBy: 2)
                index = fragmentStart
                continue
            default: break
            }
            index = inner.index(after: index)
        }
        fragments.append(inner[fragmentStart...])

        var contexts: [GreengrassLogContext] = []
        for fragment in fragments {
            if let equals = fragment.firstIndex(of: "=") {
                contexts.append(GreengrassLogContext(String(fragment[..<equals]), String(fragment[fragment.index(after: equals)...])))
            } else if !contexts.isEmpty {
                contexts[contexts.count - 1].value += ", " + fragment
            } else {
                contexts.append(GreengrassLogContext(String(fragment), ""))
            }
        }
        return contexts
    }

    /// Splits the part of the body before the context map into event type and message (see the initializer).
    static func splitEventTypeAndMessage(_ prefix: Substring) -> (eventType: String?, message: String?) {
        guard !prefix.isEmpty else { return (nil, nil) }
        func isEventTypeToken(_ token: Substring) -> Bool {
            !token.isEmpty && token.last != "." && !token.contains(where: \.isWhitespace)
        }
        if let separator = prefix.firstRange(of: ". "), isEventTypeToken(prefix[..<separator.lowerBound]) {
            let message = prefix[separator.upperBound...]
            return (String(prefix[..<separator.lowerBound]), message.isEmpty ? nil : String(message))
        }
        if isEventTypeToken(prefix) { return (String(prefix), nil) }
        return (nil, String(prefix))
    }
}

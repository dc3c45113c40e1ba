/// One `-f/--filter` value of `logs get`: its comma-separated terms are alternatives (OR).
///
/// A term without `=` is a regular expression (a plain keyword is one) searched in the raw line; `level=L` matches
/// events at level `L` or more severe; any other `key=value` matches an event whose field or context `key` equals
/// `value` (see ``LogQueryEntry/fieldValues(_:)``).
public struct LogFilterExpression {
    public var patterns: [(text: String, regex: Regex<AnyRegexOutput>)]
    public var pairs: [GreengrassLogContext]
    public var minimumLevel: GreengrassLogLevel?

    /// Parses one `-f` value. `warnings` receives notes that do not stop the command (the AWS CLI's
    /// `Invalid log level: X`, after which `level=X` is matched as a plain pair).
    public init(parsing expression: String, warnings: inout [String]) throws(LogQueryError) {
        patterns = []
        pairs = []
        minimumLevel = nil
        for element in expression.javaSplit(",") {
            guard element.contains("=") else {
                guard !element.isEmpty else { throw .invalidFilter(expression, reason: "empty term") }
                do {
                    patterns.append((String(element), try Regex(String(element))))
                } catch {
                    throw .invalidFilter(String(element), reason: "not a regular expression (\(error))")
                }
                continue
            }
            let parts = element.javaSplit("=")
            guard parts.count == 2 else { throw .invalidFilter(String(element), reason: "expected one 'key=value'") }
            let key = String(parts[0])
            let value = String(parts[1])
            if key == "level" {
                if let level = GreengrassLogLevel(rawValue: value) {
                    minimumLevel = min(level, minimumLevel ?? level)
                    continue
                }
                warnings.append("Invalid log level: \(value)")
            }
            pairs.append(GreengrassLogContext(key, value))
        }
    }

    /// The keywords that made `entry` match (for highlighting), or nil when no term matches. Like the AWS CLI, the
    /// kinds are tried in order level, pairs, patterns, and the first kind that matches gives the keywords.
    public func match(_ entry: LogQueryEntry) -> [String]? {
        if let minimumLevel, let level = entry.event?.level, level >= minimumLevel { return [level.rawValue] }
        for pair in pairs where entry.fieldValues(pair.key).contains(pair.value) { return [pair.value] }
        for pattern in patterns {
            if let found = entry.line.firstMatch(of: pattern.regex) { return [String(entry.line[found.range])] }
        }
        return nil
    }
}

/// All of `logs get`'s selection: any window (OR) and every filter expression (AND).
public struct LogQueryFilter {
    public var windows: [LogTimeWindow]
    public var expressions: [LogFilterExpression]

    public init(windows: [LogTimeWindow] = [], expressions: [LogFilterExpression] = []) {
        self.windows = windows
        self.expressions = expressions
    }

    /// Parses the `-t` and `-f` values; `now` is epoch ms.
    public init(timeWindows: [String], filters: [String], now: Int64, warnings: inout [String]) throws(LogQueryError) {
        var windows: [LogTimeWindow] = []
        for window in timeWindows { windows.append(try LogTimeWindow(parsing: window, now: now)) }
        var expressions: [LogFilterExpression] = []
        for filter in filters { expressions.append(try LogFilterExpression(parsing: filter, warnings: &warnings)) }
        self.init(windows: windows, expressions: expressions)
    }

    /// The keywords to highlight when `entry` is selected, or nil when it is not.
    public func match(_ entry: LogQueryEntry) -> [String]? {
        guard windows.isEmpty || windows.contains(where: { $0.contains(entry.timestamp) }) else { return nil }
        var keywords: [String] = []
        for expression in expressions {
            guard let matched = expression.match(entry) else { return nil }
            keywords += matched
        }
        return keywords
    }

    /// Whether `--follow` should keep waiting for lines at `now`: no window, or one that has not ended yet.
    public func acceptsLaterEntries(now: Int64) -> Bool {
        windows.isEmpty || windows.contains { $0.end > now }
    }
}

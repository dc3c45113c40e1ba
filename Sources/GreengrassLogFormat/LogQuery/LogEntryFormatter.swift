/// How `logs get` prints a selected entry, as the AWS CLI's `VisualizationImpl` does.
public enum LogEntryFormatter {
    public static let highlightStart = "\u{1B}[31m\u{1B}[1m"
    public static let highlightEnd = "\u{1B}[0m\u{1B}[0m"

    public enum Output: Hashable, Sendable {
        case standardOutput(String)
        case standardError(String)
    }

    /// - `--syslog`: the raw line;
    /// - `--verbose`: the event's full TEXT line (`getTextMessage`);
    /// - otherwise: `yyyy-MM-dd HH:mm:ss UTC [LEVEL] <last two logger name parts>: <body>` (no thread);
    /// a line that is not an event goes to standard error as `Unable to parse log message: ` and the line.
    /// Unless `color` is false, every keyword is wrapped in red bold.
    public static func format(_ selection: LogSelection, syslog: Bool, verbose: Bool, color: Bool) -> [Output] {
        let text: String
        if syslog {
            text = selection.entry.line
        } else if let event = selection.entry.event {
            text = verbose ? event.renderText() : abbreviated(event)
        } else {
            return [.standardError("Unable to parse log message: "), .standardError(selection.entry.line)]
        }
        return [.standardOutput(color ? highlight(text, selection.keywords) : text)]
    }

    static func abbreviated(_ event: GreengrassLogLine) -> String {
        let t = UTCDateTime(epochMilliseconds: event.timestamp)
        var out = ""
        ISOInstant.appendPadded(t.year, width: 4, to: &out)
        for (separator, field) in [("-", t.month), ("-", t.day), (" ", t.hour), (":", t.minute), (":", t.second)] {
            out.append(separator)
            ISOInstant.appendPadded(field, width: 2, to: &out)
        }
        out.append(" UTC [\(event.level.rawValue)] \(abbreviatedLoggerName(event.loggerName)): ")
        var parts: [String] = []
        if let eventType = event.eventType, !eventType.isEmpty { parts.append(eventType) }
        if let message = event.message, !message.isEmpty { parts.append(message) }
        parts.append("{" + event.contexts.map(\.description).joined(separator: ", ") + "}")
        out.append(parts.joined(separator: ". "))
        return out
    }

    /// `com.aws.greengrass.deployment.DeploymentService` → `deployment.DeploymentService`.
    static func abbreviatedLoggerName(_ name: String) -> String {
        let parts = name.javaSplit(".")
        return parts.count < 2 ? name : parts[parts.count - 2] + "." + parts[parts.count - 1]
    }

    static func highlight(_ text: String, _ keywords: [String]) -> String {
        var out = text
        for keyword in keywords where !keyword.isEmpty {
            out = out.replacing(keyword, with: highlightStart + keyword + highlightEnd)
        }
        return out
    }

    /// `logs list-keywords [-s]`.
    public static func suggestedKeywords(syslog: Bool) -> String {
        syslog
            ? "Suggested keywords for syslog format:\npriority=$int\nhost=$str\nlogger=$str\nclass=$str\n"
            : "Suggested keywords for Greengrass log format:\nlevel=$str\nthread=$str\nloggerName=$str\neventType=$str\nserviceName=$str\nerror=$str\n"
    }
}

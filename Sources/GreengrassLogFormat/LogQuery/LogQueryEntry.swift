/// One line read by `greengrass-cli logs get`, parsed when it is a Greengrass event in either format we write.
public struct LogQueryEntry: Hashable, Sendable {
    /// The line as read (without its line break).
    public var line: String
    /// The event, when the line is a Greengrass TEXT or JSON log line (JSON when it starts with `{`).
    public var event: GreengrassLogLine?
    /// The syslog fields (`priority`, `host`, `logger`, `class`), when read with `--syslog`.
    public var syslogFields: [GreengrassLogContext]
    /// Epoch ms: the event's, else the line's own syslog time, else `fallbackTimestamp`.
    public var timestamp: Int64

    /// - Parameter fallbackTimestamp: the time of a line that carries none. Callers pass the previous entry's time
    ///   from the same file, so continuation lines (stack traces) stay next to their event when files are merged.
    public init(line: String, syslog: Bool = false, fallbackTimestamp: Int64, currentYear: Int = 1970) {
        self.line = line
        self.event = nil
        self.syslogFields = []
        self.timestamp = fallbackTimestamp
        if syslog {
            if let parsed = SyslogLine(parsing: line, year: currentYear) {
                timestamp = parsed.timestamp
                syslogFields = parsed.fields
            }
            return
        }
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        let event = trimmed.first == "{" ? try? GreengrassLogLine(parsingJSON: line) : try? GreengrassLogLine(parsingText: line)
        if let event {
            self.event = event
            self.timestamp = event.timestamp
        }
    }

    /// The value of field `key` as the AWS CLI's filters see it: a top-level field of the event (`level`, `thread`,
    /// `loggerName`, `eventType`, `message`, `timestamp`), else a context; a line that is not an event is a message.
    public func fieldValues(_ key: String) -> [String] {
        guard let event else {
            if !syslogFields.isEmpty { return syslogFields.filter { $0.key == key }.map(\.value) }
            return key == "message" ? [line] : []
        }
        var values: [String] = []
        switch key {
        case "level": values.append(event.level.rawValue)
        case "thread": values.append(event.thread)
        case "loggerName": values.append(event.loggerName)
        case "eventType": if let eventType = event.eventType { values.append(eventType) }
        case "message": if let message = event.message { values.append(message) }
        case "timestamp": values.append(String(event.timestamp))
        default: break
        }
        values += event.contexts.filter { $0.key == key }.map(\.value)
        return values
    }
}

/// A BSD syslog line, `[<pri>]Mmm dd HH:mm:ss[ host][ logger][ (class)]: message`, the shape the AWS CLI's
/// `--syslog` mode reads from `/var/log/syslog`.
struct SyslogLine {
    var timestamp: Int64
    var fields: [GreengrassLogContext]

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    init?(parsing line: String, year: Int) {
        var rest = Substring(line)
        var priority: String?
        if rest.first == "<", let close = rest.firstIndex(of: ">") {
            let digits = rest[rest.index(after: rest.startIndex)..<close]
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
            priority = String(digits)
            rest = rest[rest.index(after: close)...]
        }
        // "Mmm dd HH:mm:ss" is 15 characters; the day may be space-padded.
        let header = Array(rest.prefix(15).utf8)
        guard header.count == 15, header[3] == UInt8(ascii: " "), header[6] == UInt8(ascii: " "),
            let month = Self.months.firstIndex(of: String(decoding: header[0..<3], as: UTF8.self).lowercased())
        else { return nil }
        var clock = DigitReader(Array(header[7...]))
        let dayText = String(decoding: header[4..<6], as: UTF8.self).trimmingSpaces()
        guard let day = Int(dayText), let hour = clock.number(minDigits: 2, maxDigits: 2), clock.consume(UInt8(ascii: ":")),
            let minute = clock.number(minDigits: 2, maxDigits: 2), clock.consume(UInt8(ascii: ":")),
            let second = clock.number(minDigits: 2, maxDigits: 2), clock.atEnd,
            let date = UTCDateTime(validatingYear: year, month: month + 1, day: day, hour: hour, minute: minute, second: second, millisecond: 0)
        else { return nil }
        timestamp = date.epochMilliseconds
        rest = rest.dropFirst(15)
        var host: String?
        var logger: String?
        var className: String?
        if let colon = rest.firstRange(of: ": ") {
            let words = rest[..<colon.lowerBound].split(separator: " ")
            if words.count <= 3 {
                for word in words {
                    if word.hasPrefix("("), word.hasSuffix(")"), word.count >= 2 {
                        className = String(word.dropFirst().dropLast())
                    } else if host == nil {
                        host = String(word)
                    } else {
                        logger = String(word)
                    }
                }
            }
        }
        fields = [("priority", priority), ("host", host), ("logger", logger), ("class", className)].compactMap { key, value in
            value.map { GreengrassLogContext(key, $0) }
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

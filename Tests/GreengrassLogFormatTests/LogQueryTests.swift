import GreengrassLogFormat
import Testing

/// 2024-01-02T03:04:05.678Z
private let now: Int64 = 1_704_164_645_678

@Suite("logs get: time windows")
struct LogTimeWindowTests {
    @Test(arguments: [
        ("-2h", now - 7_200_000), ("+1days-3hr", now + 86_400_000 - 10_800_000), ("-10min30s", now - 600_000 + 30_000),
        ("-1d-1h-1m-1s", now - 90_061_000), ("5seconds", now + 5000), ("-3hours", now - 10_800_000), ("-2ms", now - 120_000),
    ])
    func relativeOffsets(text: String, expected: Int64) throws {
        #expect(try LogTimeWindow(parsing: text + ",", now: now).begin == expected)
    }

    @Test(arguments: [
        ("2024-01-01T10:00:00Z", 1_704_103_200_000), ("2024-01-01T10:00:00.5Z", 1_704_103_200_500),
        ("2024-01-01T10:00:00123", 1_704_103_200_123), ("2024-01-01T10:00", 1_704_103_200_000),
        ("2024-01-01T10:00:00.25", 1_704_103_200_250), ("2024-01-01", 1_704_067_200_000), ("20240101", 1_704_067_200_000),
        ("10:00", 1_704_189_600_000), ("10:00:01.5", 1_704_189_601_500), ("10:00:01500", 1_704_189_601_500),
    ])
    func absoluteTimes(text: String, expected: Int64) throws {
        #expect(try LogTimeWindow(parsing: text + ",2030-01-01", now: now).begin == expected)
    }

    @Test func missingEndOrBeginMeansNowAndBoundsAreExclusive() throws {
        let window = try LogTimeWindow(parsing: "-1h", now: now)
        #expect(window == LogTimeWindow(begin: now - 3_600_000, end: now))
        #expect(try LogTimeWindow(parsing: ",+1h", now: now) == LogTimeWindow(begin: now, end: now + 3_600_000))
        #expect(!window.contains(now - 3_600_000) && window.contains(now - 1) && !window.contains(now))
    }

    @Test(arguments: ["", ",", "a,b,c", "yesterday", "2024-13-01", "25:00", "-2x", "2024-01-01T10:00:00+02:00", "1h2d", "-1h,nope"])
    func malformedWindowsNameTheInput(text: String) {
        #expect {
            try LogTimeWindow(parsing: text, now: now)
        } throws: { error in
            guard case .invalidTimeWindow(let window, _) = error as? LogQueryError else { return false }
            return window == text && "\(error)".contains("'\(text)'")
        }
    }
}

private func entry(_ line: String, fallback: Int64 = 0) -> LogQueryEntry { LogQueryEntry(line: line, fallbackTimestamp: fallback) }

private let textLine =
    "2024-01-02T03:04:05.678Z [WARN] (Copier) com.example.Hello: stderr. boom happened. {scriptName=services.com.example.Hello.lifecycle.Run, serviceName=com.example.Hello, currentState=RUNNING}"
private let jsonLine =
    #"{"thread":"main","level":"INFO","eventType":"service-set-state","message":"","contexts":{"serviceName":"Other","currentState":"STARTING"},"loggerName":"com.aws.greengrass.lifecyclemanager.GenericExternalService","timestamp":1704164645000,"cause":null}"#

@Suite("logs get: entries and filters")
struct LogFilterTests {
    @Test func entriesParseBothFormatsAndFallBackForOtherLines() {
        #expect(entry(textLine).event?.level == .warn)
        #expect(entry(textLine).timestamp == now)
        #expect(entry(jsonLine).event?.thread == "main")
        #expect(entry(jsonLine).timestamp == 1_704_164_645_000)
        let other = entry("\tat java.lang.Thread.run(Thread.java:750)", fallback: 42)
        #expect(other.event == nil && other.timestamp == 42)
        #expect(other.fieldValues("message") == [other.line])
        #expect(entry(textLine).fieldValues("serviceName") == ["com.example.Hello"])
        #expect(entry(jsonLine).fieldValues("timestamp") == ["1704164645000"])
    }

    private func filter(_ filters: [String], windows: [String] = []) throws -> LogQueryFilter {
        var warnings: [String] = []
        return try LogQueryFilter(timeWindows: windows, filters: filters, now: now, warnings: &warnings)
    }

    @Test func commaIsOrAndRepeatedFiltersAreAnd() throws {
        let either = try filter(["serviceName=Other,boom"])
        #expect(either.match(entry(textLine)) == ["boom"])
        #expect(either.match(entry(jsonLine)) == ["Other"])
        let both = try filter(["serviceName=Other,boom", "level=WARN"])
        #expect(both.match(entry(textLine)) == ["boom", "WARN"])
        #expect(both.match(entry(jsonLine)) == nil)
        #expect(try filter([]).match(entry(jsonLine)) == [])
    }

    @Test func levelIsAMinimumAndTopLevelFieldsMatchExactly() throws {
        #expect(try filter(["level=INFO"]).match(entry(textLine)) == ["WARN"])
        #expect(try filter(["level=ERROR"]).match(entry(textLine)) == nil)
        #expect(try filter(["level=ERROR,level=INFO"]).match(entry(jsonLine)) == ["INFO"])
        #expect(try filter(["thread=Copier"]).match(entry(textLine)) == ["Copier"])
        #expect(try filter(["thread=Copie"]).match(entry(textLine)) == nil)
        #expect(try filter(["eventType=service-set-state"]).match(entry(jsonLine)) != nil)
    }

    @Test func regexTermsSearchTheRawLine() throws {
        #expect(try filter(["b[o]+m"]).match(entry(textLine)) == ["boom"])
        #expect(try filter(["^\\{"]).match(entry(jsonLine)) == ["{"])
        #expect(try filter(["nothing-like-this"]).match(entry(textLine)) == nil)
    }

    @Test func invalidLevelWarnsAndBecomesAPair() throws {
        var warnings: [String] = []
        let parsed = try LogQueryFilter(timeWindows: [], filters: ["level=LOUD"], now: now, warnings: &warnings)
        #expect(warnings == ["Invalid log level: LOUD"])
        #expect(parsed.match(entry(textLine)) == nil)
    }

    @Test(arguments: ["a=", "a=b=c", "x,,y", "(unclosed"])
    func malformedFiltersNameTheTerm(text: String) {
        #expect(throws: LogQueryError.self) { try filter([text]) }
        do {
            _ = try filter([text])
        } catch {
            #expect("\(error)".contains("Filter expression provided invalid"))
        }
    }

    @Test func windowsAreAlternativesAndEndFollowing() throws {
        let windows = try filter([], windows: ["2024-01-02T03:00:00Z,2024-01-02T03:04:05.500Z", "-1s,+1h"])
        #expect(windows.match(entry(jsonLine)) == [])
        #expect(windows.match(entry(textLine)) == [])
        let past = try filter([], windows: ["2024-01-01,2024-01-02"])
        #expect(past.match(entry(textLine)) == nil)
        #expect(!past.acceptsLaterEntries(now: now))
        #expect(windows.acceptsLaterEntries(now: now))
        #expect(try filter([]).acceptsLaterEntries(now: .max))
    }
}

private func lines(_ count: Int, start: Int64 = 0) -> [LogQueryEntry] {
    (0..<count).map { LogQueryEntry(line: "line \($0)", fallbackTimestamp: start + Int64($0)) }
}

@Suite("logs get: context lines and merging")
struct LogSelectionTests {
    @Test func beforeAndAfterContextWithoutRepeats() {
        var selector = LogContextSelector(before: 2, after: 1)
        let input = lines(10)
        let matches: Set<Int> = [3, 5, 9]
        var output: [String] = []
        for (index, entry) in input.enumerated() {
            output += selector.select(entry, keywords: matches.contains(index) ? ["k"] : nil).map(\.entry.line)
        }
        #expect(output == ["line 1", "line 2", "line 3", "line 4", "line 5", "line 6", "line 7", "line 8", "line 9"])
        var none = LogContextSelector(before: 0, after: 0)
        #expect(input.flatMap { none.select($0, keywords: $0.line == "line 4" ? [] : nil) }.map(\.entry.line) == ["line 4"])
    }

    @Test func mergeIsInTimeOrderAndStableOnTies() {
        let first = [1, 4, 4, 9].map { LogQueryEntry(line: "a\($0)", fallbackTimestamp: Int64($0)) }
        let second = [0, 4, 5].map { LogQueryEntry(line: "b\($0)", fallbackTimestamp: Int64($0)) }
        var merge = TimeOrderedMerge([first.makeIterator(), [].makeIterator(), second.makeIterator()]) { $0.timestamp }
        var out: [String] = []
        while let next = merge.next() { out.append(next.line) }
        #expect(out == ["b0", "a1", "a4", "a4", "b4", "b5", "a9"])
    }

    @Test func fileNamesGroupRolledBeforeActive() throws {
        let active = try #require(LogFileKey(fileName: "com.example_A.log"))
        let rolledLate = try #require(LogFileKey(fileName: "com.example_A_2024_01_02_03_1.log"))
        let rolledEarly = try #require(LogFileKey(fileName: "com.example_A_2024_01_02_03_0.log"))
        #expect(active.logName == "com.example_A" && rolledLate.logName == "com.example_A" && active.rolled == nil)
        #expect([active, rolledLate, rolledEarly].sorted() == [rolledEarly, rolledLate, active])
        #expect(LogFileKey(fileName: "x_2024_13_02_03_0.log")?.logName == "x_2024_13_02_03_0")
        #expect(LogFileKey(fileName: "notes.txt") == nil)
        #expect(LogFileKey.isLogFileName("syslog") && !LogFileKey.isLogFileName("data.txt"))
    }
}

@Suite("logs get: output")
struct LogEntryFormatterTests {
    @Test func abbreviatedVerboseAndColored() {
        let json = LogSelection(entry: entry(jsonLine), keywords: ["Other"])
        #expect(LogEntryFormatter.format(json, syslog: false, verbose: false, color: false) == [
            .standardOutput("2024-01-02 03:04:05 UTC [INFO] lifecyclemanager.GenericExternalService: service-set-state. {serviceName=Other, currentState=STARTING}")
        ])
        #expect(LogEntryFormatter.format(json, syslog: false, verbose: true, color: false) == [
            .standardOutput("2024-01-02T03:04:05Z [INFO] (main) com.aws.greengrass.lifecyclemanager.GenericExternalService: service-set-state. {serviceName=Other, currentState=STARTING}")
        ])
        let colored = LogEntryFormatter.format(json, syslog: false, verbose: false, color: true)
        #expect(colored == [
            .standardOutput("2024-01-02 03:04:05 UTC [INFO] lifecyclemanager.GenericExternalService: service-set-state. {serviceName=\u{1B}[31m\u{1B}[1mOther\u{1B}[0m\u{1B}[0m, currentState=STARTING}")
        ])
        let text = LogSelection(entry: entry(textLine))
        #expect(LogEntryFormatter.format(text, syslog: false, verbose: true, color: true) == [.standardOutput(textLine)])
        #expect(LogEntryFormatter.format(LogSelection(entry: entry("garbage")), syslog: false, verbose: false, color: false) == [
            .standardError("Unable to parse log message: "), .standardError("garbage"),
        ])
    }

    @Test func syslogLinesPrintRawAndExposeFields() {
        let line = "<13>Jan  2 03:04:05 device systemd (unit): Started thing"
        let parsed = LogQueryEntry(line: line, syslog: true, fallbackTimestamp: 0, currentYear: 2024)
        #expect(parsed.timestamp == 1_704_164_645_000)
        #expect(parsed.fieldValues("host") == ["device"] && parsed.fieldValues("priority") == ["13"])
        #expect(parsed.fieldValues("logger") == ["systemd"] && parsed.fieldValues("class") == ["unit"])
        #expect(LogEntryFormatter.format(LogSelection(entry: parsed), syslog: true, verbose: false, color: true) == [.standardOutput(line)])
    }

    @Test func keywordLists() {
        #expect(LogEntryFormatter.suggestedKeywords(syslog: false).hasPrefix("Suggested keywords for Greengrass log format:\nlevel=$str\n"))
        #expect(LogEntryFormatter.suggestedKeywords(syslog: true).hasSuffix("logger=$str\nclass=$str\n"))
    }
}

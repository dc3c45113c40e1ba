import GreengrassLogFormat
import Testing

@Suite("GreengrassLogLine TEXT/JSON rendering and parsing")
struct GreengrassLogLineTests {
    /// Lines in the shape of the real ones quoted in reference §4 (Greengrass nucleus issues), with the structured
    /// event each must parse into.
    static let realLines: [(String, GreengrassLogLine)] = [
        (
            "2023-05-24T10:30:09.751Z [INFO] (pool-2-thread-45) com.example.App: shell-runner-start. {scriptName=services.com.example.App.lifecycle.Run, serviceName=com.example.App, currentState=STARTING, command=[\"java -jar /greengrass/v2/packages/artifacts-unarchived/c...\"]}",
            GreengrassLogLine(
                timestamp: 1_684_924_209_751, level: .info, thread: "pool-2-thread-45", loggerName: "com.example.App",
                eventType: "shell-runner-start",
                contexts: [
                    .init("scriptName", "services.com.example.App.lifecycle.Run"), .init("serviceName", "com.example.App"),
                    .init("currentState", "STARTING"),
                    .init("command", "[\"java -jar /greengrass/v2/packages/artifacts-unarchived/c...\"]"),
                ])
        ),
        (
            "2022-08-05T14:07:53.230Z [INFO] (Copier) com.iotcore.Publisher: stdout. publish: {\"temperature\": 21.5}. {scriptName=services.com.iotcore.Publisher.lifecycle.Run, serviceName=com.iotcore.Publisher, currentState=RUNNING}",
            GreengrassLogLine(
                timestamp: 1_659_708_473_230, level: .info, thread: "Copier", loggerName: "com.iotcore.Publisher",
                eventType: "stdout", message: "publish: {\"temperature\": 21.5}",
                contexts: [
                    .init("scriptName", "services.com.iotcore.Publisher.lifecycle.Run"),
                    .init("serviceName", "com.iotcore.Publisher"), .init("currentState", "RUNNING"),
                ])
        ),
        (
            "2022-08-05T14:07:50Z [INFO] (main) com.aws.greengrass.util.platforms.Platform: Getting platform instance com.aws.greengrass.util.platforms.unix.linux.LinuxPlatform.. {}",
            GreengrassLogLine(
                timestamp: 1_659_708_470_000, level: .info, thread: "main", loggerName: "com.aws.greengrass.util.platforms.Platform",
                message: "Getting platform instance com.aws.greengrass.util.platforms.unix.linux.LinuxPlatform.")
        ),
        (
            "2022-08-05T14:08:01.005Z [INFO] (com.example.Foo-lifecycle) com.aws.greengrass.lifecyclemanager.GenericExternalService: service-set-state. {serviceName=com.example.Foo, currentState=RUNNING, newState=STOPPING}",
            GreengrassLogLine(
                timestamp: 1_659_708_481_005, level: .info, thread: "com.example.Foo-lifecycle",
                loggerName: "com.aws.greengrass.lifecyclemanager.GenericExternalService", eventType: "service-set-state",
                contexts: [.init("serviceName", "com.example.Foo"), .init("currentState", "RUNNING"), .init("newState", "STOPPING")])
        ),
        (
            "2022-08-05T14:08:02.100Z [WARN] (Copier) com.example.Foo: stderr. Traceback (most recent call last):. {scriptName=services.com.example.Foo.lifecycle.Run.Script, serviceName=com.example.Foo, currentState=RUNNING}",
            GreengrassLogLine(
                timestamp: 1_659_708_482_100, level: .warn, thread: "Copier", loggerName: "com.example.Foo", eventType: "stderr",
                message: "Traceback (most recent call last):",
                contexts: [
                    .init("scriptName", "services.com.example.Foo.lifecycle.Run.Script"), .init("serviceName", "com.example.Foo"),
                    .init("currentState", "RUNNING"),
                ])
        ),
        (
            "2022-08-05T14:08:03.999Z [INFO] (pool-2-thread-3) com.example.Foo: Run script exited. {exitCode=0, serviceName=com.example.Foo, currentState=STOPPING}",
            GreengrassLogLine(
                timestamp: 1_659_708_483_999, level: .info, thread: "pool-2-thread-3", loggerName: "com.example.Foo",
                message: "Run script exited",
                contexts: [.init("exitCode", "0"), .init("serviceName", "com.example.Foo"), .init("currentState", "STOPPING")])
        ),
        (
            "2022-08-05T14:08:04.010Z [DEBUG] (pool-2-thread-3) com.example.Foo: Created process with pid 4242. {serviceName=com.example.Foo, currentState=STARTING}",
            GreengrassLogLine(
                timestamp: 1_659_708_484_010, level: .debug, thread: "pool-2-thread-3", loggerName: "com.example.Foo",
                message: "Created process with pid 4242",
                contexts: [.init("serviceName", "com.example.Foo"), .init("currentState", "STARTING")])
        ),
        (
            "2022-08-05T14:08:05.500Z [ERROR] (main) com.aws.greengrass.lifecyclemanager.Kernel: generic-service-shutdown. {}",
            GreengrassLogLine(
                timestamp: 1_659_708_485_500, level: .error, thread: "main", loggerName: "com.aws.greengrass.lifecyclemanager.Kernel",
                eventType: "generic-service-shutdown")
        ),
    ]

    @Test("real lines parse into the expected event", arguments: realLines)
    func parsesRealLine(text: String, expected: GreengrassLogLine) throws {
        #expect(try GreengrassLogLine(parsingText: text) == expected)
    }

    @Test("real lines render byte for byte", arguments: realLines)
    func rendersRealLine(text: String, event: GreengrassLogLine) {
        #expect(event.renderText() == text)
    }

    @Test("Java HashMap order reproduces the real context orders")
    func javaOrder() {
        func keys(_ names: [String]) -> [String] {
            GreengrassLogContext.javaHashMapOrdered(names.map { GreengrassLogContext($0, "v") }).map(\.key)
        }
        // Insertion order as the nucleus builds them: default contexts first, then kv(...).
        #expect(keys(["serviceName", "currentState", "scriptName"]) == ["scriptName", "serviceName", "currentState"])
        #expect(
            keys(["serviceName", "currentState", "scriptName", "command"]) == ["scriptName", "serviceName", "currentState", "command"])
        #expect(keys(["serviceName", "currentState", "newState"]) == ["serviceName", "currentState", "newState"])
        #expect(keys(["serviceName", "currentState", "exitCode"]) == ["exitCode", "serviceName", "currentState"])
        #expect(keys([]) == [])
    }

    @Test("Java ordering keeps first position and last value of duplicate keys, and keeps all entries")
    func javaOrderDuplicatesAndSize() {
        let ordered = GreengrassLogContext.javaHashMapOrdered([.init("a", "1"), .init("b", "2"), .init("a", "3")])
        #expect(ordered.count == 2)
        #expect(ordered.first { $0.key == "a" }?.value == "3")
        let many = (0..<40).map { GreengrassLogContext("key\($0)", "\($0)") }
        #expect(Set(GreengrassLogContext.javaHashMapOrdered(many)) == Set(many))
        #expect(GreengrassLogContext.deduplicated([.init("x", "1"), .init("y", "2"), .init("x", "3")]) == [.init("x", "3"), .init("y", "2")])
        // The large-input path agrees with the small one.
        let repeated = (0..<60).map { GreengrassLogContext("k\($0 % 20)", "\($0)") }
        #expect(GreengrassLogContext.deduplicated(repeated) == (0..<20).map { GreengrassLogContext("k\($0)", "\($0 + 40)") })
    }

    @Test("body joins the non-empty parts of eventType, message, contexts")
    func bodyParts() {
        let base = GreengrassLogLine(timestamp: 0, level: .info, thread: "t", loggerName: "L")
        let cases: [(String?, String?, [GreengrassLogContext], String)] = [
            (nil, nil, [], "{}"),
            ("", "", [], "{}"),
            ("ev", nil, [], "ev. {}"),
            (nil, "msg", [], "msg. {}"),
            ("ev", "msg", [], "ev. msg. {}"),
            ("ev", "", [.init("k", "v")], "ev. {k=v}"),
            ("", "msg", [.init("k", "v"), .init("k2", "v2")], "msg. {k=v, k2=v2}"),
            (nil, "a.b. {c}", [], "a.b. {c}. {}"),
        ]
        for (eventType, message, contexts, body) in cases {
            var line = base
            line.eventType = eventType
            line.message = message
            line.contexts = contexts
            #expect(line.renderText() == "1970-01-01T00:00:00Z [INFO] (t) L: " + body)
        }
    }

    @Test("newlines in any field never break one-event-per-line")
    func newlinesEscaped() throws {
        let line = GreengrassLogLine(
            timestamp: 5, level: .warn, thread: "th\nread", loggerName: "Log\rger", eventType: "ev\n",
            message: "first\nsecond\r\nthird", contexts: [.init("k\n", "v\r\n")])
        let text = line.renderText()
        #expect(!text.contains("\n") && !text.contains("\r"))
        #expect(text == "1970-01-01T00:00:00.005Z [WARN] (th\\nread) Log\\rger: ev\\n. first\\nsecond\\r\\nthird. {k\\n=v\\r\\n}")
        let parsed = try GreengrassLogLine(parsingText: text)
        #expect(parsed.message == "first\\nsecond\\r\\nthird")
        #expect(parsed.renderText() == text)
    }

    @Test("JSON rendering has the Java field order and Jackson escaping")
    func json() {
        let line = GreengrassLogLine(
            timestamp: 1_659_708_473_230, level: .info, thread: "Copier", loggerName: "com.example.Foo", eventType: "stdout",
            message: "say \"hi\"\\ \u{1}\t\n", contexts: [.init("scriptName", "services.com.example.Foo.lifecycle.Run"), .init("b", "é✓")])
        #expect(
            line.renderJSON()
                == #"{"thread":"Copier","level":"INFO","eventType":"stdout","message":"say \"hi\"\\ \u0001\t\n","contexts":{"scriptName":"services.com.example.Foo.lifecycle.Run","b":"é✓"},"loggerName":"com.example.Foo","timestamp":1659708473230,"cause":null}"#
        )
        let bare = GreengrassLogLine(timestamp: 0, level: .error, thread: "main", loggerName: "L")
        #expect(
            bare.renderJSON()
                == #"{"thread":"main","level":"ERROR","eventType":null,"message":null,"contexts":{},"loggerName":"L","timestamp":0,"cause":null}"#)
    }

    @Test("JSON escapes every control character and nothing else")
    func jsonControlCharacters() {
        for value in UInt32(0)..<0x80 {
            let scalar = Unicode.Scalar(value)!
            let json = GreengrassLogLine(timestamp: 0, level: .info, thread: String(Character(scalar)), loggerName: "L").renderJSON()
            let start = json.index(json.startIndex, offsetBy: #"{"thread":""#.count)
            let end = json.firstRange(of: #"","level""#)?.lowerBound ?? json.endIndex
            let encoded = String(json[start..<end])
            let expected: String =
                switch scalar {
                case "\"": "\\\""
                case "\\": "\\\\"
                case "\n": "\\n"
                case "\r": "\\r"
                case "\t": "\\t"
                case "\u{08}": "\\b"
                case "\u{0C}": "\\f"
                default:
                    value < 0x20 ? "\\u00" + (value < 0x10 ? "0" : "1") + String(value & 0xF, radix: 16, uppercase: true) : String(scalar)
                }
            #expect(encoded == expected, "U+\(String(value, radix: 16))")
        }
    }

    @Test("text round trip: parse(render(x)) == x for canonical events")
    func roundTrip() throws {
        let threads = ["main", "Copier", "pool-2-thread-45", "com.example.Foo-lifecycle", "thread with spaces"]
        let eventTypes: [String?] = [nil, "stdout", "service-set-state", "shell-runner-start"]
        let messages: [String?] = [
            nil, "hello world", "a: b", "ends with dot.", "has {braces} inside", "json {\"a\": {\"b\": [1, 2]}}",
            "dots... and . {fake=map}", "tabs\tand ünïcødé ✓", "unbalanced } brace", "unbalanced { brace",
            "x=y, z=w", "[INFO] (x) y: z",
        ]
        let contextSets: [[GreengrassLogContext]] = [
            [], [.init("serviceName", "com.example.Foo")],
            [.init("scriptName", "services.a.lifecycle.Run"), .init("serviceName", "a"), .init("currentState", "RUNNING")],
            [.init("command", "[\"sh -c 'echo 1, 2'\"]"), .init("exitCode", "-1")],
            [.init("map", "{a=1, b={c=2}}"), .init("empty", "")],
            [.init("commaValue", "one, two, three"), .init("k", "v")],
        ]
        var count = 0
        for thread in threads {
            for eventType in eventTypes {
                for message in messages {
                    for contexts in contextSets {
                        let line = GreengrassLogLine(
                            timestamp: 1_700_000_000_000 + Int64(count), level: GreengrassLogLevel.allCases[count % 5],
                            thread: thread, loggerName: "com.example.Logger", eventType: eventType, message: message,
                            contexts: contexts)
                        let text = line.renderText()
                        let parsed = try GreengrassLogLine(parsingText: text)
                        #expect(parsed == line, "\(text)")
                        #expect(parsed.renderText() == text)
                        count += 1
                    }
                }
            }
        }
        #expect(count == 5 * 4 * 12 * 6)
    }

    @Test("ambiguous bodies still re-render identically")
    func ambiguousBodies() throws {
        let cases: [(GreengrassLogLine, String?, String?)] = [
            // A message that looks like "eventType. message" parses as such; rendering is unchanged.
            (GreengrassLogLine(timestamp: 0, level: .info, thread: "t", loggerName: "L", message: "stdout. hello"), "stdout", "hello"),
            // A single-word message is read as an event type.
            (GreengrassLogLine(timestamp: 0, level: .info, thread: "t", loggerName: "L", message: "Started"), "Started", nil),
        ]
        for (line, eventType, message) in cases {
            let parsed = try GreengrassLogLine(parsingText: line.renderText())
            #expect(parsed.eventType == eventType)
            #expect(parsed.message == message)
            #expect(parsed.renderText() == line.renderText())
        }
    }

    @Test("lenient body: a line without a context map keeps its body as message")
    func noContextMap() throws {
        let parsed = try GreengrassLogLine(parsingText: "2022-08-05T14:07:53Z [INFO] (main) L: just a message\n")
        #expect(parsed.message == "just a message")
        #expect(parsed.eventType == nil)
        #expect(parsed.contexts.isEmpty)
        let unbalanced = try GreengrassLogLine(parsingText: "2022-08-05T14:07:53Z [INFO] (main) L: a msg. {a=}}")
        #expect(unbalanced.message == "a msg")
        #expect(unbalanced.contexts == [.init("a", "}")])
        let noEquals = try GreengrassLogLine(parsingText: "2022-08-05T14:07:53Z [INFO] (main) L: {orphan, k=v}")
        #expect(noEquals.contexts == [.init("orphan", ""), .init("k", "v")])
    }

    @Test(
        "header errors name what is wrong",
        arguments: [
            ("", GreengrassLogParseError.badTimestamp("")),
            ("hello world", .badTimestamp("hello")),
            ("2022-08-05T14:07:53Z", .missingLevel),
            ("2022-08-05T14:07:53Z INFO (main) L: {}", .missingLevel),
            ("2022-08-05T14:07:53Z [INFO", .missingLevel),
            ("2022-08-05T14:07:53Z [NOTICE] (main) L: {}", .unknownLevel("NOTICE")),
            ("2022-08-05T14:07:53Z [info] (main) L: {}", .unknownLevel("info")),
            ("2022-08-05T14:07:53Z [INFO] main L: {}", .missingThread),
            ("2022-08-05T14:07:53Z [INFO] (main L: {}", .missingThread),
            ("2022-08-05T14:07:53Z [INFO] (main) L {}", .missingLoggerName),
            ("\tat com.aws.greengrass.Foo.bar(Foo.java:42)", .badTimestamp("\tat")),
        ])
    func headerErrors(text: String, error: GreengrassLogParseError) {
        #expect(throws: error) { try GreengrassLogLine(parsingText: text) }
        #expect(!error.description.isEmpty)
    }

    @Test("garbage never crashes the parser")
    func garbage() {
        var state: UInt64 = 42
        let alphabet = Array("2022-08-05T14:07:53.230Z [INFO] (x) y: .{}=,\n\r\u{0}é".unicodeScalars)
        var parsedCount = 0
        for _ in 0..<3000 {
            var text = ""
            state = state &* 6_364_136_223_846_793_005 &+ 1
            let length = Int(state >> 58)
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1
                text.unicodeScalars.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            if (try? GreengrassLogLine(parsingText: "2022-08-05T14:07:53Z [INFO] (t) L: " + text)) != nil { parsedCount += 1 }
            _ = try? GreengrassLogLine(parsingText: text)
        }
        // Any body after a valid header is accepted (the body grammar is lenient).
        #expect(parsedCount == 3000)
    }

    @Test("level and config value parsing")
    func levels() {
        #expect(GreengrassLogLevel(configValue: "debug") == .debug)
        #expect(GreengrassLogLevel(configValue: "Warning") == .warn)
        #expect(GreengrassLogLevel(configValue: "WARN") == .warn)
        #expect(GreengrassLogLevel(configValue: "verbose") == nil)
        #expect(GreengrassLogLevel.allCases.sorted() == [.trace, .debug, .info, .warn, .error])
        #expect(LogLineFormat(configValue: "json") == .json)
        #expect(LogLineFormat(configValue: "xml") == nil)
        #expect(LogOutputType(configValue: "Console") == .console)
        #expect(LogOutputType(configValue: "syslog") == nil)
    }
}

import GreengrassLogFormat
import Testing

@Suite("GreengrassLogLine JSON parsing")
struct JSONParsingTests {
    static let sample = GreengrassLogLine(
        timestamp: 1_659_708_473_230, level: .warn, thread: "Copier", loggerName: "com.example.Foo", eventType: "stderr",
        message: "quote \" backslash \\ newline \n tab \t control \u{1} ünïcødé 😀",
        contexts: [.init("scriptName", "services.com.example.Foo.lifecycle.Run"), .init("serviceName", "com.example.Foo")])

    @Test("renderJSON and parsingJSON are inverse")
    func roundTrip() throws {
        var lines = [Self.sample, GreengrassLogLine(timestamp: 0, level: .trace, thread: "", loggerName: "")]
        for level in GreengrassLogLevel.allCases {
            lines.append(GreengrassLogLine(timestamp: -5, level: level, thread: "t", loggerName: "L", message: ""))
        }
        for line in lines {
            #expect(try GreengrassLogLine(parsingJSON: line.renderJSON()) == line)
            #expect(try GreengrassLogLine(parsingJSON: line.renderJSON() + "\n") == line)
        }
    }

    @Test("a Java-style line with a cause object, extra fields, whitespace and escapes")
    func javaStyle() throws {
        let text = """
             { "thread" : "main", "level":"ERROR", "eventType":null, "message":"deploy failed \\u00e9\\ud83d\\ude00\\/",
               "contexts":{"deploymentId":"abc","attempt":3,"nested":{"a":[1,true,null]}}, "loggerName":"com.aws.greengrass.Deployment",
               "timestamp":1659708473230, "cause":{"message":"boom","suppressed":[],"stackTrace":[{"line":1.5e3}],"cause":null}, "extra":false }
            """
        let line = try GreengrassLogLine(parsingJSON: text)
        #expect(line.level == .error)
        #expect(line.eventType == nil)
        #expect(line.message == "deploy failed é😀/")
        #expect(line.contexts == [.init("deploymentId", "abc"), .init("attempt", "3"), .init("nested", #"{"a":[1,true,null]}"#)])
        #expect(line.loggerName == "com.aws.greengrass.Deployment")
        #expect(line.timestamp == 1_659_708_473_230)
    }

    @Test(
        "malformed or mistyped JSON lines are rejected with a reason",
        arguments: [
            ("", "invalid"), ("not json", "invalid"), ("[]", "invalid"), ("{", "invalid"), (#"{"thread":"t""#, "invalid"),
            (#"{"thread":"t",}"#, "invalid"), (#"{"thread":"\x"}"#, "invalid"), (#"{"thread":"\u12"}"#, "invalid"),
            ("{\"thread\":\"a\u{1}b\"}", "invalid"), (#"{"a":01}"#, "invalid"), (#"{"a":1.}"#, "invalid"), (#"{"a":1e}"#, "invalid"),
            (#"{"a":-}"#, "invalid"), (#"{"a":tru}"#, "invalid"), (#"{} {}"#, "invalid"),
            (String(repeating: "[", count: 100_000), "invalid"),
            (#"{"level":"INFO","loggerName":"L","timestamp":1}"#, "thread"),
            (#"{"thread":"t","level":"NOTICE","loggerName":"L","timestamp":1}"#, "level"),
            (#"{"thread":"t","level":"INFO","loggerName":"L","timestamp":1.5}"#, "timestamp"),
            (#"{"thread":"t","level":"INFO","loggerName":"L","timestamp":"1"}"#, "timestamp"),
            (#"{"thread":"t","level":"INFO","loggerName":"L","timestamp":99999999999999999999}"#, "timestamp"),
            (#"{"thread":"t","level":"INFO","timestamp":1}"#, "loggerName"),
            (#"{"thread":"t","level":"INFO","loggerName":"L","timestamp":1,"message":5}"#, "message"),
            (#"{"thread":"t","level":"INFO","loggerName":"L","timestamp":1,"contexts":[]}"#, "contexts"),
        ])
    func rejects(text: String, field: String) {
        do {
            _ = try GreengrassLogLine(parsingJSON: text)
            Issue.record("accepted \(text.prefix(60))")
        } catch {
            switch error {
            case .invalidJSON(let reason): #expect(field == "invalid", "\(reason)")
            case .badJSONField(let name): #expect(name == field)
            default: Issue.record("unexpected \(error)")
            }
            #expect(error.description.contains("JSON"))
        }
    }

    @Test("lone surrogates become U+FFFD")
    func surrogates() throws {
        let text = #"{"thread":"\ud800x\udc00","level":"INFO","loggerName":"L","timestamp":1}"#
        #expect(try GreengrassLogLine(parsingJSON: text).thread == "\u{FFFD}x\u{FFFD}")
    }

    @Test("random mutations of a valid line never crash the parser")
    func mutations() {
        let valid = Array(Self.sample.renderJSON().utf8)
        var state: UInt64 = 7
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<3 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let index = Int(state >> 33) % bytes.count
                bytes[index] = UInt8(truncatingIfNeeded: state >> 13)
            }
            if (try? GreengrassLogLine(parsingJSON: String(decoding: bytes, as: UTF8.self))) != nil { accepted += 1 }
        }
        // Some mutations land inside string contents and still parse; most do not.
        #expect(accepted < 3000)
    }
}

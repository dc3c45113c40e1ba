import GreengrassJSON
import Testing

@Suite struct JSONParserTests {
    struct Valid: CustomTestStringConvertible, Sendable {
        let text: String
        let expected: JSONValue
        var testDescription: String { text }
    }

    static let valid: [Valid] = [
        Valid(text: "null", expected: .null),
        Valid(text: " true ", expected: true),
        Valid(text: "false", expected: false),
        Valid(text: "0", expected: .int(0)),
        Valid(text: "-0", expected: .int(0)),
        Valid(text: "42", expected: .int(42)),
        Valid(text: "-17", expected: .int(-17)),
        Valid(text: "9223372036854775807", expected: .int(Int.max)),
        Valid(text: "-9223372036854775808", expected: .int(Int.min)),
        Valid(text: "9223372036854775808", expected: .double(9_223_372_036_854_775_808.0)),
        Valid(text: "1.5", expected: .double(1.5)),
        Valid(text: "-0.25", expected: .double(-0.25)),
        Valid(text: "1e3", expected: .double(1000)),
        Valid(text: "1E+2", expected: .double(100)),
        Valid(text: "2.5e-1", expected: .double(0.25)),
        Valid(text: "\"\"", expected: ""),
        Valid(text: "\"abc\"", expected: "abc"),
        Valid(text: #""a\"b\\c\/d""#, expected: "a\"b\\c/d"),
        Valid(text: #""\b\f\n\r\t""#, expected: "\u{08}\u{0C}\n\r\t"),
        Valid(text: #""\u00e9\u00C9""#, expected: "éÉ"),
        Valid(text: #""\ud83d\ude00""#, expected: "😀"),
        Valid(text: "\"héllo 😀\"", expected: "héllo 😀"),
        Valid(text: "[]", expected: []),
        Valid(text: "[ 1 , \"a\" , null ]", expected: [1, "a", nil]),
        Valid(text: "{}", expected: [:]),
        Valid(text: "{\"a\":{\"b\":[true,{\"c\":1.25}]}}", expected: ["a": ["b": [true, ["c": 1.25]]]]),
        Valid(text: "{\"k\":1,\"k\":2}", expected: ["k": 2]),
        Valid(text: "\n\t{\r\n  \"x\" : [ ] }\n", expected: ["x": []]),
    ]

    @Test(arguments: valid)
    func parsesValidDocuments(_ example: Valid) throws {
        #expect(try JSONValue(parsing: example.text) == example.expected)
        #expect(try JSONValue(parsing: Array(example.text.utf8)) == example.expected)
    }

    @Test func byteOrderMarkIsIgnored() throws {
        #expect(try JSONValue(parsing: [0xEF, 0xBB, 0xBF] + Array("{\"a\":1}".utf8)) == ["a": 1])
        #expect(try JSONValue(parsing: "\u{FEFF} [true]") == [true])
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0xEF, 0xBB, 0xBF]) }
    }

    @Test func integersStayExact() throws {
        let value = try JSONValue(parsing: "[1234567890123, 1.0]")
        #expect(value[0] == .int(1_234_567_890_123))
        guard case .int = value[0] else {
            Issue.record("integer parsed as \(String(describing: value[0]))")
            return
        }
        guard case .double = value[1] else {
            Issue.record("1.0 parsed as \(String(describing: value[1]))")
            return
        }
    }

    struct Invalid: CustomTestStringConvertible, Sendable {
        let text: String
        let code: JSONParseError.Code
        let line: Int
        let column: Int
        var testDescription: String { text.debugDescription }
    }

    static let invalid: [Invalid] = [
        Invalid(text: "", code: .unexpectedEndOfInput, line: 1, column: 1),
        Invalid(text: "   ", code: .unexpectedEndOfInput, line: 1, column: 4),
        Invalid(text: "nul", code: .unexpectedEndOfInput, line: 1, column: 4),
        Invalid(text: "tru e", code: .unexpectedCharacter, line: 1, column: 1),
        Invalid(text: "{\"a\":1,}", code: .unexpectedCharacter, line: 1, column: 8),
        Invalid(text: "[1,]", code: .unexpectedCharacter, line: 1, column: 4),
        Invalid(text: "[1 2]", code: .unexpectedCharacter, line: 1, column: 4),
        Invalid(text: "{\n  \"a\": 1\n  \"b\": 2\n}", code: .unexpectedCharacter, line: 3, column: 3),
        Invalid(text: "{\"a\" 1}", code: .unexpectedCharacter, line: 1, column: 6),
        Invalid(text: "{a: 1}", code: .unexpectedCharacter, line: 1, column: 2),
        Invalid(text: "'a'", code: .unexpectedCharacter, line: 1, column: 1),
        Invalid(text: "01", code: .invalidNumber, line: 1, column: 1),
        Invalid(text: "-", code: .invalidNumber, line: 1, column: 1),
        Invalid(text: "1.", code: .invalidNumber, line: 1, column: 1),
        Invalid(text: "1e", code: .invalidNumber, line: 1, column: 1),
        Invalid(text: "+1", code: .unexpectedCharacter, line: 1, column: 1),
        Invalid(text: ".5", code: .unexpectedCharacter, line: 1, column: 1),
        Invalid(text: "1e999", code: .invalidNumber, line: 1, column: 1),
        Invalid(text: "NaN", code: .unexpectedCharacter, line: 1, column: 1),
        Invalid(text: "\"abc", code: .unexpectedEndOfInput, line: 1, column: 1),
        Invalid(text: "\"a\\qb\"", code: .invalidEscape, line: 1, column: 3),
        Invalid(text: "\"\\u12\"", code: .unexpectedEndOfInput, line: 1, column: 2),
        Invalid(text: "\"\\u12zz\"", code: .invalidEscape, line: 1, column: 2),
        Invalid(text: "\"\\ud800\"", code: .invalidEscape, line: 1, column: 2),
        Invalid(text: "\"\\udc00\"", code: .invalidEscape, line: 1, column: 2),
        Invalid(text: "\"a\nb\"", code: .controlCharacterInString, line: 1, column: 3),
        Invalid(text: "[1] x", code: .trailingContent, line: 1, column: 5),
        Invalid(text: "{} {}", code: .trailingContent, line: 1, column: 4),
        Invalid(text: "[\"é\", x]", code: .unexpectedCharacter, line: 1, column: 7),
    ]

    @Test(arguments: invalid)
    func rejectsMalformedDocumentsWithPosition(_ example: Invalid) {
        #expect {
            try JSONValue(parsing: example.text)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.code == example.code && error.line == example.line && error.column == example.column
        }
    }

    @Test func errorDescriptionNamesLineColumnAndReason() {
        do {
            _ = try JSONValue(parsing: "{\n  \"a\": 1\n  \"b\": 2\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "line 3, column 3: expected ',' or '}' after an object member, found '\"'")
        }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x22]
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: bytes) }
        do {
            _ = try JSONValue(parsing: bytes)
        } catch {
            #expect(error.code == .invalidUTF8)
        }
    }

    @Test func limitsNestingDepth() throws {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect {
            try JSONValue(parsing: deep)
        } throws: { error in
            (error as? JSONParseError)?.code == .nestingTooDeep
        }
        let options = JSONParsingOptions(maximumDepth: 1000)
        let value = try JSONValue(parsing: deep, options: options)
        #expect(value.arrayValue?.count == 1)
        let shallow = JSONParsingOptions(maximumDepth: 2)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: "[[[1]]]", options: shallow) }
        #expect(try JSONValue(parsing: "[[1]]", options: shallow) == [[1]])
    }

    @Test func limitsInputSize() {
        let options = JSONParsingOptions(maximumInputSize: 8)
        #expect {
            try JSONValue(parsing: "\"123456789\"", options: options)
        } throws: { error in
            (error as? JSONParseError)?.code == .inputTooLarge
        }
    }

    @Test func garbageNeverCrashes() {
        // Every prefix of a valid document is either valid or a typed error.
        let document = #"{"a":[1,2.5e3,"x\u00e9\n",{"b":null,"c":true}],"d":"😀"}"#
        let bytes = Array(document.utf8)
        var errors = 0
        for length in 0..<bytes.count {
            do {
                _ = try JSONValue(parsing: bytes[0..<length])
            } catch {
                errors += 1
            }
        }
        #expect(errors == bytes.count)  // no proper prefix of an object is a complete document
        #expect((try? JSONValue(parsing: bytes)) != nil)
    }
}

@Suite("one parser, two trees")
struct OrderedJSONValueTests {
    @Test func objectsKeepDocumentOrderAndRepeats() throws {
        let value = try OrderedJSONValue(parsing: #"{"z":1,"a":[true,null,"s",2.5],"z":{"k":"v"}}"#)
        guard case .object(let members) = value else {
            Issue.record("not an object: \(value)")
            return
        }
        #expect(members.map(\.key) == ["z", "a", "z"])
        #expect(value.firstMember("z") == .int(1))
        #expect(value.unordered == ["z": ["k": "v"], "a": [true, nil, "s", 2.5]])
    }

    @Test func sameGrammarAndLimitsAsJSONValue() {
        for text in ["{", #"{"a":01}"#, "[1,]", #""\x""#, String(repeating: "[", count: 600)] {
            let ordered = Result { () throws(JSONParseError) in try OrderedJSONValue(parsing: text) }
            let plain = Result { () throws(JSONParseError) in try JSONValue(parsing: text) }
            guard case .failure(let orderedError) = ordered, case .failure(let plainError) = plain else {
                Issue.record("accepted \(text.prefix(20))")
                continue
            }
            #expect(orderedError == plainError)
        }
    }

    @Test func parsesUTF8BytesAsItParsesText() throws {
        let text = #"﻿ {"z":1,"ü":["\u00e9",-2e3],"z":null} "#
        #expect(try OrderedJSONValue(parsing: Array(text.utf8)) == OrderedJSONValue(parsing: text))
        for bad in ["{", #"{"a":01}"#, "[1,]"] {
            let fromBytes = Result { () throws(JSONParseError) in try OrderedJSONValue(parsing: Array(bad.utf8)) }
            let fromText = Result { () throws(JSONParseError) in try OrderedJSONValue(parsing: bad) }
            guard case .failure(let bytesError) = fromBytes, case .failure(let textError) = fromText else {
                Issue.record("accepted \(bad)")
                continue
            }
            #expect(bytesError == textError)
        }
        let limited = JSONParsingOptions(maximumInputSize: 3)
        #expect(throws: JSONParseError.self) { try OrderedJSONValue(parsing: Array("[1,2]".utf8), options: limited) }
    }

    @Test func unpairedSurrogatesAreReplacedOnlyWhenAsked() throws {
        let text = #"["\ud800x\udc00","\ud83d\ude00","\ud800\u0041"]"#
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        let lenient = JSONParsingOptions(replacesUnpairedSurrogates: true)
        #expect(try JSONValue(parsing: text, options: lenient) == ["\u{FFFD}x\u{FFFD}", "😀", "\u{FFFD}A"])
    }
}

import Foundation
import GreengrassJSON
import Testing

@Suite struct JSONWriterTests {
    struct Example: CustomTestStringConvertible, Sendable {
        let value: JSONValue
        let compact: String
        var testDescription: String { compact }
    }

    static let examples: [Example] = [
        Example(value: nil, compact: "null"),
        Example(value: true, compact: "true"),
        Example(value: .int(-12), compact: "-12"),
        Example(value: .double(1.5), compact: "1.5"),
        Example(value: .double(1.0), compact: "1.0"),
        Example(value: .double(.infinity), compact: "null"),
        Example(value: "a\"b\\c/d", compact: #""a\"b\\c/d""#),
        Example(value: "\u{01}\u{08}\u{0C}\n\r\t\u{1F}", compact: #""\u0001\b\f\n\r\t\u001F""#),
        Example(value: "é😀", compact: "\"é😀\""),
        Example(value: [], compact: "[]"),
        Example(value: [:], compact: "{}"),
        Example(value: [1, "two", nil, [false]], compact: #"[1,"two",null,[false]]"#),
        Example(value: ["b": 1, "a": ["d": 2, "c": 3], "B": 0], compact: #"{"B":0,"a":{"c":3,"d":2},"b":1}"#),
        // Java's compareTo orders by UTF-16 code units: U+1F600 (surrogates D83D DE00) sorts before
        // U+FF5E, although its scalar value is larger.
        Example(value: ["😀": 1, "～": 2], compact: #"{"😀":1,"～":2}"#),
        Example(value: ["\u{E000}": 1, "😀": 2, "\u{D7FF}": 3, "é": 4, "z": 5, "": 6, "zz": 7],
                compact: "{\"\":6,\"z\":5,\"zz\":7,\"é\":4,\"\u{D7FF}\":3,\"😀\":2,\"\u{E000}\":1}"),
    ]

    @Test(arguments: examples)
    func compactSerializationSortsKeys(_ example: Example) throws {
        #expect(example.value.serialized() == example.compact)
        #expect(example.value.description == example.compact)
        #expect(String(decoding: example.value.serializedBytes(), as: UTF8.self) == example.compact)
        if example.value != .double(.infinity) {
            #expect(try JSONValue(parsing: example.compact) == example.value)
        }
    }

    @Test func prettySerialization() {
        let value: JSONValue = ["b": [1, 2], "a": [:], "c": ["x": nil]]
        let expected = """
            {
              "a": {},
              "b": [
                1,
                2
              ],
              "c": {
                "x": null
              }
            }
            """
        #expect(value.serialized(.pretty) == expected)
    }

    @Test func plainTextRendersLikeGreengrassInterpolation() {
        #expect(JSONValue.string("hello world").plainText == "hello world")
        #expect(JSONValue.int(5).plainText == "5")
        #expect(JSONValue.double(2.5).plainText == "2.5")
        #expect(JSONValue.bool(false).plainText == "false")
        #expect(JSONValue.null.plainText == "null")
        #expect((["z": 1, "a": ["q", 2]] as JSONValue).plainText == #"{"a":["q",2],"z":1}"#)
    }

    @Test func codableRoundTripKeepsIntegersExact() throws {
        let value: JSONValue = ["count": 9_007_199_254_740_993, "ratio": 0.5, "ok": true, "none": nil,
                                "list": ["a", 1], "nested": ["x": [:]]]
        let data = try JSONEncoder().encode(value)
        let decoded = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(decoded == value)
        #expect(decoded["count"] == .int(9_007_199_254_740_993))
        // And our parser reads Foundation's output.
        #expect(try JSONValue(parsing: data) == value)
    }
}

@Suite("the one string escaper")
struct JSONStringLiteralTests {
    @Test(arguments: [
        ("plain", #""plain""#), ("a/b é 😀", #""a/b é 😀""#), ("\"\\", #""\"\\""#),
        ("\u{08}\u{0C}\n\r\t", #""\b\f\n\r\t""#), ("\u{0}\u{1F}\u{7F}", "\"\\u0000\\u001F\u{7F}\""),
    ])
    func escapesLikeJackson(text: String, literal: String) throws {
        #expect(JSONStringLiteral.quoted(text) == literal)
        var bytes: [UInt8] = []
        JSONStringLiteral.append(text, to: &bytes)
        #expect(bytes == Array(literal.utf8))
        #expect(JSONStringLiteral.needsEscaping(text) == (literal != "\"\(text)\""))
        #expect(try JSONValue(parsing: literal) == .string(text))
    }
}

import Foundation
import GreengrassJSON
import Testing

/// Shapes exercising every container and value kind the coders support.
private struct Inner: Codable, Equatable {
    var name: String
    var weight: Double?
}

private enum Colour: String, Codable, CaseIterable { case red = "RED", green = "GREEN" }
private enum Level: Int, Codable { case low = 1, high = 2 }

private struct Everything: Codable, Equatable {
    var text: String
    var flag: Bool
    var int: Int
    var int8: Int8
    var int16: Int16
    var int32: Int32
    var int64: Int64
    var uint: UInt
    var uint8: UInt8
    var uint16: UInt16
    var uint32: UInt32
    var uint64: UInt64
    var double: Double
    var float: Float
    var optionalText: String?
    var colour: Colour
    var level: Level
    var blob: Data
    var optionalBlob: Data?
    var list: [Inner]
    var optionals: [Int?]
    var nested: [[String: [Int]]]
    var map: [String: Inner]
    var document: JSONValue
    var optionalDocument: JSONValue?

    static let sample = Everything(
        text: "tab\t \"quoted\" /slash é 😀", flag: true, int: -42, int8: -8, int16: 16, int32: -32, int64: 9_007_199_254_740_993,
        uint: 7, uint8: 255, uint16: 65_535, uint32: 4_000_000_000, uint64: 18, double: 0.1, float: 0.1, optionalText: nil,
        colour: .green, level: .high, blob: Data([0, 1, 2, 250, 255]), optionalBlob: Data(), list: [Inner(name: "a", weight: 1.5), Inner(name: "b")],
        optionals: [1, nil, 3], nested: [["x": [1, 2]], [:]], map: ["k": Inner(name: "c", weight: 2)],
        document: ["a": [1, 2.5, "s", nil, true], "b": [:]], optionalDocument: ["k": nil])
}

/// A hand-written `Codable` using nested containers and `superEncoder`/`superDecoder`.
private struct HandWritten: Codable, Equatable {
    var id: Int
    var point: (x: Int, y: Int)
    var tags: [String]
    var parent: Inner

    enum Keys: String, CodingKey { case id, point, tags, x, y }

    init(id: Int, point: (x: Int, y: Int), tags: [String], parent: Inner) {
        self.id = id
        self.point = point
        self.tags = tags
        self.parent = parent
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        id = try container.decode(Int.self, forKey: .id)
        let point = try container.nestedContainer(keyedBy: Keys.self, forKey: .point)
        self.point = (try point.decode(Int.self, forKey: .x), try point.decode(Int.self, forKey: .y))
        var tags = try container.nestedUnkeyedContainer(forKey: .tags)
        var collected: [String] = []
        while !tags.isAtEnd { collected.append(try tags.decode(String.self)) }
        self.tags = collected
        parent = try Inner(from: try container.superDecoder())
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(id, forKey: .id)
        var point = container.nestedContainer(keyedBy: Keys.self, forKey: .point)
        try point.encode(self.point.x, forKey: .x)
        try point.encode(self.point.y, forKey: .y)
        var tags = container.nestedUnkeyedContainer(forKey: .tags)
        for tag in self.tags { try tags.encode(tag) }
        try parent.encode(to: container.superEncoder())
    }

    static func == (lhs: HandWritten, rhs: HandWritten) -> Bool {
        lhs.id == rhs.id && lhs.point == rhs.point && lhs.tags == rhs.tags && lhs.parent == rhs.parent
    }
}

@Suite("JSONValueDecoder and JSONValueEncoder")
struct JSONCoderTests {
    let encoder = JSONValueEncoder()
    let decoder = JSONValueDecoder()

    @Test func everyKindOfValueRoundTrips() throws {
        let bytes = try encoder.encode(Everything.sample)
        #expect(try decoder.decode(Everything.self, from: bytes) == Everything.sample)
        let pretty = try JSONValueEncoder(layout: .pretty).encode(Everything.sample)
        #expect(try decoder.decode(Everything.self, from: pretty) == Everything.sample)
    }

    @Test func theWireFormIsFoundationsDefault() throws {
        let text = try encoder.encodeToString(Everything.sample)
        let tree = try JSONValue(parsing: text)
        #expect(tree["blob"] == "AAEC+v8=")  // Data as base64
        #expect(tree["optionalBlob"] == "")
        #expect(tree["optionalText"] == nil)  // nil optional: absent, not null
        #expect(tree["optionalDocument"] == ["k": nil])
        #expect(tree["optionals"] == [1, nil, 3])
        #expect(tree["colour"] == "GREEN")
        #expect(tree["level"] == 2)
        #expect(text.contains(#""int64":9007199254740993"#))  // integers stay exact integers
        #expect(text.contains(#""double":0.1,"#))
        #expect(text.contains(#""float":0.1,"#))  // the Float's own digits
        #expect(text.contains(#"/slash"#))  // no `\/`
        // Foundation reads our output to the same value, and we read Foundation's.
        #expect(try JSONDecoder().decode(Everything.self, from: Data(text.utf8)) == Everything.sample)
        #expect(try decoder.decode(Everything.self, from: Data(try JSONEncoder().encode(Everything.sample))) == Everything.sample)
    }

    @Test func outputIsCompactWithSortedKeys() throws {
        #expect(try encoder.encodeToString(Inner(name: "n", weight: 2)) == #"{"name":"n","weight":2.0}"#)
        #expect(try encoder.encodeToString(["b": 1, "a": 2, "é": 3, "Z": 4]) == #"{"Z":4,"a":2,"b":1,"é":3}"#)
        #expect(try JSONValueEncoder(layout: .pretty).encodeToString(Inner(name: "n")) == "{\n  \"name\": \"n\"\n}")
        #expect(try encoder.encodeToString([Inner]()) == "[]")
        #expect(try encoder.encodeToString("top\u{1}") == #""top\u0001""#)
    }

    @Test func nestedContainersAndSuperCodersRoundTrip() throws {
        let value = HandWritten(id: 3, point: (x: -1, y: 2), tags: ["a", "b"], parent: Inner(name: "p", weight: 0.5))
        let text = try encoder.encodeToString(value)
        #expect(text == #"{"id":3,"point":{"x":-1,"y":2},"super":{"name":"p","weight":0.5},"tags":["a","b"]}"#)
        #expect(try decoder.decode(HandWritten.self, from: text) == value)
    }

    @Test func nullAndAbsentAreBothNilForOptionals() throws {
        #expect(try decoder.decode(Inner.self, from: #"{"name":"x"}"#) == Inner(name: "x"))
        #expect(try decoder.decode(Inner.self, from: #"{"name":"x","weight":null}"#) == Inner(name: "x"))
        #expect(try decoder.decode([Int?].self, from: "[null,1]") == [nil, 1])
        #expect(try decoder.decode(JSONValue?.self, from: "null") == nil)
        // As with Foundation, an optional JSONValue member that is null reads as nil (absent), not as .null.
        struct Holder: Codable, Equatable { var value: JSONValue? }
        #expect(try decoder.decode(Holder.self, from: #"{"value":null}"#) == Holder(value: nil))
        // Unknown members are ignored.
        #expect(try decoder.decode(Inner.self, from: #"{"name":"x","other":[1,{}]}"#) == Inner(name: "x"))
    }

    @Test func numbersDecodeExactlyOrNotAtAll() throws {
        #expect(try decoder.decode(Int.self, from: "3.0") == 3)
        #expect(try decoder.decode(Int64.self, from: "-9223372036854775808") == Int64.min)
        #expect(try decoder.decode(UInt8.self, from: "255") == 255)
        #expect(try decoder.decode(Double.self, from: "7") == 7)
        #expect(try decoder.decode(Double.self, from: "1e-320") == Double("1e-320"))
        for (text, type) in [("3.5", Int.self), ("1e300", Int.self), ("9223372036854775808", Int.self)] as [(String, any Decodable.Type)] {
            #expect(throws: DecodingError.self, "\(text)") { try decoder.decode(type, from: text) }
        }
        #expect(throws: DecodingError.self) { try decoder.decode(UInt8.self, from: "256") }
        #expect(throws: DecodingError.self) { try decoder.decode(UInt.self, from: "-1") }
        #expect(throws: DecodingError.self) { try decoder.decode(Float.self, from: "1e300") }
        // Doubles round-trip bit for bit.
        for number in [0.1, 1.0 / 3.0, 1e-300, Double.greatestFiniteMagnitude, -0.0, Double.leastNonzeroMagnitude, 123456789.123456789] {
            let back = try decoder.decode(Double.self, from: try encoder.encode(number))
            #expect(back == number && back.sign == number.sign, "\(number)")
        }
    }

    @Test func valuesJSONCannotHoldAreRefused() {
        #expect(throws: EncodingError.self) { try encoder.encode(Double.nan) }
        #expect(throws: EncodingError.self) { try encoder.encode([Float.infinity]) }
        #expect(throws: EncodingError.self) { try encoder.encode(UInt64.max) }
        #expect((try? encoder.encode(UInt64(Int.max))) == Array("9223372036854775807".utf8))
    }

    @Test func errorsNameTheKeyPath() throws {
        let cases: [(String, String)] = [
            (#"{"name":5}"#, "name: Expected a string but found integer."),
            (#"{"weight":1}"#, #"No value associated with key "name"."#),
            (#"[{"name":"a"},{"name":"b","weight":"heavy"}]"#, "[1].weight: Expected a number but found string."),
            (#"[{"name":null}]"#, "[0].name: Expected a string but found null."),
        ]
        for (text, expected) in cases {
            let error = try #require(throws: DecodingError.self) { try decoder.decode([Inner].self, from: text.hasPrefix("[") ? text : "[\(text)]") }
            #expect(error.jsonSummary.hasSuffix(expected), "\(error.jsonSummary)")
        }
        let data = try #require(throws: DecodingError.self) { try decoder.decode(Data.self, from: #""not base64!""#) }
        #expect(data.jsonSummary == "Encountered Data is not valid Base64.")
        let colour = try #require(throws: DecodingError.self) { try decoder.decode([String: Colour].self, from: #"{"c":"BLUE"}"#) }
        #expect(colour.jsonSummary.hasPrefix("c: "))
    }

    @Test func syntaxErrorsGiveLineColumnAndByte() throws {
        let error = try #require(throws: DecodingError.self) { try decoder.decode(Inner.self, from: "{\n  \"name\": tru\n}") }
        guard case .dataCorrupted(let context) = error else {
            Issue.record("expected dataCorrupted, got \(error)")
            return
        }
        #expect(context.debugDescription == "The given data was not valid JSON: line 2, column 11: expected a value, found 't' (byte 12)")
        #expect((context.underlyingError as? JSONParseError)?.code == .unexpectedCharacter)
    }

    @Test func hostileInputIsRefusedByTheParsersLimits() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let nesting = try #require(throws: DecodingError.self) { try decoder.decode(JSONValue.self, from: deep) }
        #expect((nesting.underlying)?.code == .nestingTooDeep)
        let small = JSONValueDecoder(parsingOptions: JSONParsingOptions(maximumInputSize: 16))
        let large = try #require(throws: DecodingError.self) { try small.decode(Inner.self, from: #"{"name":"0123456789abcdef"}"#) }
        #expect(large.underlying?.code == .inputTooLarge)
        let huge = try #require(throws: DecodingError.self) { try decoder.decode(Double.self, from: "1e999") }
        #expect(huge.underlying?.code == .invalidNumber)
        // A huge integer is a double, which an Int refuses rather than wraps.
        #expect(throws: DecodingError.self) { try decoder.decode(Int.self, from: String(repeating: "9", count: 400)) }
        let utf8 = try #require(throws: DecodingError.self) {
            try decoder.decode(Inner.self, from: Array(#"{"name":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))
        }
        #expect(utf8.underlying?.code == .invalidUTF8)
        #expect(throws: DecodingError.self) { try decoder.decode(Inner.self, from: #"{"name":"\ud800"}"#) }
        #expect(throws: DecodingError.self) { try decoder.decode(Inner.self, from: "") }
    }

    @Test func aRepeatedMemberNameTakesTheLastValue() throws {
        #expect(try decoder.decode(Inner.self, from: #"{"name":"first","name":"last"}"#) == Inner(name: "last"))
    }

    @Test func jsonValueMembersAreTheParsedValueItself() throws {
        struct Holder: Codable, Equatable { var value: JSONValue }
        // 2^53 + 1 survives (a Double on the way would round it), as do integral doubles and empty containers.
        let text = #"{"value":{"big":9007199254740993,"real":2.0,"list":[],"map":{}}}"#
        let holder = try decoder.decode(Holder.self, from: text)
        #expect(holder.value["big"] == .int(9_007_199_254_740_993))
        if case .double(let real)? = holder.value["real"] { #expect(real == 2.0) } else { Issue.record("2.0 is not a double") }
        #expect(try encoder.encodeToString(holder) == #"{"value":{"big":9007199254740993,"list":[],"map":{},"real":2.0}}"#)
        // Another decoder (Foundation's) still decodes a JSONValue, by trying each kind in turn.
        #expect(try JSONDecoder().decode(Holder.self, from: Data(text.utf8)) == holder)
    }

    @Test func anEmptyShapeIsAnEmptyObject() throws {
        struct Empty: Codable {}
        #expect(try encoder.encodeToString(Empty()) == "{}")
        _ = try decoder.decode(Empty.self, from: "{}")
    }
}

extension DecodingError {
    /// The parser's error behind a `dataCorrupted`, if any.
    fileprivate var underlying: JSONParseError? {
        if case .dataCorrupted(let context) = self { return context.underlyingError as? JSONParseError }
        return nil
    }
}

import GreengrassJSON
import Testing

@Suite struct JSONValueTests {
    @Test func numbersCompareNumerically() {
        #expect(JSONValue.int(1) == JSONValue.double(1.0))
        #expect(JSONValue.double(1.0) == JSONValue.int(1))
        #expect(JSONValue.int(1) != JSONValue.double(1.5))
        #expect(JSONValue.int(1) != JSONValue.string("1"))
        #expect(JSONValue.bool(true) != JSONValue.int(1))
        #expect(JSONValue.double(1e300) != JSONValue.int(Int.max))
        var set = Set<JSONValue>()
        set.insert(.int(3))
        set.insert(.double(3.0))
        set.insert(.double(3.5))
        #expect(set.count == 2)
    }

    @Test func accessors() {
        let value: JSONValue = ["s": "x", "i": 3, "d": 2.0, "f": 2.5, "b": true, "n": nil, "a": [1], "o": ["k": 1]]
        #expect(value["s"]?.stringValue == "x")
        #expect(value["i"]?.intValue == 3)
        #expect(value["d"]?.intValue == 2)
        #expect(value["f"]?.intValue == nil)
        #expect(value["f"]?.doubleValue == 2.5)
        #expect(value["i"]?.doubleValue == 3.0)
        #expect(value["b"]?.boolValue == true)
        #expect(value["n"]?.isNull == true)
        #expect(value["a"]?.arrayValue == [1])
        #expect(value["a"]?[0] == 1)
        #expect(value["a"]?[1] == nil)
        #expect(value["a"]?[-1] == nil)
        #expect(value["o"]?.objectValue == ["k": 1])
        #expect(value["missing"] == nil)
        #expect(JSONValue.int(1)["k"] == nil)
        let kinds = [value["n"], value["b"], value["i"], value["f"], value["s"], value["a"], value["o"]].map { $0?.kindName }
        #expect(kinds == ["null", "boolean", "integer", "number", "string", "array", "object"])
        #expect(value["o"]?.isContainer == true)
        #expect(value["s"]?.isContainer == false)
    }

    @Test func keySubscriptSetter() {
        var value: JSONValue = ["a": 1]
        value["b"] = "x"
        value["a"] = nil
        #expect(value == ["b": "x"])
        var scalar: JSONValue = 5
        scalar["k"] = true
        #expect(scalar == ["k": true])
    }

    // MARK: Merge

    struct MergeCase: Sendable, CustomTestStringConvertible {
        let base: JSONValue
        let other: JSONValue
        let expected: JSONValue
        var testDescription: String { "\(base) + \(other)" }
    }

    static let merges: [MergeCase] = [
        MergeCase(base: ["a": 1], other: ["b": 2], expected: ["a": 1, "b": 2]),
        MergeCase(base: ["a": 1], other: ["a": 2], expected: ["a": 2]),
        MergeCase(base: ["a": ["x": 1, "y": 2]], other: ["a": ["y": 3, "z": 4]], expected: ["a": ["x": 1, "y": 3, "z": 4]]),
        MergeCase(base: ["a": [1, 2]], other: ["a": [3]], expected: ["a": [3]]),
        MergeCase(base: ["a": ["x": 1]], other: ["a": "flat"], expected: ["a": "flat"]),
        MergeCase(base: ["a": "flat"], other: ["a": ["x": 1]], expected: ["a": ["x": 1]]),
        MergeCase(base: ["a": 1], other: ["a": nil], expected: ["a": nil]),
        MergeCase(base: 5, other: ["a": 1], expected: ["a": 1]),
        MergeCase(base: ["a": 1], other: 7, expected: 7),
        MergeCase(base: [:], other: [:], expected: [:]),
    ]

    @Test(arguments: merges)
    func deepMerge(_ example: MergeCase) {
        #expect(example.base.merging(example.other) == example.expected)
        var copy = example.base
        copy.merge(example.other)
        #expect(copy == example.expected)
    }
}

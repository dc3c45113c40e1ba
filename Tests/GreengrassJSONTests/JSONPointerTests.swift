import GreengrassJSON
import Testing

@Suite struct JSONPointerTests {
    // The RFC 6901 section 5 example document.
    static let document: JSONValue = [
        "foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8,
    ]

    struct Lookup: Sendable, CustomTestStringConvertible {
        let pointer: String
        let expected: JSONValue?
        var testDescription: String { pointer.debugDescription }
    }

    static let lookups: [Lookup] = [
        Lookup(pointer: "", expected: document),
        Lookup(pointer: "/foo", expected: ["bar", "baz"]),
        Lookup(pointer: "/foo/0", expected: "bar"),
        Lookup(pointer: "/foo/1", expected: "baz"),
        Lookup(pointer: "/foo/2", expected: nil),
        Lookup(pointer: "/foo/01", expected: nil),
        Lookup(pointer: "/foo/-", expected: nil),
        Lookup(pointer: "/", expected: 0),
        Lookup(pointer: "/a~1b", expected: 1),
        Lookup(pointer: "/c%d", expected: 2),
        Lookup(pointer: "/e^f", expected: 3),
        Lookup(pointer: "/g|h", expected: 4),
        Lookup(pointer: "/i\\j", expected: 5),
        Lookup(pointer: "/k\"l", expected: 6),
        Lookup(pointer: "/ ", expected: 7),
        Lookup(pointer: "/m~0n", expected: 8),
        Lookup(pointer: "/missing", expected: nil),
        Lookup(pointer: "/foo/0/deeper", expected: nil),
        Lookup(pointer: "no-slash", expected: nil),
        Lookup(pointer: "/bad~2escape", expected: nil),
    ]

    @Test(arguments: lookups)
    func lookupFollowsRFC6901(_ example: Lookup) {
        #expect(Self.document.value(atPointer: example.pointer) == example.expected)
        if let pointer = try? JSONPointer(example.pointer) {
            #expect(Self.document[pointer] == example.expected)
        }
    }

    @Test(arguments: ["", "/foo", "/foo/0", "/", "/a~1b", "/m~0n", "/~0~1/x//y"])
    func textRoundTrips(_ text: String) throws {
        #expect(try JSONPointer(text).description == text)
    }

    @Test func parsesTokensAndRejectsBadSyntax() throws {
        #expect(try JSONPointer("/a~1b/~0/c").tokens == ["a/b", "~", "c"])
        #expect(try JSONPointer("/~01").tokens == ["~1"])
        for bad in ["a", "/~", "/x~y", "/~2"] {
            #expect(throws: JSONPointerError.self) { try JSONPointer(bad) }
        }
        #expect(JSONPointer.root.parent == nil)
        #expect(try JSONPointer("/a/b").parent == JSONPointer(tokens: ["a"]))
        #expect(JSONPointer.root.appending("x/y").description == "/x~1y")
    }

    struct SetCase: Sendable, CustomTestStringConvertible {
        let start: JSONValue
        let pointer: String
        let value: JSONValue
        let create: Bool
        let expected: JSONValue?  // nil = must throw
        let code: JSONPointerError.Code?
        var testDescription: String { "\(start) \(pointer) = \(value)" }
    }

    static let sets: [SetCase] = [
        SetCase(start: [:], pointer: "", value: 5, create: true, expected: 5, code: nil),
        SetCase(start: [:], pointer: "/a", value: 1, create: false, expected: ["a": 1], code: nil),
        SetCase(start: ["a": 1], pointer: "/a", value: 2, create: false, expected: ["a": 2], code: nil),
        SetCase(start: [:], pointer: "/a/b/c", value: 1, create: true, expected: ["a": ["b": ["c": 1]]], code: nil),
        SetCase(start: [:], pointer: "/a/b", value: 1, create: false, expected: nil, code: .notFound),
        SetCase(start: ["a": 1], pointer: "/a/b", value: 1, create: true, expected: nil, code: .notAContainer),
        SetCase(start: ["l": [1, 2]], pointer: "/l/0", value: 9, create: false, expected: ["l": [9, 2]], code: nil),
        SetCase(start: ["l": [1, 2]], pointer: "/l/2", value: 9, create: false, expected: ["l": [1, 2, 9]], code: nil),
        SetCase(start: ["l": [1, 2]], pointer: "/l/-", value: 9, create: false, expected: ["l": [1, 2, 9]], code: nil),
        SetCase(start: ["l": [1, 2]], pointer: "/l/3", value: 9, create: true, expected: nil, code: .invalidArrayIndex),
        SetCase(start: ["l": [1, 2]], pointer: "/l/x", value: 9, create: true, expected: nil, code: .invalidArrayIndex),
        SetCase(start: ["l": [1, ["k": 0]]], pointer: "/l/1/k", value: 9, create: false, expected: ["l": [1, ["k": 9]]], code: nil),
        SetCase(start: ["l": []], pointer: "/l/-/k", value: 9, create: true, expected: ["l": [["k": 9]]], code: nil),
        SetCase(start: ["l": []], pointer: "/l/-/k", value: 9, create: false, expected: nil, code: .notFound),
    ]

    @Test(arguments: sets)
    func setValue(_ example: SetCase) throws {
        var value = example.start
        let pointer = try JSONPointer(example.pointer)
        if let expected = example.expected {
            try value.setValue(example.value, at: pointer, createIntermediates: example.create)
            #expect(value == expected)
        } else {
            #expect {
                try value.setValue(example.value, at: pointer, createIntermediates: example.create)
            } throws: { error in
                (error as? JSONPointerError)?.code == example.code
            }
            #expect(value == example.start, "a failed set must not change the value")
        }
    }

    struct RemoveCase: Sendable, CustomTestStringConvertible {
        let start: JSONValue
        let pointer: String
        let removed: JSONValue?
        let after: JSONValue
        var testDescription: String { "\(start) - \(pointer)" }
    }

    static let removals: [RemoveCase] = [
        RemoveCase(start: ["a": 1, "b": 2], pointer: "/a", removed: 1, after: ["b": 2]),
        RemoveCase(start: ["a": ["x": 1, "y": 2]], pointer: "/a/x", removed: 1, after: ["a": ["y": 2]]),
        RemoveCase(start: ["l": [1, 2, 3]], pointer: "/l/1", removed: 2, after: ["l": [1, 3]]),
        RemoveCase(start: ["l": [["k": 1]]], pointer: "/l/0/k", removed: 1, after: ["l": [[:]]]),
        RemoveCase(start: ["a": 1], pointer: "/missing", removed: nil, after: ["a": 1]),
        RemoveCase(start: ["a": 1], pointer: "/a/deeper", removed: nil, after: ["a": 1]),
        RemoveCase(start: ["l": [1]], pointer: "/l/5", removed: nil, after: ["l": [1]]),
        RemoveCase(start: ["a": 1], pointer: "", removed: ["a": 1], after: nil),
    ]

    @Test(arguments: removals)
    func removeValue(_ example: RemoveCase) throws {
        var value = example.start
        let removed = value.removeValue(at: try JSONPointer(example.pointer))
        #expect(removed == example.removed)
        #expect(value == example.after)
    }

    @Test func errorDescriptionNamesPointer() {
        var value: JSONValue = ["a": 1]
        do {
            try value.setValue(1, at: JSONPointer(tokens: ["a", "b"]))
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "JSON pointer \"/a/b\": cannot descend into a integer at \"b\"")
        }
    }
}

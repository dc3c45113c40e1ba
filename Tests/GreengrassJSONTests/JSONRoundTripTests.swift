import GreengrassJSON
import GreengrassTestSupport
import Testing


@Suite struct JSONRoundTripTests {
    static let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "é", "😀", "~", "{", "}"]

    static func randomString(_ rng: inout SplitMix64) -> String {
        String((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng) ?? "a" })
    }

    static func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int.random(in: Int.min...Int.max, using: &rng) >> Int.random(in: 0...63, using: &rng))
        case 3: return .double(Double.random(in: -1e12...1e12, using: &rng))
        case 4: return .string(randomString(&rng))
        case 5: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &rng) { members[randomString(&rng)] = randomValue(&rng, depth: depth + 1) }
            return .object(members)
        }
    }

    @Test func serializeThenParseIsIdentity() throws {
        var rng = SplitMix64(state: 42)
        for _ in 0..<500 {
            let value = Self.randomValue(&rng, depth: 0)
            let compact = value.serialized()
            #expect(try JSONValue(parsing: compact) == value, "\(compact)")
            #expect(try JSONValue(parsing: value.serialized(.pretty)) == value)
            // Sorted keys make the text canonical.
            #expect(try JSONValue(parsing: compact).serialized() == compact)
        }
    }

    @Test func pointerSetThenGetAndRemove() throws {
        var rng = SplitMix64(state: 7)
        for _ in 0..<300 {
            var document: JSONValue = [:]
            var written: [JSONPointer: JSONValue] = [:]
            for _ in 0..<5 {
                let tokens = (0..<Int.random(in: 1...3, using: &rng)).map { _ in ["a", "b", "c/d", "e~f"].randomElement(using: &rng) ?? "a" }
                let pointer = JSONPointer(tokens: tokens)
                let value = Self.randomValue(&rng, depth: 3)
                do {
                    try document.setValue(value, at: pointer)
                    #expect(document.value(at: pointer) == value)
                    #expect(try JSONPointer(pointer.description) == pointer)
                    written[pointer] = value
                } catch {
                    // Only descending into a scalar or array written earlier can fail.
                    #expect(error.code == .notAContainer || error.code == .invalidArrayIndex)
                }
            }
            for pointer in written.keys {
                var copy = document
                let current = copy.value(at: pointer)
                #expect(copy.removeValue(at: pointer) == current)
                #expect(copy.value(at: pointer) == nil)
            }
        }
    }

    @Test func largeDocumentRoundTrips() throws {
        var members: [String: JSONValue] = [:]
        for index in 0..<20_000 {
            members["key\(index)"] = ["n": .int(index), "s": .string("value \(index) é"), "l": [1.5, nil, true]]
        }
        let value = JSONValue.object(members)
        let bytes = value.serializedBytes()
        #expect(bytes.count > 1_000_000)
        let parsed = try JSONValue(parsing: bytes)
        #expect(parsed == value)
        #expect(parsed["key19999"]?["n"] == 19_999)
    }

    @Test func randomBytesNeverCrashTheParser() {
        var rng = SplitMix64(state: 99)
        let seed = Array(#"{"a":[1,-2.5e3,"x\u00e9\n",{"b":null,"c":true}],"d":"😀"}"#.utf8)
        var parsedCount = 0
        for _ in 0..<2_000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            if (try? JSONValue(parsing: bytes)) != nil { parsedCount += 1 }
        }
        // Some mutations stay valid (inside strings), most do not; neither crashes.
        #expect(parsedCount > 0 && parsedCount < 2_000)
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decodes `Decodable` values from JSON text through ``JSONValue``: the one JSON reader of the nucleus and the CLI.
///
/// It reads what Foundation's JSON decoder with default strategies reads, so existing `Codable` shapes keep their
/// wire format: member names as declared (or as their `CodingKeys` say), `Data` as a base64 string, an optional
/// member may be absent or `null`, unknown members are ignored, integers must be exact and in range (`1.0` is an
/// acceptable `Int`, `1.5` is not). Differences, on purpose:
/// - The text is parsed by ``JSONValue/init(parsing:options:)``, with its limits (nesting depth, input size); a
///   syntax error is a `DecodingError.dataCorrupted` whose description gives line, column and byte offset, and
///   whose underlying error is the ``JSONParseError``.
/// - A repeated member name: the last one wins (the parser's rule, as Jackson).
/// - A ``JSONValue`` member is handed the parsed value as is, not rebuilt by trial decoding.
public struct JSONValueDecoder: Sendable {
    /// Limits applied to the text.
    public var parsingOptions: JSONParsingOptions

    public init(parsingOptions: JSONParsingOptions = .default) {
        self.parsingOptions = parsingOptions
    }

    /// Decodes a `Type` from UTF-8 JSON `bytes`.
    public func decode<Value: Decodable>(_ type: Value.Type, from bytes: some Collection<UInt8>) throws -> Value {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: bytes, options: parsingOptions)
        } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: [],
                debugDescription: "The given data was not valid JSON: \(error) (byte \(error.offset))",
                underlyingError: error))
        }
        return try decode(type, from: document)
    }

    /// Decodes a `Type` from JSON text.
    public func decode<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        try decode(type, from: Array(text.utf8))
    }

    /// Decodes a `Type` from an already parsed document.
    public func decode<Value: Decodable>(_ type: Value.Type, from document: JSONValue) throws -> Value {
        try JSONValueDecoding(document, codingPath: []).unwrap(type)
    }
}

extension DecodingError {
    /// `path.to.member: what was wrong`, or just what was wrong at the top level; for messages to people.
    public var jsonSummary: String {
        switch self {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacing(".[", with: "[")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(self)"
        }
    }
}

/// The `Decoder` over one value of the tree.
final class JSONValueDecoding: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ value: JSONValue, codingPath: [any CodingKey]) {
        self.value = value
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw JSONValueDecoding.mismatch([String: JSONValue].self, "an object", value, codingPath)
        }
        return KeyedDecodingContainer(KeyedJSONDecodingContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw JSONValueDecoding.mismatch([JSONValue].self, "an array", value, codingPath)
        }
        return UnkeyedJSONDecodingContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    /// Decodes `type` from this decoder's value, handling the types whose JSON form is not their `Codable` form.
    func unwrap<Value: Decodable>(_ type: Value.Type) throws -> Value {
        if type == JSONValue.self { return value as! Value }
        if type == Data.self { return try decodeData() as! Value }
        return try Value(from: self)
    }

    /// Foundation's default `Data` strategy: a base64 string.
    private func decodeData() throws -> Data {
        let text = try decode(String.self)
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "Encountered Data is not valid Base64."))
        }
        return data
    }

    static func mismatch(_ type: Any.Type, _ expected: String, _ found: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        if found.isNull {
            return .valueNotFound(type, DecodingError.Context(codingPath: path, debugDescription: "Expected \(expected) but found null."))
        }
        return .typeMismatch(type, DecodingError.Context(codingPath: path, debugDescription: "Expected \(expected) but found \(found.kindName)."))
    }
}

extension JSONValueDecoding: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value.isNull }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = value else { throw Self.mismatch(type, "a boolean", value, codingPath) }
        return flag
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let text) = value else { throw Self.mismatch(type, "a string", value, codingPath) }
        return text
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard let number = value.doubleValue else { throw Self.mismatch(type, "a number", value, codingPath) }
        return number
    }

    func decode(_ type: Float.Type) throws -> Float {
        let number = try decode(Double.self)
        let narrowed = Float(number)
        guard narrowed.isFinite else { throw outOfRange(type) }
        return narrowed
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value { try unwrap(type) }

    /// An exact integer within `Integer`'s range; `3.0` counts, `3.5` and `1e300` do not.
    private func integer<Integer: FixedWidthInteger>(_ type: Integer.Type) throws -> Integer {
        switch value {
        case .int(let number):
            guard let exact = Integer(exactly: number) else { throw outOfRange(type) }
            return exact
        case .double(let number):
            guard let exact = Integer(exactly: number) else { throw outOfRange(type) }
            return exact
        default:
            throw Self.mismatch(type, "a number", value, codingPath)
        }
    }

    private func outOfRange(_ type: Any.Type) -> DecodingError {
        .dataCorrupted(DecodingError.Context(
            codingPath: codingPath, debugDescription: "Number \(value) is not representable in \(type)."))
    }
}

private struct KeyedJSONDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValueDecoding {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(
                codingPath: codingPath, debugDescription: "No value associated with key \"\(key.stringValue)\"."))
        }
        return JSONValueDecoding(value, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = members[key.stringValue] else { return try member(key).decodeNil() }  // keyNotFound
        return value.isNull
    }

    /// One lookup for the common optional member (the default implementation looks the key up three times).
    func decodeIfPresent<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value? {
        guard let value = members[key.stringValue], !value.isNull else { return nil }
        return try JSONValueDecoding(value, codingPath: codingPath + [key]).unwrap(type)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try member(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try member(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try member(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try member(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try member(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try member(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try member(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try member(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try member(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try member(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try member(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try member(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try member(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try member(key).decode(type) }
    func decode<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value { try member(key).unwrap(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try member(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try member(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        JSONValueDecoding(members[JSONCodingKey.superKey.stringValue] ?? .null, codingPath: codingPath + [JSONCodingKey.superKey])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONValueDecoding(members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedJSONDecodingContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// The decoder of the next element; advances only when `body` succeeds, as Foundation does.
    private mutating func next<Value>(_ type: Any.Type, _ body: (JSONValueDecoding) throws -> Value) throws -> Value {
        let key = JSONCodingKey(index: currentIndex)
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, DecodingError.Context(
                codingPath: codingPath + [key], debugDescription: "Unkeyed container is at end."))
        }
        let result = try body(JSONValueDecoding(elements[currentIndex], codingPath: codingPath + [key]))
        currentIndex += 1
        return result
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try $0.decode(type) } }
    mutating func decode<Value: Decodable>(_ type: Value.Type) throws -> Value { try next(type) { try $0.unwrap(type) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next(KeyedDecodingContainer<NestedKey>.self) { try $0.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next((any UnkeyedDecodingContainer).self) { try $0.unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try next((any Decoder).self) { $0 }
    }
}

/// Keys the coders make up: array indices in coding paths, and `super`.
struct JSONCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init(intValue: Int) {
        stringValue = "Index \(intValue)"
        self.intValue = intValue
    }

    init(index: Int) { self.init(intValue: index) }

    static let superKey = JSONCodingKey(stringValue: "super")
}

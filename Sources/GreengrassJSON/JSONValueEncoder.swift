#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes `Encodable` values as JSON through ``JSONValue``: the one JSON writer of the nucleus and the CLI.
///
/// The wire format is what Foundation's JSON encoder with default strategies writes for the same shapes (member
/// names as declared or as `CodingKeys` say, `nil` optionals omitted, `Data` as base64, non-finite numbers refused),
/// written by ``JSONValue/serializedBytes(_:)``: keys sorted (so equal values give equal bytes), strings escaped
/// like Jackson (no `\/`), integers as integers and doubles in Swift's shortest round-trip form (`2.0`, `0.1`).
public struct JSONValueEncoder: Sendable {
    /// Compact (the default) or pretty-printed text.
    public var layout: JSONValue.Layout

    public init(layout: JSONValue.Layout = .compact) {
        self.layout = layout
    }

    /// `value` as UTF-8 JSON bytes.
    public func encode(_ value: some Encodable) throws -> [UInt8] {
        try encodeToValue(value).serializedBytes(layout)
    }

    /// `value` as JSON text.
    public func encodeToString(_ value: some Encodable) throws -> String {
        try encodeToValue(value).serialized(layout)
    }

    /// `value` as a document.
    public func encodeToValue(_ value: some Encodable) throws -> JSONValue {
        let slot = EncodingSlot()
        try JSONValueEncoding(slot, codingPath: []).box(value)
        return slot.finished()
    }
}

/// Where one value goes while it is being encoded: containers stay references until the end, because
/// `Encoder` hands out containers that are written to after they are returned.
private final class EncodingSlot {
    enum Content {
        case empty
        case value(JSONValue)
        case object(ObjectBox)
        case array(ArrayBox)
    }

    var content = Content.empty

    /// The finished value; a value that encoded nothing is an empty object (Foundation writes `{}` there too).
    func finished() -> JSONValue {
        switch content {
        case .empty: return .object([:])
        case .value(let value): return value
        case .object(let box): return .object(box.members.mapValues { $0.finished() })
        case .array(let box): return .array(box.elements.map { $0.finished() })
        }
    }

    /// This slot's object, made if the slot is still empty.
    func object() -> ObjectBox {
        if case .object(let box) = content { return box }
        let box = ObjectBox()
        content = .object(box)
        return box
    }

    /// This slot's array, made if the slot is still empty.
    func array() -> ArrayBox {
        if case .array(let box) = content { return box }
        let box = ArrayBox()
        content = .array(box)
        return box
    }
}

private final class ObjectBox {
    var members: [String: EncodingSlot] = [:]

    func slot(_ key: String) -> EncodingSlot {
        if let existing = members[key] { return existing }
        let slot = EncodingSlot()
        members[key] = slot
        return slot
    }
}

private final class ArrayBox {
    var elements: [EncodingSlot] = []

    func appendSlot() -> EncodingSlot {
        let slot = EncodingSlot()
        elements.append(slot)
        return slot
    }
}

/// The `Encoder` writing into one slot.
private struct JSONValueEncoding: Encoder {
    let slot: EncodingSlot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ slot: EncodingSlot, codingPath: [any CodingKey]) {
        self.slot = slot
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedJSONEncodingContainer<Key>(object: slot.object(), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedJSONEncodingContainer(array: slot.array(), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    /// Encodes `value` into this slot, handling the types whose JSON form is not their `Codable` form.
    func box<Value: Encodable>(_ value: Value) throws {
        if let document = value as? JSONValue {
            slot.content = .value(document)
        } else if let data = value as? Data {
            slot.content = .value(.string(data.base64EncodedString()))
        } else {
            try value.encode(to: self)
        }
    }
}

extension JSONValueEncoding: SingleValueEncodingContainer {
    private func set(_ value: JSONValue) { slot.content = .value(value) }

    func encodeNil() { set(.null) }
    func encode(_ value: Bool) { set(.bool(value)) }
    func encode(_ value: String) { set(.string(value)) }

    func encode(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: codingPath, debugDescription: "Unable to encode Double.\(value) directly in JSON."))
        }
        set(.double(value))
    }

    /// Through the `Float`'s own shortest text, so `0.1` stays `0.1` rather than `0.10000000149011612`.
    func encode(_ value: Float) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: codingPath, debugDescription: "Unable to encode Float.\(value) directly in JSON."))
        }
        set(.double(Double(value.description) ?? Double(value)))
    }

    func encode(_ value: Int) { set(.int(value)) }
    func encode(_ value: Int8) { set(.int(Int(value))) }
    func encode(_ value: Int16) { set(.int(Int(value))) }
    func encode(_ value: Int32) { set(.int(Int(value))) }
    func encode(_ value: Int64) { set(.int(Int(value))) }
    func encode(_ value: UInt8) { set(.int(Int(value))) }
    func encode(_ value: UInt16) { set(.int(Int(value))) }
    func encode(_ value: UInt32) { set(.int(Int(value))) }
    func encode(_ value: UInt) throws { try encodeUnsigned(value) }
    func encode(_ value: UInt64) throws { try encodeUnsigned(value) }

    /// ``JSONValue`` holds integers as `Int`: a larger unsigned value is refused rather than rounded.
    private func encodeUnsigned<Unsigned: UnsignedInteger & FixedWidthInteger>(_ value: Unsigned) throws {
        guard let exact = Int(exactly: value) else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: codingPath, debugDescription: "\(value) is larger than the largest JSON integer this encoder writes (\(Int.max))."))
        }
        set(.int(exact))
    }

    func encode<Value: Encodable>(_ value: Value) throws { try box(value) }
}

private struct KeyedJSONEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: ObjectBox
    let codingPath: [any CodingKey]

    private func encoder(_ key: any CodingKey) -> JSONValueEncoding {
        JSONValueEncoding(object.slot(key.stringValue), codingPath: codingPath + [key])
    }

    mutating func encodeNil(forKey key: Key) { encoder(key).encodeNil() }
    mutating func encode(_ value: Bool, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: String, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try encoder(key).encode(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encoder(key).encode(value) }
    mutating func encode(_ value: Int, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: Int8, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: Int16, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: Int32, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: Int64, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encoder(key).encode(value) }
    mutating func encode(_ value: UInt8, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) { encoder(key).encode(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encoder(key).encode(value) }
    mutating func encode<Value: Encodable>(_ value: Value, forKey key: Key) throws { try encoder(key).box(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        encoder(key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        encoder(key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { encoder(JSONCodingKey.superKey) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder(key) }
}

private struct UnkeyedJSONEncodingContainer: UnkeyedEncodingContainer {
    let array: ArrayBox
    let codingPath: [any CodingKey]

    var count: Int { array.elements.count }

    private func encoder() -> JSONValueEncoding {
        let key = JSONCodingKey(index: array.elements.count)
        return JSONValueEncoding(array.appendSlot(), codingPath: codingPath + [key])
    }

    mutating func encodeNil() { encoder().encodeNil() }
    mutating func encode(_ value: Bool) { encoder().encode(value) }
    mutating func encode(_ value: String) { encoder().encode(value) }
    mutating func encode(_ value: Double) throws { try encoder().encode(value) }
    mutating func encode(_ value: Float) throws { try encoder().encode(value) }
    mutating func encode(_ value: Int) { encoder().encode(value) }
    mutating func encode(_ value: Int8) { encoder().encode(value) }
    mutating func encode(_ value: Int16) { encoder().encode(value) }
    mutating func encode(_ value: Int32) { encoder().encode(value) }
    mutating func encode(_ value: Int64) { encoder().encode(value) }
    mutating func encode(_ value: UInt) throws { try encoder().encode(value) }
    mutating func encode(_ value: UInt8) { encoder().encode(value) }
    mutating func encode(_ value: UInt16) { encoder().encode(value) }
    mutating func encode(_ value: UInt32) { encoder().encode(value) }
    mutating func encode(_ value: UInt64) throws { try encoder().encode(value) }
    mutating func encode<Value: Encodable>(_ value: Value) throws { try encoder().box(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        encoder().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { encoder().unkeyedContainer() }

    mutating func superEncoder() -> any Encoder { encoder() }
}

/// A JSON value whose objects keep their members in document order, repeats included: for the few readers to
/// whom order is data, such as the `contexts` of a Greengrass JSON log line. Parsed by the same parser as
/// ``JSONValue``, with the same grammar, limits and errors.
public enum OrderedJSONValue: Sendable, Hashable {
    /// One `"key": value` of an object.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: OrderedJSONValue

        public init(key: String, value: OrderedJSONValue) {
            self.key = key
            self.value = value
        }
    }

    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([OrderedJSONValue])
    case object([Member])

    /// Parses one JSON value; see ``JSONValue/init(parsing:options:)``.
    public init(parsing text: String, options: JSONParsingOptions = .default) throws(JSONParseError) {
        self = try parseJSONTree(text, options: options)
    }

    /// Parses one JSON value from UTF-8 `bytes`. Concrete rather than generic over the collection, so a caller in
    /// another module runs the parser specialized (a generic entry point costs a metadata lookup per call).
    public init(parsing bytes: [UInt8], options: JSONParsingOptions = .default) throws(JSONParseError) {
        self = try parseJSONTree(bytes, options: options)
    }

    /// The first member named `key`, when this is an object.
    public func firstMember(_ key: String) -> OrderedJSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The same value with objects as dictionaries (a repeated key: the last one wins, as when parsing).
    public var unordered: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .array(let elements): return .array(elements.map(\.unordered))
        case .object(let members):
            return .object(Dictionary(members.map { ($0.key, $0.value.unordered) }, uniquingKeysWith: { _, last in last }))
        }
    }
}

extension OrderedJSONValue: JSONParsedTree {
    /// Room for a few members from the start: a request object has a handful, and growing an array one member at a
    /// time reallocates it twice or three times on the way.
    static var noMembers: [Member] {
        var members: [Member] = []
        members.reserveCapacity(4)
        return members
    }
    static func add(_ key: String, _ value: OrderedJSONValue, to members: inout [Member]) {
        members.append(Member(key: key, value: value))
    }
}

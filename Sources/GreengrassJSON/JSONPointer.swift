/// An RFC 6901 JSON Pointer: `""` is the whole document, `/a/b` the member `b` of member `a`,
/// `/list/0` the first element of `list`; `~1` stands for `/` and `~0` for `~` inside a token.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The unescaped reference tokens, outermost first.
    public var tokens: [String]

    /// The pointer to the whole document.
    public static let root = JSONPointer(tokens: [])

    /// A pointer from unescaped tokens.
    public init(tokens: [String]) {
        self.tokens = tokens
    }

    /// Parses the textual form (`/a/b~1c`).
    public init(_ text: String) throws(JSONPointerError) {
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.first == "/" else {
            throw JSONPointerError(code: .invalidSyntax, pointer: text, reason: "a JSON pointer must be empty or start with '/'")
        }
        var result: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard raw.contains("~") else {
                result.append(String(raw))
                continue
            }
            var token = ""
            var iterator = raw.makeIterator()
            while let character = iterator.next() {
                guard character == "~" else {
                    token.append(character)
                    continue
                }
                switch iterator.next() {
                case "0": token.append("~")
                case "1": token.append("/")
                default:
                    throw JSONPointerError(code: .invalidSyntax, pointer: text,
                                           reason: "'~' must be followed by '0' or '1'")
                }
            }
            result.append(token)
        }
        tokens = result
    }

    /// The escaped textual form.
    public var description: String {
        tokens.map { "/" + $0.replacing("~", with: "~0").replacing("/", with: "~1") }.joined()
    }

    /// This pointer extended by one token.
    public func appending(_ token: String) -> JSONPointer {
        JSONPointer(tokens: tokens + [token])
    }

    /// The pointer to the containing value; `nil` for the root.
    public var parent: JSONPointer? {
        tokens.isEmpty ? nil : JSONPointer(tokens: Array(tokens.dropLast()))
    }

    /// The RFC 6901 array index a token denotes: decimal digits without leading zeros.
    static func arrayIndex(_ token: String) -> Int? {
        guard let first = token.utf8.first, token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              first != UInt8(ascii: "0") || token.utf8.count == 1
        else { return nil }
        return Int(token)
    }
}

/// Why a JSON pointer could not be parsed or applied.
public struct JSONPointerError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Stable name of the code.
        public let name: String
        public var description: String { name }
        /// The text is not a JSON pointer.
        public static let invalidSyntax = Code(name: "invalidSyntax")
        /// A token names a member or element that does not exist.
        public static let notFound = Code(name: "notFound")
        /// A token tries to descend into a string, number, boolean or null.
        public static let notAContainer = Code(name: "notAContainer")
        /// A token used on an array is not an index in range.
        public static let invalidArrayIndex = Code(name: "invalidArrayIndex")
    }

    /// The kind of error.
    public var code: Code
    /// The pointer (escaped text) that failed.
    public var pointer: String
    /// What went wrong at which token.
    public var reason: String

    public init(code: Code, pointer: String, reason: String) {
        self.code = code
        self.pointer = pointer
        self.reason = reason
    }

    public var description: String { "JSON pointer \"\(pointer)\": \(reason)" }
}

extension JSONValue {
    /// The value `pointer` refers to, or `nil` if any token does not resolve.
    public func value(at pointer: JSONPointer) -> JSONValue? {
        var current = self
        for token in pointer.tokens {
            switch current {
            case .object(let members):
                guard let next = members[token] else { return nil }
                current = next
            case .array(let elements):
                guard let index = JSONPointer.arrayIndex(token), index < elements.count else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    /// The value `pointer` refers to, or `nil`; same as `value(at:)` (`document[pointer]`).
    public subscript(pointer: JSONPointer) -> JSONValue? { value(at: pointer) }

    /// The value at the pointer given as text, or `nil` if the text is not a pointer or does not resolve.
    public func value(atPointer text: String) -> JSONValue? {
        guard let pointer = try? JSONPointer(text) else { return nil }
        return value(at: pointer)
    }

    /// Stores `newValue` at `pointer`, replacing what is there.
    ///
    /// Missing object members along the way are created as empty objects when `createIntermediates`
    /// is true (the config store's behaviour), else they are an error. On an array a token may be an
    /// index up to `count` (equal to `count` appends) or `-` to append. Descending into a scalar is an
    /// error. Nothing is changed when an error is thrown.
    public mutating func setValue(
        _ newValue: JSONValue, at pointer: JSONPointer, createIntermediates: Bool = true
    ) throws(JSONPointerError) {
        // Check the whole path first so the in-place mutation below cannot fail half way.
        try checkSettable(pointer, createIntermediates: createIntermediates)
        Self.set(&self, newValue, tokens: pointer.tokens[...])
    }

    private func checkSettable(_ pointer: JSONPointer, createIntermediates: Bool) throws(JSONPointerError) {
        var current: JSONValue? = self
        for (position, token) in pointer.tokens.enumerated() {
            let isLast = position == pointer.tokens.count - 1
            switch current {
            case .none:
                // Below a member or element that will be created.
                continue
            case .object(let members)?:
                current = members[token]
                if current == nil, !isLast, !createIntermediates {
                    throw JSONPointerError(code: .notFound, pointer: pointer.description,
                                           reason: "no member \"\(token)\"")
                }
            case .array(let elements)?:
                let index = token == "-" ? elements.count : JSONPointer.arrayIndex(token)
                guard let index, index <= elements.count else {
                    throw JSONPointerError(
                        code: .invalidArrayIndex, pointer: pointer.description,
                        reason: "\"\(token)\" is not an index into an array of \(elements.count) elements")
                }
                // `.none` spelled out: a bare `nil` here would become JSONValue.null via its nil literal.
                current = index < elements.count ? Optional.some(elements[index]) : Optional.none
                if current == nil, !isLast, !createIntermediates {
                    throw JSONPointerError(code: .notFound, pointer: pointer.description,
                                           reason: "no element \(index)")
                }
            case let scalar?:
                throw JSONPointerError(code: .notAContainer, pointer: pointer.description,
                                       reason: "cannot descend into a \(scalar.kindName) at \"\(token)\"")
            }
        }
    }

    /// The mutation pass of `setValue`; the path has been checked.
    private static func set(_ target: inout JSONValue, _ newValue: JSONValue, tokens: ArraySlice<String>) {
        guard let token = tokens.first else {
            target = newValue
            return
        }
        let rest = tokens.dropFirst()
        switch target {
        case .object(var members):
            target = .null  // release the storage so it is mutated in place
            var child = members.removeValue(forKey: token) ?? .object([:])
            set(&child, newValue, tokens: rest)
            members[token] = child
            target = .object(members)
        case .array(var elements):
            target = .null
            let index = token == "-" ? elements.count : (JSONPointer.arrayIndex(token) ?? elements.count)
            if index < elements.count {
                var child = elements[index]
                elements[index] = .null
                set(&child, newValue, tokens: rest)
                elements[index] = child
            } else {
                var child = JSONValue.object([:])
                set(&child, newValue, tokens: rest)
                elements.append(child)
            }
            target = .array(elements)
        default:
            // Unreachable after checkSettable; replacing keeps the function total.
            var child = JSONValue.object([:])
            set(&child, newValue, tokens: tokens)
            target = child
        }
    }

    /// Removes and returns the value at `pointer`; `nil` (and no change) if it does not resolve.
    /// Removing the root returns the whole value and leaves `.null`.
    @discardableResult
    public mutating func removeValue(at pointer: JSONPointer) -> JSONValue? {
        Self.remove(&self, tokens: pointer.tokens[...])
    }

    private static func remove(_ target: inout JSONValue, tokens: ArraySlice<String>) -> JSONValue? {
        guard let token = tokens.first else {
            let removed = target
            target = .null
            return removed
        }
        let rest = tokens.dropFirst()
        switch target {
        case .object(var members):
            guard members[token] != nil else { return nil }
            target = .null  // release the storage so it is mutated in place
            var removed: JSONValue?
            if rest.isEmpty {
                removed = members.removeValue(forKey: token)
            } else if var child = members.removeValue(forKey: token) {
                removed = remove(&child, tokens: rest)
                members[token] = child
            }
            target = .object(members)
            return removed
        case .array(var elements):
            guard let index = JSONPointer.arrayIndex(token), index < elements.count else { return nil }
            target = .null
            let removed: JSONValue?
            if rest.isEmpty {
                removed = elements.remove(at: index)
            } else {
                var child = elements[index]
                elements[index] = .null
                removed = remove(&child, tokens: rest)
                elements[index] = child
            }
            target = .array(elements)
            return removed
        default:
            return nil
        }
    }

    // MARK: Deep merge

    /// Merges `other` into this value: when both are objects, members merge recursively (members only in
    /// `other` are added, members in both are merged); in every other case `other` replaces this value.
    public mutating func merge(_ other: JSONValue) {
        guard case .object(let incoming) = other, case .object(var members) = self else {
            self = other
            return
        }
        self = .null  // release the dictionary so it is mutated in place
        for (key, value) in incoming {
            if var existing = members.removeValue(forKey: key) {
                existing.merge(value)
                members[key] = existing
            } else {
                members[key] = value
            }
        }
        self = .object(members)
    }

    /// This value with `other` deep-merged into it; see `merge(_:)`.
    public func merging(_ other: JSONValue) -> JSONValue {
        var copy = self
        copy.merge(other)
        return copy
    }
}

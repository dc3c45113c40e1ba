import GreengrassJSON

/// A recipe document tree that remembers where each value came from, so that errors found after
/// parsing (a bad `Timeout`, a bad version range) can still name the line and column.
///
/// Mapping keys keep their order and spelling; lookups through `member(_:)` are case-insensitive,
/// as Greengrass's Jackson mapper is. Equality and hashing compare the JSON value only: the same
/// recipe in YAML and in JSON compares equal although positions and key order differ.
public struct RecipeNode: Sendable, Hashable {
    /// One key/value pair of a mapping.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: RecipeNode

        public init(key: String, value: RecipeNode) {
            self.key = key
            self.value = value
        }
    }

    /// The value itself.
    public enum Content: Sendable, Hashable {
        /// A null, boolean, number or string, with the text as written (used when a string is expected:
        /// `ComponentVersion: 1.0` in YAML is the text `1.0`, not the number).
        case scalar(JSONValue, text: String)
        case sequence([RecipeNode])
        case mapping([Member])
    }

    /// The value.
    public var content: Content
    /// Where the value starts in the file; `nil` when unknown.
    public var location: SourcePosition?

    public init(content: Content, location: SourcePosition? = nil) {
        self.content = content
        self.location = location
    }

    /// Builds a tree without locations from a JSON value (keys sorted, for determinism).
    public init(_ value: JSONValue) {
        switch value {
        case .array(let elements):
            content = .sequence(elements.map(RecipeNode.init))
        case .object(let members):
            content = .mapping(members.keys.sorted().map { Member(key: $0, value: RecipeNode(members[$0] ?? .null)) })
        case .null, .bool, .int, .double, .string:
            content = .scalar(value, text: value.plainText)
        }
        location = nil
    }

    /// The tree as a plain JSON value (mapping keys that repeat case-sensitively: last wins).
    public var json: JSONValue {
        switch content {
        case .scalar(let value, _):
            return value
        case .sequence(let elements):
            return .array(elements.map(\.json))
        case .mapping(let members):
            var object: [String: JSONValue] = [:]
            object.reserveCapacity(members.count)
            for member in members { object[member.key] = member.value.json }
            return .object(object)
        }
    }

    /// The mapping's members, or `nil` if this is not a mapping.
    public var members: [Member]? {
        if case .mapping(let members) = content { return members }
        return nil
    }

    /// The value of the member whose key equals `name` ignoring case (the last such member wins, as
    /// with Jackson); `nil` if absent, or if this is not a mapping.
    public func member(_ name: String) -> Member? {
        guard case .mapping(let members) = content else { return nil }
        return members.last { $0.key.caseInsensitiveEquals(name) }
    }

    public static func == (lhs: RecipeNode, rhs: RecipeNode) -> Bool { lhs.json == rhs.json }

    public func hash(into hasher: inout Hasher) { hasher.combine(json) }

    /// `true` for a null scalar (YAML `~`, empty value, JSON `null`).
    public var isNull: Bool {
        if case .scalar(.null, _) = content { return true }
        return false
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        self.utf8.count == other.utf8.count && self.lowercased() == other.lowercased()
    }
}

// MARK: - Reading files

/// The two recipe syntaxes.
public enum RecipeFormat: String, Sendable, Hashable {
    case json
    case yaml

    /// `.json` → JSON, `.yaml`/`.yml` → YAML (case-insensitive); otherwise the content decides: a
    /// document whose first non-blank character is `{` is JSON, anything else YAML.
    public static func detect(fileName: String, contents: String) -> RecipeFormat {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".json") { return .json }
        if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") { return .yaml }
        let first = contents.unicodeScalars.first { !$0.properties.isWhitespace && $0 != "\u{FEFF}" }
        return first == "{" ? .json : .yaml
    }
}

/// Limits for hostile documents.
enum RecipeLimits {
    /// Largest recipe accepted (the biggest public recipes are a few KiB).
    static let maximumBytes = 4 << 20
    /// Most values a document may expand to; YAML aliases can otherwise expand a small file
    /// exponentially ("billion laughs").
    static let maximumNodes = 200_000
    static let maximumDepth = 128
}

/// What a document is, for messages: the nucleus reads its `--config` file with the recipe reader, and a
/// configuration file must not be called a recipe.
public enum DocumentKind: Sendable, Hashable {
    case recipe
    case configuration

    /// "recipe file" / "configuration file".
    public var fileNoun: String {
        switch self {
        case .recipe: "recipe file"
        case .configuration: "configuration file"
        }
    }
}

enum RecipeDocumentReader {
    /// Parses raw `bytes`, which must be UTF-8, into a located tree. The size is checked before anything else, so a
    /// huge file costs nothing.
    static func read(
        bytes: some Collection<UInt8>, fileName: String, format: RecipeFormat?, kind: DocumentKind
    ) throws(RecipeError) -> RecipeNode {
        try checkSize(bytes.count, fileName: fileName, kind: kind)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RecipeError(code: .syntax, file: fileName, field: "", position: firstInvalidUTF8(in: bytes),
                              reason: "the \(kind.fileNoun) is not valid UTF-8")
        }
        return try read(contents: text, fileName: fileName,
                        format: format ?? RecipeFormat.detect(fileName: fileName, contents: text), kind: kind)
    }

    /// Parses `contents` into a located tree, or throws a `.syntax` / `.emptyRecipe` error.
    static func read(contents: String, fileName: String, format: RecipeFormat, kind: DocumentKind) throws(RecipeError) -> RecipeNode {
        try checkSize(contents.utf8.count, fileName: fileName, kind: kind)
        var text = contents
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let empty = RecipeError(code: .emptyRecipe, file: fileName, field: "", reason: "the \(kind.fileNoun) is empty")
        if text.allSatisfy({ $0.isWhitespace }) { throw empty }
        switch format {
        case .json:
            // One pass for values and positions; the JSON parser (through the reader) is the authority on syntax.
            if let located = LocatedJSONReader.read(text, maximumDepth: RecipeLimits.maximumDepth) { return located }
            // Not JSON the reader vouches for: the JSON parser names the syntax error. Should it accept the text
            // after all, the YAML reader supplies positions when it can (YAML accepts things JSON does not, and
            // the other way round for tabs and long keys).
            let value: JSONValue
            do {
                value = try JSONValue(parsing: text, options: JSONParsingOptions(maximumDepth: RecipeLimits.maximumDepth))
            } catch {
                throw RecipeError(code: .syntax, file: fileName, field: "", line: error.line, column: error.column,
                                  reason: "invalid JSON: " + error.reason)
            }
            if let located = try? YAMLComposer.compose(text, file: fileName), located.json == value {
                return located
            }
            return RecipeNode(value)
        case .yaml:
            guard let root = try YAMLComposer.compose(text, file: fileName) else { throw empty }
            return root
        }
    }

    private static func checkSize(_ count: Int, fileName: String, kind: DocumentKind) throws(RecipeError) {
        guard count <= RecipeLimits.maximumBytes else {
            throw RecipeError(code: .limitExceeded, file: fileName, field: "",
                              reason: "the \(kind.fileNoun) is \(count) bytes, more than the limit of \(RecipeLimits.maximumBytes)")
        }
    }

    /// Where the first byte that is not UTF-8 is.
    private static func firstInvalidUTF8(in bytes: some Collection<UInt8>) -> SourcePosition {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
        return SourcePosition(ofByte: offset, in: bytes)
    }
}

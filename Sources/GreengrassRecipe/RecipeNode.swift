import GreengrassJSON
import Yams

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

enum RecipeDocumentReader {
    /// Parses `contents` into a located tree, or throws a `.syntax` / `.emptyRecipe` error.
    static func read(contents: String, fileName: String, format: RecipeFormat) throws(RecipeError) -> RecipeNode {
        let file = FieldContext(file: fileName, path: "", location: nil)
        guard contents.utf8.count <= RecipeLimits.maximumBytes else {
            throw RecipeError(.limitExceeded, file,
                              "recipe is \(contents.utf8.count) bytes, more than the limit of \(RecipeLimits.maximumBytes)")
        }
        var text = contents
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        if text.allSatisfy({ $0.isWhitespace }) {
            throw RecipeError(.emptyRecipe, file, "the recipe file is empty")
        }
        switch format {
        case .json:
            // The JSON parser is the authority on syntax (YAML accepts things JSON does not, and the
            // other way round for tabs and long keys); Yams then supplies positions when it can.
            let value: JSONValue
            do {
                value = try JSONValue(parsing: text, options: JSONParsingOptions(maximumDepth: RecipeLimits.maximumDepth))
            } catch {
                throw RecipeError(code: .syntax, file: fileName, field: "", line: error.line, column: error.column,
                                  reason: "invalid JSON: " + error.reason)
            }
            if let located = try? composeYAML(text, file: file), located.json == value {
                return located
            }
            return RecipeNode(value)
        case .yaml:
            return try composeYAML(text, file: file)
        }
    }

    private static func composeYAML(_ text: String, file: FieldContext) throws(RecipeError) -> RecipeNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw RecipeError(.syntax, file, "invalid YAML: \(error)")
        }
        guard let root else {
            throw RecipeError(.emptyRecipe, file, "the recipe file is empty")
        }
        var budget = RecipeLimits.maximumNodes
        return try convert(root, file: file, depth: 0, budget: &budget)
    }

    private static func syntaxError(_ error: YamlError, file: FieldContext) -> RecipeError {
        func make(_ mark: Mark?, _ reason: String) -> RecipeError {
            RecipeError(code: .syntax, file: file.file, field: "", line: mark?.line, column: mark?.column,
                        reason: "invalid YAML: " + reason)
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let contextText = context.map { " (\($0.text) at \($0.mark.line):\($0.mark.column))" } ?? ""
            return make(mark, problem + contextText)
        case let .reader(problem, _, _, _):
            return make(nil, problem)
        case let .duplicatedKeysInMapping(duplicates, context):
            return make(context.mark, "duplicate key " + duplicates.map { "\"\($0)\"" }.joined(separator: ", "))
        default:
            return make(nil, "\(error)")
        }
    }

    private static func location(_ mark: Mark?) -> SourcePosition? {
        mark.map { SourcePosition(line: $0.line, column: $0.column) }
    }

    private static func convert(
        _ node: Node, file: FieldContext, depth: Int, budget: inout Int
    ) throws(RecipeError) -> RecipeNode {
        budget -= 1
        let here = FieldContext(file: file.file, path: "", location: location(node.mark))
        guard budget >= 0 else {
            throw RecipeError(.limitExceeded, here,
                              "the document expands to more than \(RecipeLimits.maximumNodes) values (YAML aliases?)")
        }
        guard depth <= RecipeLimits.maximumDepth else {
            throw RecipeError(.limitExceeded, here, "nesting deeper than \(RecipeLimits.maximumDepth) levels")
        }
        switch node {
        case .scalar(let scalar):
            return RecipeNode(content: .scalar(scalarValue(node, scalar), text: scalar.string),
                              location: location(scalar.mark))
        case .sequence(let sequence):
            var elements: [RecipeNode] = []
            elements.reserveCapacity(sequence.count)
            for element in sequence {
                elements.append(try convert(element, file: file, depth: depth + 1, budget: &budget))
            }
            return RecipeNode(content: .sequence(elements), location: location(sequence.mark))
        case .mapping(let mapping):
            var members: [RecipeNode.Member] = []
            members.reserveCapacity(mapping.count)
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw RecipeError(.wrongType, FieldContext(file: file.file, path: "", location: location(key.mark)),
                                      "mapping keys must be plain strings")
                }
                members.append(RecipeNode.Member(
                    key: keyScalar.string, value: try convert(value, file: file, depth: depth + 1, budget: &budget)))
            }
            return RecipeNode(content: .mapping(members), location: location(mapping.mark))
        case .alias(let alias):
            throw RecipeError(.syntax, FieldContext(file: file.file, path: "", location: location(alias.mark)),
                              "unresolved YAML alias *\(alias.anchor.rawValue)")
        }
    }

    /// Resolves a YAML scalar the way YAML 1.1 (SnakeYAML, which Greengrass uses) does: plain `true`/
    /// `yes`/`on` are booleans, plain numbers are numbers, quoted text is always a string, and
    /// timestamps and other tags stay text.
    private static func scalarValue(_ node: Node, _ scalar: Node.Scalar) -> JSONValue {
        switch node.tag.description {
        case Tag.Name.null.rawValue:
            return .null
        case Tag.Name.bool.rawValue:
            return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
        case Tag.Name.int.rawValue:
            if let exact = node.int { return .int(exact) }
            if let number = node.float, number.isFinite { return .double(number) }
            return .string(scalar.string)
        case Tag.Name.float.rawValue:
            // JSON has no NaN or infinity: keep those as text.
            if let number = node.float, number.isFinite { return .double(number) }
            return .string(scalar.string)
        default:
            return .string(scalar.string)
        }
    }
}

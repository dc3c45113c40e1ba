import GreengrassJSON

/// A recipe problem that fails a deployment: which file, which field, where, and why.
///
/// `description` reads like a compiler diagnostic:
/// `recipes/com.example.Foo-1.0.0.yaml:12:5: Manifests[0].Lifecycle.Run.Timeout: expected an integer number of seconds, got "abc"`.
public struct RecipeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem, for callers that branch on it (deployment error types, tests).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Stable name of the code.
        public let name: String
        public var description: String { name }

        /// The file is not valid JSON/YAML (or not UTF-8).
        public static let syntax = Code(name: "syntax")
        /// The file has no content.
        public static let emptyRecipe = Code(name: "emptyRecipe")
        /// A required field is absent.
        public static let missingField = Code(name: "missingField")
        /// A field has the wrong shape (e.g. a list where a string is expected).
        public static let wrongType = Code(name: "wrongType")
        /// A field has the right shape but an unacceptable value.
        public static let invalidValue = Code(name: "invalidValue")
        /// `RecipeFormatVersion` is not `2020-01-25`.
        public static let unsupportedFormatVersion = Code(name: "unsupportedFormatVersion")
        /// `ComponentVersion` is not a semantic version.
        public static let invalidVersion = Code(name: "invalidVersion")
        /// A `VersionRequirement` is not a valid range.
        public static let invalidVersionRequirement = Code(name: "invalidVersionRequirement")
        /// No manifest's `Platform` matches this device.
        public static let noMatchingManifest = Code(name: "noMatchingManifest")
        /// A `Skipif` expression is malformed.
        public static let invalidSkipIf = Code(name: "invalidSkipIf")
        /// Interpolation left a recipe variable unresolved (only when the caller asks for strictness).
        public static let unresolvedVariable = Code(name: "unresolvedVariable")
        /// The document is too large or too deeply nested (e.g. YAML alias expansion).
        public static let limitExceeded = Code(name: "limitExceeded")
    }

    /// The kind of problem.
    public var code: Code
    /// The recipe file name as the caller passed it.
    public var file: String
    /// Path of the offending field, e.g. `Manifests[0].Lifecycle.Run.Timeout`; empty for whole-file errors.
    public var field: String
    /// 1-based line, when the parser knows it.
    public var line: Int?
    /// 1-based column, when the parser knows it.
    public var column: Int?
    /// What was wrong.
    public var reason: String

    public init(code: Code, file: String, field: String, line: Int? = nil, column: Int? = nil, reason: String) {
        self.code = code
        self.file = file
        self.field = field
        self.line = line
        self.column = column
        self.reason = reason
    }

    init(code: Code, file: String, field: String, position: SourcePosition?, reason: String) {
        self.init(code: code, file: file, field: field, line: position?.line, column: position?.column, reason: reason)
    }

    init(_ code: Code, _ context: FieldContext, _ reason: String) {
        self.init(code: code, file: context.file, field: context.path, line: context.location?.line,
                  column: context.location?.column, reason: reason)
    }

    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": "
        if !field.isEmpty { text += field + ": " }
        return text + reason
    }
}

/// A 1-based position in a recipe file.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// Where a field is: file, path and position, used to build `RecipeError`s.
struct FieldContext: Sendable {
    var file: String
    var path: String
    var location: SourcePosition?

    func member(_ key: String, _ node: RecipeNode) -> FieldContext {
        FieldContext(file: file, path: path.isEmpty ? key : path + "." + key, location: node.location ?? location)
    }

    func element(_ index: Int, _ node: RecipeNode) -> FieldContext {
        FieldContext(file: file, path: path + "[\(index)]", location: node.location ?? location)
    }
}

/// Renders a value in an error message: strings quoted, others as JSON-ish text.
func quoted(_ node: RecipeNode) -> String {
    switch node.content {
    case .scalar(let value, let text):
        if case .string = value { return "\"\(text)\"" }
        return text
    case .sequence: return "a list"
    case .mapping: return "a map"
    }
}

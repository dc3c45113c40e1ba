import GreengrassJSON
import GreengrassRecipe

/// Reads a Greengrass `config.yaml` (YAML or JSON) given with `--config`, and validates it, so that a bad file is
/// refused at start with the file, the key and the line.
public enum ConfigurationFile {
    /// Parses `contents` of `fileName` and checks it as a nucleus configuration (on top of `base`, the persisted
    /// configuration, so the file may set only what it changes). Returns the merged tree.
    public static func merge(contents: String, fileName: String, onto base: JSONValue) throws(ConfigurationError) -> JSONValue {
        try merge(parsing: { () throws(RecipeError) in try RecipeNode(parsingDocument: contents, fileName: fileName, kind: .configuration) },
                  fileName: fileName, onto: base)
    }

    /// `merge(contents:)` for the file's raw bytes, which must be UTF-8 (a bad byte is refused with its position,
    /// not replaced).
    public static func merge(bytes: some Collection<UInt8>, fileName: String, onto base: JSONValue) throws(ConfigurationError) -> JSONValue {
        try merge(parsing: { () throws(RecipeError) in try RecipeNode(parsingDocument: bytes, fileName: fileName, kind: .configuration) },
                  fileName: fileName, onto: base)
    }

    private static func merge(
        parsing parse: () throws(RecipeError) -> RecipeNode, fileName: String, onto base: JSONValue
    ) throws(ConfigurationError) -> JSONValue {
        let document: RecipeNode
        do {
            document = try parse()
        } catch {
            throw ConfigurationError(key: error.field.isEmpty ? "(document)" : error.field, reason: error.reason, file: fileName,
                                     line: error.line, column: error.column)
        }
        let tree = document.json
        guard tree.objectValue != nil else {
            throw ConfigurationError(key: "(document)", reason: "expected a map with system/services keys, got \(tree.kindName)", file: fileName, line: 1)
        }
        for key in tree.objectValue!.keys where !["system", "services", "setenv"].contains(key) {
            let location = document.node(at: [key])?.location
            throw ConfigurationError(
                key: key, reason: "unknown top-level key (expected system, services or setenv)", file: fileName,
                line: location?.line, column: location?.column)
        }
        let merged = base.merging(tree)
        do {
            _ = try NucleusSettings(tree: merged)
        } catch {
            var located = error
            located.file = fileName
            let location = document.node(at: error.key.split(separator: ".").map(String.init))?.location
                ?? locationOfDottedKey(error.key, in: document)
            located.line = location?.line
            located.column = location?.column
            throw located
        }
        return merged
    }

    /// Component names contain dots (`aws.greengrass.Nucleus`), so a dotted key cannot be split naively: try
    /// every way of grouping its parts against the document.
    static func locationOfDottedKey(_ key: String, in document: RecipeNode) -> SourcePosition? {
        let parts = key.split(separator: ".").map(String.init)
        func search(_ node: RecipeNode, _ index: Int) -> RecipeNode? {
            if index == parts.count { return node }
            for end in index..<parts.count {
                let candidate = parts[index...end].joined(separator: ".")
                if let member = node.member(candidate), let found = search(member.value, end + 1) { return found }
            }
            return nil
        }
        return search(document, 0)?.location
    }
}

extension RecipeNode {
    /// Parses any YAML or JSON document into a located tree, with the recipe reader's limits (size, depth, alias
    /// expansion). The nucleus uses it for its `--config` file, so configuration errors can name a line too.
    public init(parsingDocument contents: String, fileName: String, format: RecipeFormat? = nil) throws(RecipeError) {
        self = try RecipeDocumentReader.read(
            contents: contents, fileName: fileName,
            format: format ?? RecipeFormat.detect(fileName: fileName, contents: contents))
    }

    /// The node at a key path (keys matched ignoring case), or nil.
    public func node(at path: [String]) -> RecipeNode? {
        var node = self
        for key in path {
            guard let member = node.member(key) else { return nil }
            node = member.value
        }
        return node
    }
}

extension RecipeNode {
    /// Parses any YAML or JSON document into a located tree, with the recipe reader's limits (size, depth, alias
    /// expansion). The nucleus uses it for its `--config` file, so configuration errors can name a line too;
    /// `kind` names the file in messages ("the configuration file is empty").
    public init(parsingDocument contents: String, fileName: String, format: RecipeFormat? = nil, kind: DocumentKind) throws(RecipeError) {
        self = try RecipeDocumentReader.read(
            contents: contents, fileName: fileName,
            format: format ?? RecipeFormat.detect(fileName: fileName, contents: contents), kind: kind)
    }

    /// `init(parsingDocument:)` for raw bytes, which must be UTF-8 (checked after the size, with the position of
    /// the first bad byte).
    public init(parsingDocument bytes: some Collection<UInt8>, fileName: String, format: RecipeFormat? = nil, kind: DocumentKind) throws(RecipeError) {
        self = try RecipeDocumentReader.read(bytes: bytes, fileName: fileName, format: format, kind: kind)
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

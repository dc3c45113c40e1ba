import GreengrassJSON

/// Turns a located document tree into a `ComponentRecipe`, naming file, field path and line for
/// every problem. Keys match case-insensitively and unknown keys are ignored, as in Greengrass.
struct RecipeParser {
    let file: String

    /// `^[a-zA-Z0-9-_.]+$`, at most 128 characters.
    static func isValidComponentName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 128 && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
    }

    func parseRecipe(_ root: RecipeNode) throws(RecipeError) -> ComponentRecipe {
        let top = FieldContext(file: file, path: "", location: root.location)
        guard root.members != nil else {
            throw RecipeError(.wrongType, top, "a recipe must be a map of fields, got \(quoted(root))")
        }
        let formatVersion = try requiredString("RecipeFormatVersion", in: root, top)
        guard formatVersion.value == ComponentRecipe.supportedFormatVersion else {
            throw RecipeError(.unsupportedFormatVersion, formatVersion.context,
                              "unsupported recipe format version \"\(formatVersion.value)\", expected \"\(ComponentRecipe.supportedFormatVersion)\"")
        }
        let name = try requiredString("ComponentName", in: root, top)
        guard Self.isValidComponentName(name.value) else {
            throw RecipeError(.invalidValue, name.context,
                              "invalid component name \"\(name.value)\": use 1 to 128 letters, digits, '-', '_' or '.'")
        }
        let versionText = try requiredString("ComponentVersion", in: root, top)
        let version: SemanticVersion
        do {
            version = try SemanticVersion(parsing: versionText.value)
        } catch {
            throw RecipeError(.invalidVersion, versionText.context, error.description)
        }
        var componentType = ComponentType.generic
        if let typeText = try optionalString("ComponentType", in: root, top) {
            guard let match = ComponentType.allCases.first(where: { $0.rawValue.caseInsensitiveEquals(typeText.value) }) else {
                throw RecipeError(.invalidValue, typeText.context,
                                  "unknown component type \"\(typeText.value)\", expected one of "
                                      + ComponentType.allCases.map(\.rawValue).joined(separator: ", "))
            }
            componentType = match
        }
        var recipe = ComponentRecipe(
            name: name.value, version: version, componentType: componentType,
            componentDescription: try optionalString("ComponentDescription", in: root, top)?.value,
            publisher: try optionalString("ComponentPublisher", in: root, top)?.value,
            source: try optionalString("ComponentSource", in: root, top)?.value,
            defaultConfiguration: try defaultConfiguration(root, top),
            dependencies: try dependencies(root, top),
            manifests: try manifests(root, top),
            globalLifecycle: try optionalMapping("Lifecycle", in: root, top)?.value,
            fileName: file)
        recipe.formatVersion = formatVersion.value
        return recipe
    }

    // MARK: Sections

    private func defaultConfiguration(_ root: RecipeNode, _ top: FieldContext) throws(RecipeError) -> JSONValue {
        guard let configuration = try optionalMapping("ComponentConfiguration", in: root, top) else { return [:] }
        guard let defaults = configuration.value.member("DefaultConfiguration"), !defaults.value.isNull else { return [:] }
        let context = configuration.context.member(defaults.key, defaults.value)
        guard defaults.value.members != nil else {
            throw RecipeError(.wrongType, context, "expected a map of configuration values, got \(quoted(defaults.value))")
        }
        return defaults.value.json
    }

    private func dependencies(_ root: RecipeNode, _ top: FieldContext) throws(RecipeError) -> [ComponentDependency] {
        guard let section = try optionalMapping("ComponentDependencies", in: root, top) else { return [] }
        var result: [ComponentDependency] = []
        for member in section.value.members ?? [] {
            let context = section.context.member(member.key, member.value)
            guard Self.isValidComponentName(member.key) else {
                throw RecipeError(.invalidValue, context, "invalid dependency name \"\(member.key)\"")
            }
            guard member.value.members != nil else {
                throw RecipeError(.wrongType, context,
                                  "expected a map with VersionRequirement and DependencyType, got \(quoted(member.value))")
            }
            let rangeText = try requiredString("VersionRequirement", in: member.value, context)
            let range: VersionRequirement
            do {
                range = try VersionRequirement(parsing: rangeText.value)
            } catch {
                throw RecipeError(.invalidVersionRequirement, rangeText.context, error.description)
            }
            var type = DependencyType.hard
            if let typeText = try optionalString("DependencyType", in: member.value, context) {
                guard let match = DependencyType.allCases.first(where: { $0.rawValue.caseInsensitiveEquals(typeText.value) }) else {
                    throw RecipeError(.invalidValue, typeText.context,
                                      "unknown dependency type \"\(typeText.value)\", expected HARD or SOFT")
                }
                type = match
            }
            result.removeAll { $0.name == member.key }
            result.append(ComponentDependency(name: member.key, versionRequirement: range, type: type))
        }
        return result
    }

    private func manifests(_ root: RecipeNode, _ top: FieldContext) throws(RecipeError) -> [PlatformManifest] {
        guard let member = root.member("Manifests"), !member.value.isNull else {
            throw RecipeError(.missingField, top.member("Manifests", root),
                              "missing required field; a recipe needs at least one manifest")
        }
        let context = top.member(member.key, member.value)
        guard case .sequence(let elements) = member.value.content else {
            throw RecipeError(.wrongType, context, "expected a list of manifests, got \(quoted(member.value))")
        }
        guard !elements.isEmpty else {
            throw RecipeError(.missingField, context, "a recipe needs at least one manifest")
        }
        var result: [PlatformManifest] = []
        for (index, element) in elements.enumerated() {
            result.append(try manifest(element, index: index, context.element(index, element)))
        }
        return result
    }

    private func manifest(_ node: RecipeNode, index: Int, _ context: FieldContext) throws(RecipeError) -> PlatformManifest {
        guard node.members != nil else {
            throw RecipeError(.wrongType, context, "expected a manifest map, got \(quoted(node))")
        }
        var platform: [String: PlatformTemplate] = [:]
        if let section = try optionalMapping("Platform", in: node, context) {
            for attribute in section.value.members ?? [] {
                platform[attribute.key] = try platformTemplate(
                    attribute.value, section.context.member(attribute.key, attribute.value), allowList: true)
            }
        }
        var selections: [String] = []
        for (element, elementContext) in try optionalList("Selections", of: "selection keys", in: node, context) {
            guard case .scalar(let value, let text) = element.content, !value.isNull else {
                throw RecipeError(.wrongType, elementContext, "expected a selection key, got \(quoted(element))")
            }
            selections.append(text)
        }
        var artifacts: [ComponentArtifact] = []
        for (element, elementContext) in try optionalList("Artifacts", of: "artifacts", in: node, context) {
            artifacts.append(try artifact(element, elementContext))
        }
        return PlatformManifest(
            index: index, platform: platform, name: try optionalString("Name", in: node, context)?.value,
            lifecycle: try optionalMapping("Lifecycle", in: node, context)?.value,
            selections: selections, artifacts: artifacts)
    }

    /// A platform value: a string (numbers and booleans as their text), null, or a list of those.
    private func platformTemplate(_ node: RecipeNode, _ context: FieldContext, allowList: Bool) throws(RecipeError) -> PlatformTemplate {
        switch node.content {
        case .scalar(.null, _):
            return .absent
        case .scalar(_, let text):
            return .value(text)
        case .sequence(let elements) where allowList:
            var alternatives: [PlatformTemplate] = []
            for (index, element) in elements.enumerated() {
                alternatives.append(try platformTemplate(element, context.element(index, element), allowList: false))
            }
            return .anyOf(alternatives)
        case .sequence, .mapping:
            throw RecipeError(.wrongType, context,
                              "expected a platform value such as linux, * or /regex/ (or a list of them), got \(quoted(node))")
        }
    }

    private func artifact(_ node: RecipeNode, _ context: FieldContext) throws(RecipeError) -> ComponentArtifact {
        guard node.members != nil else {
            throw RecipeError(.wrongType, context, "expected an artifact map with a URI, got \(quoted(node))")
        }
        let uri = try requiredString("URI", in: node, context)
        guard !uri.value.isEmpty else {
            throw RecipeError(.invalidValue, uri.context, "the artifact URI is empty")
        }
        var artifact = ComponentArtifact(uri: uri.value)
        if let unarchive = try optionalString("Unarchive", in: node, context) {
            artifact.unarchive = try enumValue(unarchive, UnarchiveType.self)
        }
        if let permission = try optionalMapping("Permission", in: node, context) {
            if let read = try optionalString("Read", in: permission.value, permission.context) {
                artifact.permission.read = try enumValue(read, PermissionType.self)
            }
            if let execute = try optionalString("Execute", in: permission.value, permission.context) {
                artifact.permission.execute = try enumValue(execute, PermissionType.self)
            }
        }
        artifact.digest = try optionalString("Digest", in: node, context)?.value
        artifact.algorithm = try optionalString("Algorithm", in: node, context)?.value
        return artifact
    }

    private func enumValue<Value: RawRepresentable & CaseIterable>(
        _ text: (value: String, context: FieldContext), _ type: Value.Type
    ) throws(RecipeError) -> Value where Value.RawValue == String {
        guard let match = Value.allCases.first(where: { $0.rawValue.caseInsensitiveEquals(text.value) }) else {
            throw RecipeError(.invalidValue, text.context,
                              "unknown value \"\(text.value)\", expected one of "
                                  + Value.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return match
    }

    // MARK: Field access

    /// A required scalar field as text (numbers and booleans are accepted as their text, as Jackson
    /// coerces them).
    func requiredString(
        _ key: String, in node: RecipeNode, _ context: FieldContext
    ) throws(RecipeError) -> (value: String, context: FieldContext) {
        guard let found = try optionalString(key, in: node, context) else {
            throw RecipeError(.missingField, FieldContext(file: context.file, path: context.path.isEmpty ? key : context.path + "." + key,
                                                          location: node.location ?? context.location),
                              "missing required field")
        }
        return found
    }

    func optionalString(
        _ key: String, in node: RecipeNode, _ context: FieldContext
    ) throws(RecipeError) -> (value: String, context: FieldContext)? {
        guard let member = node.member(key), !member.value.isNull else { return nil }
        let fieldContext = context.member(member.key, member.value)
        guard case .scalar(_, let text) = member.value.content else {
            throw RecipeError(.wrongType, fieldContext, "expected a string, got \(quoted(member.value))")
        }
        return (text, fieldContext)
    }

    /// The elements of an optional list field, each with its own context (`Field[3]`).
    func optionalList(
        _ key: String, of what: String, in node: RecipeNode, _ context: FieldContext
    ) throws(RecipeError) -> [(RecipeNode, FieldContext)] {
        guard let member = node.member(key), !member.value.isNull else { return [] }
        let listContext = context.member(member.key, member.value)
        guard case .sequence(let elements) = member.value.content else {
            throw RecipeError(.wrongType, listContext, "expected a list of \(what), got \(quoted(member.value))")
        }
        return elements.enumerated().map { ($0.element, listContext.element($0.offset, $0.element)) }
    }

    func optionalMapping(
        _ key: String, in node: RecipeNode, _ context: FieldContext
    ) throws(RecipeError) -> (value: RecipeNode, context: FieldContext)? {
        guard let member = node.member(key), !member.value.isNull else { return nil }
        let fieldContext = context.member(member.key, member.value)
        guard member.value.members != nil else {
            throw RecipeError(.wrongType, fieldContext, "expected a map, got \(quoted(member.value))")
        }
        return (member.value, fieldContext)
    }
}

import GreengrassJSON

/// A recipe resolved for one device: the chosen manifest, its artifacts and the effective lifecycle.
public struct ResolvedRecipe: Sendable, Hashable {
    public var recipe: ComponentRecipe
    /// The first manifest whose `Platform` matches the device.
    public var manifest: PlatformManifest
    /// The effective lifecycle, with source positions: the manifest's own `Lifecycle` when non-empty,
    /// else the global `Lifecycle` filtered by the manifest's `Selections`. Not yet interpolated.
    public var lifecycleNode: RecipeNode
    /// Where the lifecycle came from in the recipe (`Manifests[0].Lifecycle` or `Lifecycle`), used as
    /// the prefix of field paths in errors.
    public var lifecyclePath: String

    /// The effective lifecycle as a JSON map (what goes, once interpolated, to `services.<Name>.lifecycle`).
    public var lifecycle: JSONValue { lifecycleNode.json }

    /// The chosen manifest's artifacts.
    public var artifacts: [ComponentArtifact] { manifest.artifacts }

    /// Parses the lifecycle after interpolating it with `interpolator`. Returns the definition the
    /// supervisor runs, the JSON to store in the config, and the variables left unresolved (Greengrass
    /// logs those and keeps the text; pass `failOnUnresolved` to make them an error instead).
    public func interpolatedLifecycle(
        _ interpolator: RecipeInterpolator, failOnUnresolved: Bool = false
    ) throws(RecipeError) -> InterpolatedLifecycle {
        let result = interpolator.interpolate(lifecycleNode)
        if failOnUnresolved, let first = result.unresolved.first {
            let field = first.field.map { $0.isEmpty ? lifecyclePath : lifecyclePath + "." + $0 } ?? lifecyclePath
            let location = first.location ?? lifecycleNode.location
            throw RecipeError(code: .unresolvedVariable, file: recipe.fileName, field: field,
                              line: location?.line, column: location?.column,
                              reason: "cannot resolve recipe variable \(first.placeholder): \(first.reason)")
        }
        let definition = try LifecycleDefinition(parsing: result.value, file: recipe.fileName, fieldPrefix: lifecyclePath)
        return InterpolatedLifecycle(definition: definition, config: result.value.json, unresolved: result.unresolved)
    }
}

/// The output of `ResolvedRecipe.interpolatedLifecycle(_:failOnUnresolved:)`.
public struct InterpolatedLifecycle: Sendable, Hashable {
    /// What the supervisor runs.
    public var definition: LifecycleDefinition
    /// The interpolated lifecycle map for `services.<Name>.lifecycle`.
    public var config: JSONValue
    /// Placeholders left as written.
    public var unresolved: [UnresolvedVariable]
}

extension ComponentRecipe {
    /// The first manifest (in recipe order) whose every `Platform` attribute matches `platform`.
    public func selectManifest(for platform: Platform) throws(RecipeError) -> PlatformManifest {
        if let manifest = manifests.first(where: { platform.matches($0.platform) }) {
            return manifest
        }
        let tried = manifests.map { manifest in
            "[\(manifest.index)] {" + manifest.platform.keys.sorted().map { "\($0): \(manifest.platform[$0]?.description ?? "")" }
                .joined(separator: ", ") + "}"
        }.joined(separator: ", ")
        throw RecipeError(code: .noMatchingManifest, file: fileName, field: "Manifests",
                          reason: "no manifest matches this device (\(platform)); manifest platforms: \(tried)")
    }

    /// Selects the manifest for `platform`, computes the effective lifecycle and checks it (phases,
    /// `Timeout`, `RequiresPrivilege`, `Setenv`, `Skipif`), so a bad recipe fails the deployment before
    /// anything runs. Values holding recipe variables are checked again after interpolation.
    public func resolve(for platform: Platform) throws(RecipeError) -> ResolvedRecipe {
        let manifest = try selectManifest(for: platform)
        let node: RecipeNode
        let path: String
        if let own = manifest.lifecycle, let members = own.members, !members.isEmpty {
            node = own
            path = "Manifests[\(manifest.index)].Lifecycle"
        } else if let global = globalLifecycle {
            var keywords = Set(manifests.flatMap(\.selections))
            keywords.insert("all")
            let filtered = SelectionFilter(keywords: keywords, selections: manifest.selections).filter(global)
            if let filtered, filtered.members != nil {
                node = filtered
            } else {
                node = RecipeNode(content: .mapping([]), location: global.location)
            }
            path = "Lifecycle"
        } else {
            node = RecipeNode(content: .mapping([]))
            path = "Lifecycle"
        }
        try LifecycleDefinition.validateUninterpolated(node, context: FieldContext(file: fileName, path: path, location: node.location))
        return ResolvedRecipe(recipe: self, manifest: manifest, lifecycleNode: node, lifecyclePath: path)
    }
}

/// Greengrass's selection filter (`PlatformResolver.filterPlatform`): at any map level where some key
/// is a selection keyword, the value of the manifest's first selection present (else of `all`)
/// replaces the whole map, and is filtered again; other maps are filtered member by member. Nulls
/// count as absent, lists and scalars are kept as they are.
struct SelectionFilter {
    /// Every selection of every manifest, plus `all`.
    let keywords: Set<String>
    /// The chosen manifest's selections, in priority order.
    let selections: [String]

    func filter(_ node: RecipeNode) -> RecipeNode? {
        guard let members = node.members else {
            return node.isNull ? nil : node
        }
        if members.contains(where: { keywords.contains($0.key) }) {
            for key in selections + ["all"] {
                if let chosen = members.last(where: { $0.key == key && !$0.value.isNull }) {
                    return filter(chosen.value)
                }
            }
            return nil
        }
        var kept: [RecipeNode.Member] = []
        for member in members {
            if let value = filter(member.value) {
                kept.append(RecipeNode.Member(key: member.key, value: value))
            }
        }
        return RecipeNode(content: .mapping(kept), location: node.location)
    }
}

import GreengrassIPCModel
import GreengrassJSON
import GreengrassRecipe
import GreengrassStore

/// Every recipe in the package store, with the file each one is stored in.
public struct StoredRecipes: Sendable {
    public var catalogue: RecipeCatalogue
    /// Where each recipe is stored, by `ComponentRecipe.identifier`.
    public var paths: [String: String]

    public init(recipes: [ComponentRecipe] = [], paths: [String: String] = [:]) {
        catalogue = RecipeCatalogue(recipes)
        self.paths = paths
    }

    public func recipe(_ name: String, _ version: String) -> ComponentRecipe? {
        guard let version = try? SemanticVersion(parsing: version) else { return nil }
        return catalogue.recipe(name: name, version: version)
    }
}

/// How a recipe is resolved for a device (its manifest and effective lifecycle, checked).
public typealias RecipeResolution = @Sendable (_ recipe: ComponentRecipe, _ platform: Platform) throws(RecipeError) -> ResolvedRecipe

/// The recipes a deployment runs, each resolved for this device once: those of its target set and of the sets it
/// may go back to (the one deployed when it began, which Bootstrap compares with, and its rollback snapshot). The
/// planner resolves them; artifact preparation, Bootstrap and the runtime read them and resolve nothing again.
public struct ResolvedRecipes: Sendable, Equatable {
    /// By ``PackageStore/versionKey(_:_:)``. A recipe that does not resolve keeps its error, for whoever needs it.
    private var byVersion: [String: Result<ResolvedRecipe, RecipeError>] = [:]

    public init() {}

    /// The stored recipe of each of `components`, resolved with `resolve` (a deployed set started without a
    /// deployment: at nucleus start-up).
    public init(
        _ components: [DeployedComponent], from stored: StoredRecipes,
        resolve: (ComponentRecipe) throws(RecipeError) -> ResolvedRecipe
    ) {
        add(components, from: stored, resolve: resolve)
    }

    /// Resolves the stored recipe of each of `components` not resolved yet; one the store lacks is left out.
    mutating func add(
        _ components: [DeployedComponent], from stored: StoredRecipes, resolve: (ComponentRecipe) throws(RecipeError) -> ResolvedRecipe
    ) {
        for component in components {
            let key = PackageStore.versionKey(component.name, component.version)
            guard byVersion[key] == nil, let recipe = stored.recipe(component.name, component.version) else { continue }
            byVersion[key] = Result { () throws(RecipeError) in try resolve(recipe) }
        }
    }

    mutating func insert(_ resolved: ResolvedRecipe) {
        byVersion[PackageStore.versionKey(resolved.recipe.name, resolved.recipe.version.description)] = .success(resolved)
    }

    /// How `name` `version` resolved; nil when it was not among the components resolved.
    public func resolution(_ name: String, _ version: String) -> Result<ResolvedRecipe, RecipeError>? {
        byVersion[PackageStore.versionKey(name, version)]
    }

    /// The resolved recipe of `name` `version`, nil when it was not among the components resolved; throws why it
    /// does not resolve for this device.
    public func recipe(_ name: String, _ version: String) throws(RecipeError) -> ResolvedRecipe? {
        try resolution(name, version)?.get()
    }
}

/// What a deployment will do: the complete component set after it, in dependency order, and what it changes.
public struct DeploymentPlan: Sendable, Equatable {
    /// The new deployed set, dependencies before dependents.
    public var target: [DeployedComponent]
    /// Components deployed now that the plan removes.
    public var removed: [String]
    /// The recipes of `target` and of the sets deployed before the deployment, each resolved once.
    public var recipes: ResolvedRecipes
}

/// Why a deployment failed, in the shape `deployment status` prints.
public struct DeploymentFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var errorStack: [String]
    public var errorTypes: [String]
    public var cause: String

    public init(errorStack: [String], errorTypes: [String], cause: String) {
        self.errorStack = errorStack
        self.errorTypes = errorTypes
        self.cause = cause
    }

    public var description: String { cause }

    static func badRequest(_ cause: String) -> DeploymentFailure {
        DeploymentFailure(errorStack: ["DEPLOYMENT_FAILURE", "INVALID_REQUEST"], errorTypes: ["REQUEST_ERROR"], cause: cause)
    }

    static func badRecipe(_ cause: String) -> DeploymentFailure {
        DeploymentFailure(errorStack: ["DEPLOYMENT_FAILURE", "RECIPE_PARSE_ERROR"], errorTypes: ["USER_COMPONENT_ERROR"], cause: cause)
    }

    /// An artifact whose `Digest` does not match, or whose `Digest`/`Algorithm` cannot be used.
    static func artifactChecksum(_ cause: String) -> DeploymentFailure {
        DeploymentFailure(errorStack: ["DEPLOYMENT_FAILURE", "ARTIFACT_CHECKSUM_MISMATCH"], errorTypes: ["DEVICE_ERROR"], cause: cause)
    }

    static func artifactIO(_ cause: String) -> DeploymentFailure {
        DeploymentFailure(errorStack: ["DEPLOYMENT_FAILURE", "IO_ERROR"], errorTypes: ["DEVICE_ERROR"], cause: cause)
    }

    static func resolution(_ cause: String) -> DeploymentFailure {
        DeploymentFailure(
            errorStack: ["DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION"], errorTypes: ["REQUEST_ERROR"], cause: cause)
    }
}

/// Computes a local deployment's target set, as the Greengrass deployment service does (reference §9): the new
/// root set is the group's current roots minus `--remove` plus `--merge`; dependencies are resolved across all
/// of it; configuration is the running one, with `RESET` paths removed, recipe defaults filled in (never
/// overriding) and `MERGE` applied on top.
public struct DeploymentPlanner: Sendable {
    public var platform: Platform
    private let resolveRecipe: RecipeResolution

    /// - Parameter resolveRecipe: how a recipe is resolved for `platform` (a test counts resolutions through it).
    public init(
        platform: Platform,
        resolveRecipe: @escaping RecipeResolution = { recipe, platform throws(RecipeError) in try recipe.resolve(for: platform) }
    ) {
        self.platform = platform
        self.resolveRecipe = resolveRecipe
    }

    /// Resolves `recipe` for this device: every resolution of a deployment goes through here.
    public func resolve(_ recipe: ComponentRecipe) throws(RecipeError) -> ResolvedRecipe {
        try resolveRecipe(recipe, platform)
    }

    /// Why `--remove name` cannot be honoured: the component is only a dependency, or not deployed at all.
    static func notRemovable(_ name: String, current: [DeployedComponent], roots: Set<String>) -> String {
        if current.contains(where: { $0.name == name }) {
            return "--remove names \(name), which is deployed only as a dependency of other components, not as a "
                + "root component: remove the components that depend on it instead"
        }
        let deployed = roots.isEmpty ? "none" : roots.sorted().joined(separator: ", ")
        return "--remove names \(name), which is not deployed on this device (root components: \(deployed))"
    }

    /// - Parameter deployedAtStart: the set deployed when this deployment first began (default `current`). A
    ///   deployment resumed after a restart is planned again against its own committed target, from which its
    ///   removals are already gone; whether `--remove` named a deployed root is judged against this set.
    public func plan(
        current: [DeployedComponent], request: CreateLocalDeploymentRequest, groupName: String, recipes: StoredRecipes,
        deployedAtStart: [DeployedComponent]? = nil
    ) throws(DeploymentFailure) -> DeploymentPlan {
        var roots: [String: SemanticVersion] = [:]
        for component in current where component.isRoot {
            roots[component.name] = try? SemanticVersion(parsing: component.version)
        }
        let startSet = deployedAtStart ?? current
        let rootsAtStart = Set(startSet.lazy.filter(\.isRoot).map(\.name))
        for name in request.rootComponentsToRemove ?? [] {
            // The Java nucleus drops a name that is not a root from the root set without a word, so the
            // deployment SUCCEEDS having removed nothing. Here it fails, before anything is touched, with a
            // cause naming the component: a removal that does nothing is almost always a typo or the wrong
            // device, and a SUCCEEDED status would tell the user the component is gone while it keeps running
            // (or never existed). Failing also matches `--update-config` naming a non-root (below).
            guard rootsAtStart.contains(name) else {
                throw .badRequest(Self.notRemovable(name, current: startSet, roots: rootsAtStart))
            }
            roots[name] = nil
        }
        for (name, version) in request.rootComponentVersionsToAdd ?? [:] {
            do {
                roots[name] = try SemanticVersion(parsing: version)
            } catch {
                throw .badRequest("Invalid version \"\(version)\" for component \(name): \(error)")
            }
        }
        for name in (request.componentToConfiguration ?? [:]).keys where roots[name] == nil {
            throw .badRequest("--update-config names \(name), which is not a root component of this deployment")
        }

        let resolved: [ResolvedComponent]
        do {
            let rootRequirements = roots.sorted { $0.key < $1.key }.map {
                DependencyResolver.Root(name: $0.key, requirement: .exactly($0.value), requirer: groupName)
            }
            var preferred: [String: SemanticVersion] = [:]
            for component in current { preferred[component.name] = try? SemanticVersion(parsing: component.version) }
            resolved = try DependencyResolver(catalogue: recipes.catalogue, preferredVersions: preferred)
                .resolve(rootRequirements).components
        } catch {
            throw .resolution("\(error)")
        }

        let currentByName = Dictionary(uniqueKeysWithValues: current.map { ($0.name, $0) })
        var target: [DeployedComponent] = []
        var resolvedRecipes = ResolvedRecipes()
        for component in resolved {
            let recipe = component.recipe
            do {
                resolvedRecipes.insert(try resolve(recipe))
            } catch {
                throw .badRecipe("\(error)")
            }
            var configuration = currentByName[recipe.name]?.configuration ?? [:]
            let update = request.componentToConfiguration?[recipe.name]
            for pointer in update?.reset ?? [] {
                guard pointer.isEmpty || pointer.hasPrefix("/") else {
                    throw .badRequest("RESET path \"\(pointer)\" for \(recipe.name) is not a JSON pointer (it must start with /)")
                }
                if pointer.isEmpty {
                    configuration = [:]
                } else if let parsed = try? JSONPointer(pointer) {
                    _ = configuration.removeValue(at: parsed)
                }
            }
            // Defaults fill in what is missing and never override a value already set (Greengrass merges them
            // with timestamp 1).
            configuration = recipe.defaultConfiguration.merging(configuration)
            if let merge = update?.merge {
                guard merge.objectValue != nil else {
                    throw .badRequest("MERGE for \(recipe.name) must be a JSON object, got \(merge.kindName)")
                }
                configuration.merge(merge)
            }
            if configuration.isNull { configuration = [:] }
            let runWith = request.componentToRunWithInfo?[recipe.name] ?? currentByName[recipe.name]?.runWith
            target.append(
                DeployedComponent(
                    name: recipe.name, version: recipe.version.description, isRoot: roots[recipe.name] != nil,
                    groupName: roots[recipe.name] != nil ? groupName : currentByName[recipe.name]?.groupName,
                    recipePath: recipes.paths[recipe.identifier] ?? recipe.fileName,
                    configuration: configuration, runWith: runWith))
        }
        let targetNames = Set(target.map(\.name))
        let removed = current.map(\.name).filter { !targetNames.contains($0) }
        // Bootstrap compares with the current set and a rollback applies the one deployed at the start: resolved
        // now, so that nothing after the plan resolves a recipe.
        resolvedRecipes.add(current + startSet, from: recipes, resolve: resolve)
        return DeploymentPlan(target: target, removed: removed, recipes: resolvedRecipes)
    }
}

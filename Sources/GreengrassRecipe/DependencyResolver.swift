/// Recipes available to a deployment, by component name then version.
public struct RecipeCatalogue: Sendable {
    private var byName: [String: [SemanticVersion: ComponentRecipe]] = [:]

    public init(_ recipes: some Sequence<ComponentRecipe> = []) {
        for recipe in recipes { add(recipe) }
    }

    /// Adds or replaces the recipe for `recipe.name` at `recipe.version`.
    public mutating func add(_ recipe: ComponentRecipe) {
        byName[recipe.name, default: [:]][recipe.version] = recipe
    }

    /// The recipe for exactly this component version.
    public func recipe(name: String, version: SemanticVersion) -> ComponentRecipe? {
        byName[name]?[version]
    }

    /// Every version of `name`, highest first.
    public func versions(of name: String) -> [SemanticVersion] {
        (byName[name]?.keys).map { $0.sorted(by: >) } ?? []
    }

    /// Whether any version of `name` is known.
    public func contains(_ name: String) -> Bool { byName[name] != nil }
}

/// A version constraint on a component and who imposed it.
public struct VersionConstraint: Sendable, Hashable, CustomStringConvertible {
    /// The component that requires it (`name-version`), or the deployment group for root components.
    public var requirer: String
    public var requirement: VersionRequirement
    /// The recipe file the requirement comes from, when it comes from a recipe.
    public var file: String?

    public init(requirer: String, requirement: VersionRequirement, file: String? = nil) {
        self.requirer = requirer
        self.requirement = requirement
        self.file = file
    }

    public var description: String {
        "\(requirer) requires \(requirement.text)" + (file.map { " (\($0))" } ?? "")
    }
}

/// Why dependency resolution failed.
public struct DependencyResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Stable name of the code.
        public let name: String
        public var description: String { name }
        /// No recipe at all for a required component.
        public static let unknownComponent = Code(name: "unknownComponent")
        /// Recipes exist but no version satisfies every constraint.
        public static let noVersionSatisfies = Code(name: "noVersionSatisfies")
        /// Components depend on each other in a loop.
        public static let dependencyCycle = Code(name: "dependencyCycle")
        /// The constraints kept changing (pathological inputs).
        public static let didNotConverge = Code(name: "didNotConverge")
    }

    /// The kind of failure.
    public var code: Code
    /// The component the error is about.
    public var component: String
    /// For `unknownComponent` and `noVersionSatisfies`: every constraint on the component.
    public var constraints: [VersionConstraint]
    /// For `noVersionSatisfies`: the versions that exist.
    public var availableVersions: [SemanticVersion]
    /// For `dependencyCycle`: the loop, first component repeated at the end (`A → B → A`).
    public var cycle: [String]

    public init(code: Code, component: String, constraints: [VersionConstraint] = [],
                availableVersions: [SemanticVersion] = [], cycle: [String] = []) {
        self.code = code
        self.component = component
        self.constraints = constraints
        self.availableVersions = availableVersions
        self.cycle = cycle
    }

    public var description: String {
        let requirements = constraints.map(\.description).joined(separator: "; ")
        switch code {
        case .unknownComponent:
            return "no recipe found for component \(component), required by: \(requirements)"
        case .noVersionSatisfies:
            let available = availableVersions.map(\.description).joined(separator: ", ")
            return "no version of \(component) satisfies every requirement (\(requirements)); available versions: \(available)"
        case .dependencyCycle:
            return "circular dependency: " + cycle.joined(separator: " -> ")
        default:
            return "dependency resolution for \(component) did not converge; requirements: \(requirements)"
        }
    }
}

/// One component version chosen by the resolver.
public struct ResolvedComponent: Sendable, Hashable {
    /// The chosen recipe.
    public var recipe: ComponentRecipe
    /// Whether the deployment named it (as opposed to being pulled in as a dependency).
    public var isRoot: Bool
    /// Its dependencies with their kinds, as declared by the chosen recipe.
    public var dependencies: [ComponentDependency]
    /// Every constraint that applied to it.
    public var constraints: [VersionConstraint]

    public var name: String { recipe.name }
    public var version: SemanticVersion { recipe.version }
    /// Names of HARD dependencies (start ordering and restarts).
    public var hardDependencies: [String] { dependencies.filter { $0.type == .hard }.map(\.name) }
    /// Names of SOFT dependencies (versions only).
    public var softDependencies: [String] { dependencies.filter { $0.type == .soft }.map(\.name) }
}

/// The outcome of dependency resolution.
public struct ResolvedGraph: Sendable, Hashable {
    /// Every component to deploy, dependencies before dependents (a valid start order); ties are
    /// broken by name so the order is deterministic.
    public var components: [ResolvedComponent]

    /// The chosen component by name.
    public subscript(name: String) -> ResolvedComponent? { components.first { $0.name == name } }

    /// `name → version` for every component.
    public var versions: [String: SemanticVersion] {
        Dictionary(uniqueKeysWithValues: components.map { ($0.name, $0.version) })
    }
}

/// Chooses one version per component so that every requirement (from the deployment's root
/// components and from each chosen recipe's `ComponentDependencies`, HARD and SOFT alike) holds.
///
/// Like Greengrass's `DependencyResolver` it works breadth-first from the roots; for each component it
/// takes the preferred version (e.g. the one running now) if it satisfies every current constraint,
/// else the highest that does. When a component's choice changes, the constraints its old recipe
/// imposed are withdrawn and the affected components are resolved again. There is no backtracking: if
/// some component has no acceptable version the error names every requirer and its range.
public struct DependencyResolver: Sendable {
    /// The recipes to choose from.
    public var catalogue: RecipeCatalogue
    /// Versions to keep when they still satisfy every constraint (Greengrass prefers the active version).
    public var preferredVersions: [String: SemanticVersion]

    public init(catalogue: RecipeCatalogue, preferredVersions: [String: SemanticVersion] = [:]) {
        self.catalogue = catalogue
        self.preferredVersions = preferredVersions
    }

    /// A root requirement from a deployment.
    public struct Root: Sendable, Hashable {
        public var name: String
        public var requirement: VersionRequirement
        /// Who asks for it (e.g. `LOCAL_DEPLOYMENT` or `thinggroup/<id>`), for messages.
        public var requirer: String

        public init(name: String, requirement: VersionRequirement, requirer: String = "deployment") {
            self.name = name
            self.requirement = requirement
            self.requirer = requirer
        }
    }

    /// Resolves `roots` and everything they depend on.
    public func resolve(_ roots: [Root]) throws(DependencyResolutionError) -> ResolvedGraph {
        var constraints: [String: [VersionConstraint]] = [:]
        for root in roots {
            constraints[root.name, default: []].append(VersionConstraint(requirer: root.requirer, requirement: root.requirement))
        }
        var chosen: [String: ComponentRecipe] = [:]
        var queue = roots.map(\.name)
        var steps = 0
        let stepLimit = 10_000
        while !queue.isEmpty {
            let name = queue.removeFirst()
            steps += 1
            guard steps <= stepLimit else {
                throw DependencyResolutionError(code: .didNotConverge, component: name, constraints: constraints[name] ?? [])
            }
            let live = liveConstraints(on: name, constraints: constraints, chosen: chosen, roots: roots)
            guard !live.isEmpty || roots.contains(where: { $0.name == name }) else { continue }  // no longer needed
            let recipe = try choose(name, live)
            if let previous = chosen[name], previous.version == recipe.version {
                // Unchanged, but it may have dropped out and come back: dependencies skipped while it
                // was unreachable need resolving now.
                queue.append(contentsOf: previous.dependencies.map(\.name).filter { chosen[$0] == nil })
                continue
            }
            if let previous = chosen[name] {
                // Withdraw what the old version required; those components are re-examined.
                for dependency in previous.dependencies {
                    constraints[dependency.name]?.removeAll { $0.requirer == previous.identifier }
                    queue.append(dependency.name)
                }
            }
            chosen[name] = recipe
            for dependency in recipe.dependencies {
                constraints[dependency.name, default: []].append(VersionConstraint(
                    requirer: recipe.identifier, requirement: dependency.versionRequirement, file: recipe.fileName))
                queue.append(dependency.name)
            }
        }
        // Keep only what the roots reach under the final choices.
        let reachable = reachableNames(from: roots.map(\.name), chosen: chosen)
        for name in reachable {
            let live = liveConstraints(on: name, constraints: constraints, chosen: chosen, roots: roots)
            guard let recipe = chosen[name], live.allSatisfy({ $0.requirement.isSatisfied(by: recipe.version) }) else {
                throw DependencyResolutionError(code: .didNotConverge, component: name, constraints: live)
            }
        }
        let order = try topologicalOrder(reachable, chosen: chosen)
        let rootNames = Set(roots.map(\.name))
        return ResolvedGraph(components: order.compactMap { name in
            chosen[name].map { recipe in
                ResolvedComponent(recipe: recipe, isRoot: rootNames.contains(name), dependencies: recipe.dependencies,
                                  constraints: liveConstraints(on: name, constraints: constraints, chosen: chosen, roots: roots))
            }
        })
    }

    /// Constraints from roots and from components currently chosen and still reachable.
    private func liveConstraints(on name: String, constraints: [String: [VersionConstraint]],
                                 chosen: [String: ComponentRecipe], roots: [Root]) -> [VersionConstraint] {
        let reachable = reachableNames(from: roots.map(\.name), chosen: chosen)
        let liveRequirers = Set(reachable.compactMap { chosen[$0]?.identifier }).union(roots.map(\.requirer))
        return (constraints[name] ?? []).filter { liveRequirers.contains($0.requirer) }
    }

    private func choose(_ name: String, _ constraints: [VersionConstraint]) throws(DependencyResolutionError) -> ComponentRecipe {
        let versions = catalogue.versions(of: name)
        guard !versions.isEmpty else {
            throw DependencyResolutionError(code: .unknownComponent, component: name, constraints: constraints)
        }
        let acceptable = versions.filter { version in constraints.allSatisfy { $0.requirement.isSatisfied(by: version) } }
        let pick = preferredVersions[name].flatMap { acceptable.contains($0) ? $0 : nil } ?? acceptable.first
        guard let pick, let recipe = catalogue.recipe(name: name, version: pick) else {
            throw DependencyResolutionError(code: .noVersionSatisfies, component: name, constraints: constraints,
                                            availableVersions: versions)
        }
        return recipe
    }

    private func reachableNames(from roots: [String], chosen: [String: ComponentRecipe]) -> [String] {
        var seen = Set<String>()
        var order: [String] = []
        var queue = roots
        while !queue.isEmpty {
            let name = queue.removeFirst()
            guard seen.insert(name).inserted else { continue }
            order.append(name)
            queue.append(contentsOf: chosen[name]?.dependencies.map(\.name) ?? [])
        }
        return order
    }

    /// Dependencies first; a loop is an error naming it.
    private func topologicalOrder(_ names: [String], chosen: [String: ComponentRecipe]) throws(DependencyResolutionError) -> [String] {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var order: [String] = []
        var path: [String] = []

        func visit(_ name: String) throws(DependencyResolutionError) {
            switch marks[name] {
            case .done?: return
            case .visiting?:
                let start = path.firstIndex(of: name) ?? 0
                throw DependencyResolutionError(code: .dependencyCycle, component: name, cycle: Array(path[start...]) + [name])
            case nil: break
            }
            marks[name] = .visiting
            path.append(name)
            for dependency in (chosen[name]?.dependencies.map(\.name) ?? []).sorted() {
                try visit(dependency)
            }
            path.removeLast()
            marks[name] = .done
            order.append(name)
        }

        for name in names.sorted() { try visit(name) }
        return order
    }
}

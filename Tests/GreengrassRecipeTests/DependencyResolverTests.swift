import GreengrassRecipe
import GreengrassTestSupport
import Testing

@Suite struct DependencyResolverTests {
    /// A recipe `name@version` depending on `deps` (name, range, type).
    static func recipe(_ id: String, _ deps: [(String, String, DependencyType)] = []) -> ComponentRecipe {
        let parts = id.split(separator: "@").map(String.init)
        // Test inputs are literals known to be valid.
        let version = (try? SemanticVersion(parsing: parts[1])) ?? SemanticVersion(major: 0, minor: 0, patch: 0)
        return ComponentRecipe(
            name: parts[0], version: version,
            dependencies: deps.map { name, range, type in
                ComponentDependency(name: name, versionRequirement: (try? VersionRequirement(parsing: range)) ?? .any, type: type)
            },
            manifests: [PlatformManifest()], fileName: "\(parts[0])-\(parts[1]).yaml")
    }

    static func root(_ name: String, _ range: String) throws -> DependencyResolver.Root {
        DependencyResolver.Root(name: name, requirement: try VersionRequirement(parsing: range), requirer: "LOCAL_DEPLOYMENT")
    }

    /// The resolution error for `roots` (records an issue when resolution succeeds).
    static func failure(_ roots: [DependencyResolver.Root], in catalogue: RecipeCatalogue = catalogue,
                        sourceLocation: SourceLocation = #_sourceLocation) -> DependencyResolutionError? {
        do {
            _ = try DependencyResolver(catalogue: catalogue).resolve(roots)
            Issue.record("expected a resolution error", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    static let catalogue = RecipeCatalogue([
        recipe("App@1.0.0", [("Lib", "^1.0.0", .hard), ("Log", ">=2.0.0", .soft)]),
        recipe("App@2.0.0", [("Lib", "^2.0.0", .hard)]),
        recipe("Lib@1.0.0"), recipe("Lib@1.4.2", [("Base", "1.x", .hard)]), recipe("Lib@2.0.0"), recipe("Lib@2.1.0-beta"),
        recipe("Log@1.0.0"), recipe("Log@2.0.0"), recipe("Log@2.5.0"),
        recipe("Base@1.0.0"), recipe("Base@1.1.0"), recipe("Base@2.0.0"),
        recipe("Pin@1.0.0", [("Lib", "1.0.0", .hard)]),
        recipe("Loop@1.0.0", [("Other", "*", .hard)]), recipe("Other@1.0.0", [("Third", "*", .soft)]),
        recipe("Third@1.0.0", [("Loop", "*", .soft)]),
        recipe("Needs@1.0.0", [("Ghost", "^1.0.0", .hard)]),
    ])

    @Test func resolvesTransitivelyInDependencyOrder() throws {
        let graph = try DependencyResolver(catalogue: Self.catalogue).resolve([try Self.root("App", "1.0.0")])
        #expect(graph.components.map(\.name) == ["Base", "Lib", "Log", "App"])
        #expect(graph.versions.mapValues(\.description) == ["App": "1.0.0", "Lib": "1.4.2", "Base": "1.1.0", "Log": "2.5.0"])
        let app = try #require(graph["App"])
        #expect(app.isRoot)
        #expect(app.hardDependencies == ["Lib"])
        #expect(app.softDependencies == ["Log"])
        #expect(graph["Lib"]?.isRoot == false)
        #expect(graph["Lib"]?.constraints.map(\.description) == ["App-1.0.0 requires ^1.0.0 (App-1.0.0.yaml)"])
        #expect(graph["App"]?.constraints.map(\.description) == ["LOCAL_DEPLOYMENT requires 1.0.0"])
    }

    @Test func highestVersionSatisfyingEveryRequirerWins() throws {
        // Pin wants Lib 1.0.0 exactly; App 1.0.0 accepts ^1.0.0: Lib must be 1.0.0 and Base is not needed.
        let graph = try DependencyResolver(catalogue: Self.catalogue)
            .resolve([try Self.root("App", "1.0.0"), try Self.root("Pin", "*")])
        #expect(graph.versions["Lib"]?.description == "1.0.0")
        #expect(graph["Base"] == nil)
        #expect(Set(graph["Lib"]?.constraints.map(\.requirer) ?? []) == ["App-1.0.0", "Pin-1.0.0"])
    }

    @Test func prereleasesAreNotPickedByPlainRanges() throws {
        let graph = try DependencyResolver(catalogue: Self.catalogue).resolve([try Self.root("Lib", ">=2.0.0")])
        #expect(graph.versions["Lib"]?.description == "2.0.0")
    }

    @Test func preferredVersionIsKeptWhenAcceptable() throws {
        let preferred = ["Log": try SemanticVersion(parsing: "2.0.0"), "Base": try SemanticVersion(parsing: "2.0.0")]
        let graph = try DependencyResolver(catalogue: Self.catalogue, preferredVersions: preferred)
            .resolve([try Self.root("App", "1.0.0")])
        #expect(graph.versions["Log"]?.description == "2.0.0")
        #expect(graph.versions["Base"]?.description == "1.1.0")  // 2.0.0 violates Lib's 1.x
    }

    @Test func changingAChoiceWithdrawsItsOldRequirements() throws {
        // Root "Lib *" first picks 2.0.0; App 1.0.0 then needs ^1.0.0, so Lib moves to 1.4.2 and pulls in Base.
        let graph = try DependencyResolver(catalogue: Self.catalogue)
            .resolve([try Self.root("Lib", "*"), try Self.root("App", "1.0.0")])
        #expect(graph.versions["Lib"]?.description == "1.4.2")
        #expect(graph.versions["Base"]?.description == "1.1.0")
        #expect(graph.components.map(\.name) == ["Base", "Lib", "Log", "App"])
    }

    @Test func componentThatDropsOutAndComesBackKeepsItsDependencies() throws {
        // A 2.0.0 pulls in X (which pulls in Y); B forces A down to 1.0.0, which drops X; A 1.0.0's
        // dependency C then brings X back at the same version, so Y must come back too.
        let catalogue = RecipeCatalogue([
            Self.recipe("A@2.0.0", [("X", "^1.0.0", .hard)]), Self.recipe("A@1.0.0", [("C", "*", .hard)]),
            Self.recipe("B@1.0.0", [("A", "<2.0.0", .hard)]), Self.recipe("C@1.0.0", [("X", "^1.0.0", .soft)]),
            Self.recipe("X@1.0.0", [("Y", "*", .hard)]), Self.recipe("Y@1.0.0"),
        ])
        let graph = try DependencyResolver(catalogue: catalogue).resolve([try Self.root("A", "*"), try Self.root("B", "*")])
        #expect(graph.components.map(\.name) == ["Y", "X", "C", "A", "B"])
        #expect(graph.versions["A"]?.description == "1.0.0")
    }

    @Test func conflictNamesEveryRequirerAndRange() throws {
        let roots = [try Self.root("App", "2.0.0"), try Self.root("Pin", "1.0.0")]
        if let error = Self.failure(roots) {
            #expect(error.code == .noVersionSatisfies)
            #expect(error.component == "Lib")
            #expect(Set(error.constraints.map(\.description)) == [
                "App-2.0.0 requires ^2.0.0 (App-2.0.0.yaml)", "Pin-1.0.0 requires 1.0.0 (Pin-1.0.0.yaml)",
            ])
            #expect(error.availableVersions.map(\.description) == ["2.1.0-beta", "2.0.0", "1.4.2", "1.0.0"])
            #expect(error.description.hasPrefix("no version of Lib satisfies every requirement ("))
        }
    }

    @Test func rootVersionThatDoesNotExist() throws {
        if let error = Self.failure([try Self.root("App", "3.0.0")]) {
            #expect(error.code == .noVersionSatisfies)
            #expect(error.description == "no version of App satisfies every requirement (LOCAL_DEPLOYMENT requires 3.0.0); available versions: 2.0.0, 1.0.0")
        }
    }

    @Test func unknownComponent() throws {
        if let error = Self.failure([try Self.root("Needs", "1.0.0")]) {
            #expect(error.code == .unknownComponent)
            #expect(error.description == "no recipe found for component Ghost, required by: Needs-1.0.0 requires ^1.0.0 (Needs-1.0.0.yaml)")
        }
    }

    @Test func cyclesAreReportedWithTheirPathAcrossHardAndSoftEdges() throws {
        if let error = Self.failure([try Self.root("Loop", "*")]) {
            #expect(error.code == .dependencyCycle)
            #expect(error.cycle == ["Loop", "Other", "Third", "Loop"])
            #expect(error.description == "circular dependency: Loop -> Other -> Third -> Loop")
        }
    }

    @Test func selfDependencyIsACycle() throws {
        let catalogue = RecipeCatalogue([Self.recipe("Self@1.0.0", [("Self", "*", .hard)])])
        if let error = Self.failure([try Self.root("Self", "*")], in: catalogue) {
            #expect(error.cycle == ["Self", "Self"])
        }
    }

    @Test func emptyDeploymentResolvesToNothing() throws {
        #expect(try DependencyResolver(catalogue: Self.catalogue).resolve([]).components.isEmpty)
    }

    @Test func catalogueLookups() throws {
        #expect(Self.catalogue.versions(of: "Base").map(\.description) == ["2.0.0", "1.1.0", "1.0.0"])
        #expect(Self.catalogue.contains("Base"))
        #expect(!Self.catalogue.contains("base"))
        #expect(Self.catalogue.recipe(name: "Base", version: try SemanticVersion(parsing: "1.1.0"))?.name == "Base")
    }
}

@Suite struct DependencyResolverPropertyTests {
    typealias Generator = SplitMix64

    static let ranges = ["*", "^1.0.0", "^2.0.0", "<2.0.0", ">=1.1.0", "1.0.0", "~2.1.0", "1.x || 3.x"]

    /// Random catalogues over five components with acyclic dependencies (only on later names): every
    /// successful resolution must satisfy every constraint, list dependencies first and hold nothing
    /// unreachable.
    @Test func successfulResolutionsAreSound() throws {
        var rng = Generator(state: 31)
        let names = ["A", "B", "C", "D", "E"]
        let versions = ["1.0.0", "1.1.0", "2.0.0", "2.1.0", "3.0.0"]
        var successes = 0
        for _ in 0..<400 {
            var recipes: [ComponentRecipe] = []
            for (position, name) in names.enumerated() {
                for version in versions where Bool.random(using: &rng) {
                    let later = names[(position + 1)...].filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
                    let dependencies = later.map { dependency in
                        (dependency, Self.ranges.randomElement(using: &rng) ?? "*", Bool.random(using: &rng) ? DependencyType.hard : .soft)
                    }
                    recipes.append(DependencyResolverTests.recipe("\(name)@\(version)", dependencies))
                }
            }
            let catalogue = RecipeCatalogue(recipes)
            let roots = try names.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }.map {
                try DependencyResolverTests.root($0, Self.ranges.randomElement(using: &rng) ?? "*")
            }
            guard let graph = try? DependencyResolver(catalogue: catalogue).resolve(roots) else { continue }
            successes += 1
            let chosen = graph.versions
            var position: [String: Int] = [:]
            for (index, component) in graph.components.enumerated() { position[component.name] = index }
            for root in roots {
                let version = try #require(chosen[root.name])
                #expect(root.requirement.isSatisfied(by: version))
            }
            for component in graph.components {
                for dependency in component.dependencies {
                    let version = try #require(chosen[dependency.name], "\(component.name) needs \(dependency.name)")
                    #expect(dependency.versionRequirement.isSatisfied(by: version))
                    #expect((position[dependency.name] ?? .max) < (position[component.name] ?? .min))
                }
            }
            // Nothing unreachable: every component is a root or a dependency of a chosen component.
            let needed = Set(roots.map(\.name)).union(graph.components.flatMap { $0.dependencies.map(\.name) })
            #expect(Set(chosen.keys).isSubset(of: needed))
        }
        #expect(successes > 100)
    }
}

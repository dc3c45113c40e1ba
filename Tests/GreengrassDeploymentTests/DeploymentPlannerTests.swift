import GreengrassDeployment
import GreengrassIPCModel
import GreengrassJSON
import GreengrassRecipe
import GreengrassStore
import Testing

/// The planner as a pure function: request + deployed set + recipes → target set, or a failure naming why.
@Suite("Deployment planner")
struct DeploymentPlannerTests {
    static func recipe(
        _ name: String, _ version: String = "1.0.0", dependsOn dependency: (name: String, range: String)? = nil,
        defaults: String? = nil, linuxOnly: Bool = false
    ) throws -> ComponentRecipe {
        var text = "RecipeFormatVersion: '2020-01-25'\nComponentName: \(name)\nComponentVersion: \(version)\n"
        if let defaults { text += "ComponentConfiguration:\n  DefaultConfiguration: \(defaults)\n" }
        if let dependency {
            text += "ComponentDependencies:\n  \(dependency.name):\n    VersionRequirement: '\(dependency.range)'\n"
        }
        text += linuxOnly ? "Manifests:\n  - Platform:\n      os: windows\n    Lifecycle:\n      Run: x\n" : "Manifests:\n  - Lifecycle:\n      Run: sleep 600\n"
        return try ComponentRecipe(contents: text, fileName: "\(name)-\(version).yaml")
    }

    static func deployed(_ name: String, root: Bool = true, configuration: JSONValue = [:], runWith: RunWithInfo? = nil) -> DeployedComponent {
        DeployedComponent(
            name: name, version: "1.0.0", isRoot: root, groupName: root ? "LOCAL_DEPLOYMENT" : nil,
            recipePath: "\(name)-1.0.0.yaml", configuration: configuration, runWith: runWith)
    }

    let planner = DeploymentPlanner(platform: .linux(machine: "x86_64"))

    func plan(
        _ request: CreateLocalDeploymentRequest, current: [DeployedComponent] = [], recipes: [ComponentRecipe]
    ) throws(DeploymentFailure) -> DeploymentPlan {
        try planner.plan(
            current: current, request: request, groupName: "LOCAL_DEPLOYMENT",
            recipes: StoredRecipes(recipes: recipes, paths: ["App-1.0.0": "/store/App-1.0.0.recipe.yaml"]))
    }

    @Test func dependenciesAreResolvedAndOrderedBeforeTheirDependents() throws {
        let plan = try plan(
            CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["App": "1.0.0"]),
            recipes: [try Self.recipe("App", dependsOn: ("Lib", "^1.0.0")), try Self.recipe("Lib", "1.0.0"), try Self.recipe("Lib", "1.5.0")])
        #expect(plan.target.map(\.name) == ["Lib", "App"])
        // The newest version the requirement allows; a dependency is no root and belongs to no group.
        #expect(plan.target[0].version == "1.5.0")
        #expect(plan.target[0].isRoot == false)
        #expect(plan.target[0].groupName == nil)
        #expect(plan.target[1].isRoot)
        #expect(plan.target[1].groupName == "LOCAL_DEPLOYMENT")
        // Where the store keeps the recipe when it knows, else the file it was parsed from.
        #expect(plan.target[1].recipePath == "/store/App-1.0.0.recipe.yaml")
        #expect(plan.target[0].recipePath == "Lib-1.5.0.yaml")
        #expect(plan.removed.isEmpty)
    }

    @Test func aDependencyNoVersionSatisfiesFailsResolution() throws {
        #expect {
            _ = try plan(
                CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["App": "1.0.0"]),
                recipes: [try Self.recipe("App", dependsOn: ("Lib", ">=2.0.0")), try Self.recipe("Lib")])
        } throws: { error in
            (error as? DeploymentFailure)?.errorStack == ["DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION"]
        }
    }

    @Test func twoRootsWhoseRequirementsConflictFailResolution() throws {
        #expect {
            _ = try plan(
                CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["App": "1.0.0", "Lib": "1.0.0"]),
                recipes: [try Self.recipe("App", dependsOn: ("Lib", ">=1.5.0")), try Self.recipe("Lib"), try Self.recipe("Lib", "1.5.0")])
        } throws: { error in
            (error as? DeploymentFailure)?.errorStack == ["DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION"]
        }
    }

    @Test func aRecipeWithNoManifestForThisPlatformIsABadRecipe() throws {
        #expect {
            _ = try plan(CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["Win": "1.0.0"]), recipes: [try Self.recipe("Win", linuxOnly: true)])
        } throws: { error in
            (error as? DeploymentFailure)?.errorStack == ["DEPLOYMENT_FAILURE", "RECIPE_PARSE_ERROR"]
        }
    }

    @Test func configurationIsTheRunningOneWithResetThenDefaultsThenMerge() throws {
        let current = [Self.deployed("App", configuration: ["kept": 1, "dropped": 2, "level": 9])]
        let plan = try plan(
            CreateLocalDeploymentRequest(
                rootComponentVersionsToAdd: ["App": "1.0.0"],
                componentToConfiguration: ["App": ConfigurationUpdate(merge: ["added": true], reset: ["/dropped", "/level"])]),
            current: current, recipes: [try Self.recipe("App", defaults: "{level: 1, other: x}")])
        // RESET removed `dropped` and `level`; the default filled `level` back in and `other`; MERGE added `added`.
        #expect(plan.target.first?.configuration == ["kept": 1, "level": 1, "other": "x", "added": true])
    }

    @Test func aDefaultNeverOverridesARunningValue() throws {
        let plan = try plan(
            CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["App": "1.0.0"]),
            current: [Self.deployed("App", configuration: ["level": 9])], recipes: [try Self.recipe("App", defaults: "{level: 1}")])
        #expect(plan.target.first?.configuration == ["level": 9])
    }

    @Test func badRequestsFailNamingWhatIsWrong() throws {
        let recipes = [try Self.recipe("App"), try Self.recipe("Lib")]
        let cases: [(CreateLocalDeploymentRequest, String)] = [
            (CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["App": "one"]), "Invalid version \"one\" for component App: "),
            (CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["App": "1.0.0"], componentToConfiguration: ["Lib": ConfigurationUpdate(merge: ["a": 1])]),
             "--update-config names Lib, which is not a root component of this deployment"),
            (CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["App": "1.0.0"], componentToConfiguration: ["App": ConfigurationUpdate(reset: ["level"])]),
             "RESET path \"level\" for App is not a JSON pointer (it must start with /)"),
            (CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["App": "1.0.0"], componentToConfiguration: ["App": ConfigurationUpdate(merge: [1])]),
             "MERGE for App must be a JSON object, got "),
        ]
        for (request, cause) in cases {
            #expect {
                _ = try plan(request, recipes: recipes)
            } throws: { error in
                guard let failure = error as? DeploymentFailure else { return false }
                return failure.errorStack == ["DEPLOYMENT_FAILURE", "INVALID_REQUEST"] && failure.cause.hasPrefix(cause)
            }
        }
    }

    @Test func runWithComesFromTheRequestElseFromTheRunningComponent() throws {
        let recipes = [try Self.recipe("App"), try Self.recipe("Other")]
        let current = [Self.deployed("App", runWith: RunWithInfo(posixUser: "old")), Self.deployed("Other", runWith: RunWithInfo(posixUser: "kept"))]
        let plan = try plan(
            CreateLocalDeploymentRequest(componentToRunWithInfo: ["App": RunWithInfo(posixUser: "new")]), current: current, recipes: recipes)
        #expect(plan.target.first { $0.name == "App" }?.runWith?.posixUser == "new")
        #expect(plan.target.first { $0.name == "Other" }?.runWith?.posixUser == "kept")
    }

    @Test func aComponentNoLongerNeededIsRemoved() throws {
        let current = [Self.deployed("Lib", root: false), Self.deployed("App")]
        let plan = try plan(
            CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["Solo": "1.0.0"], rootComponentsToRemove: ["App"]),
            current: current, recipes: [try Self.recipe("App", dependsOn: ("Lib", "^1.0.0")), try Self.recipe("Lib"), try Self.recipe("Solo")])
        #expect(plan.target.map(\.name) == ["Solo"])
        #expect(plan.removed.sorted() == ["App", "Lib"])
    }

    /// What the rest of the deployment reads instead of resolving again: the target's recipes and those of the set
    /// deployed before it (Bootstrap compares with it, a rollback applies it), one that does not resolve with its error.
    @Test func thePlanCarriesTheRecipesOfTheTargetAndOfTheSetBeforeItResolved() throws {
        let plan = try plan(
            CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["App": "2.0.0"]),
            current: [Self.deployed("App"), Self.deployed("Gone", root: false)],
            recipes: [try Self.recipe("App", "1.0.0", linuxOnly: true), try Self.recipe("App", "2.0.0"), try Self.recipe("Unused")])
        #expect(plan.target.map(\.version) == ["2.0.0"])
        #expect(plan.removed == ["Gone"])
        #expect(try plan.recipes.recipe("App", "2.0.0")?.lifecycle == ["Run": "sleep 600"])
        #expect(throws: RecipeError.self) { _ = try plan.recipes.recipe("App", "1.0.0") }
        // No recipe stored for it, and none of the sets uses this one.
        #expect(try plan.recipes.recipe("Gone", "1.0.0") == nil)
        #expect(plan.recipes.resolution("Unused", "1.0.0") == nil)
    }
}

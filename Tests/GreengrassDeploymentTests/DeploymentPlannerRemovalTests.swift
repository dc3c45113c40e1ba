import GreengrassDeployment
import GreengrassIPCModel
import GreengrassJSON
import GreengrassRecipe
import GreengrassStore
import Testing

/// `--remove`: a name that is not a root component of the device fails the deployment with a cause naming it,
/// instead of succeeding having removed nothing.
@Suite("Deployment planner: removals")
struct DeploymentPlannerRemovalTests {
    static func recipe(_ name: String, dependsOn dependency: String? = nil) throws -> ComponentRecipe {
        var text = "RecipeFormatVersion: '2020-01-25'\nComponentName: \(name)\nComponentVersion: 1.0.0\n"
        if let dependency {
            text += "ComponentDependencies:\n  \(dependency):\n    VersionRequirement: '>=1.0.0'\n"
        }
        text += "Manifests:\n  - Lifecycle:\n      Run: sleep 600\n"
        return try ComponentRecipe(contents: text, fileName: "\(name)-1.0.0.yaml")
    }

    static func deployed(_ name: String, root: Bool) -> DeployedComponent {
        DeployedComponent(
            name: name, version: "1.0.0", isRoot: root, groupName: root ? "LOCAL_DEPLOYMENT" : nil,
            recipePath: "\(name)-1.0.0.yaml", configuration: [:], runWith: nil)
    }

    /// `App` (root) depends on `Base`; `Solo` is a second root.
    static let current = [deployed("Base", root: false), deployed("App", root: true), deployed("Solo", root: true)]

    static func plan(
        removing names: [String], current: [DeployedComponent] = current, deployedAtStart: [DeployedComponent]? = nil
    ) throws(DeploymentFailure) -> DeploymentPlan {
        let recipes: StoredRecipes
        do {
            recipes = StoredRecipes(recipes: [try recipe("Base"), try recipe("App", dependsOn: "Base"), try recipe("Solo")])
        } catch {
            Issue.record("fixture recipes do not parse: \(error)")
            throw DeploymentFailure(errorStack: [], errorTypes: [], cause: "fixture")
        }
        return try DeploymentPlanner(platform: .linux(machine: "x86_64")).plan(
            current: current, request: CreateLocalDeploymentRequest(rootComponentsToRemove: names),
            groupName: "LOCAL_DEPLOYMENT", recipes: recipes, deployedAtStart: deployedAtStart)
    }

    @Test func removingRootsRemovesThemAndTheirUnusedDependencies() throws {
        let plan = try Self.plan(removing: ["App", "Solo"])
        #expect(plan.target.isEmpty)
        #expect(Set(plan.removed) == ["App", "Base", "Solo"])
    }

    @Test func aComponentThatIsNotDeployedFailsTheDeploymentNamingIt() {
        #expect(throws: DeploymentFailure(
            errorStack: ["DEPLOYMENT_FAILURE", "INVALID_REQUEST"], errorTypes: ["REQUEST_ERROR"],
            cause: "--remove names Typo, which is not deployed on this device (root components: App, Solo)")
        ) {
            _ = try Self.plan(removing: ["Solo", "Typo"])
        }
    }

    @Test func aResumedDeploymentWhoseRemovalIsAlreadyCommittedStillSucceeds() throws {
        // After a Bootstrap restart the deployment is planned again against its own committed target (no Solo).
        let committed = Self.current.filter { $0.name != "Solo" }
        let plan = try Self.plan(removing: ["Solo"], current: committed, deployedAtStart: Self.current)
        #expect(Set(plan.target.map(\.name)) == ["App", "Base"])
        #expect(plan.removed.isEmpty)
    }

    @Test func aDependencyThatIsNotARootFailsTheDeploymentNamingIt() throws {
        let failure = try #require(throws: DeploymentFailure.self) { _ = try Self.plan(removing: ["Base"]) }
        #expect(failure.cause.hasPrefix("--remove names Base, which is deployed only as a dependency"))
    }
}

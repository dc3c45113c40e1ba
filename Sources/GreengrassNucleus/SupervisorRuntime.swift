import GreengrassDeployment
import GreengrassIPCServices
import GreengrassJSON
import GreengrassLifecycle
import GreengrassRecipe
import GreengrassStore
import GreengrassSupervisor
import Logging
import NIOPosix
import Synchronization

/// Deployments' view of the supervisor: builds run specs from the deployed set and waits for health.
struct SupervisorRuntime: ComponentRuntime {
    let supervisor: Supervisor<ContinuousClock>
    let launcher: ComponentLauncher
    let packages: PackageStore
    /// Where the start-up recipe reads run (the owner creates and shuts down the pool).
    let fileWork: NIOThreadPool
    let tokens: AuthenticationTokens
    let logger: Logger
    /// Called after a new deployed set was handed to the supervisor (policies and config subscribers follow it).
    let onApplied: @Sendable ([DeployedComponent]) async -> Void

    func remove(_ names: [String]) async {
        // Dependents first: stop() on a component stops its HARD dependers, so removing in reverse of the
        // recorded order is enough; Uninstall then runs for each.
        for name in names.reversed() {
            await supervisor.remove(name)
            tokens.revoke(principal: name)
        }
    }

    /// Starts the deployed set at nucleus start-up, reading the stored recipes once (on the file-work pool) and
    /// resolving each of the set's once.
    func apply(_ target: [DeployedComponent]) async throws {
        let (packages, logger, platform) = (packages, logger, launcher.platform)
        let recipes = try await fileWork.runIfActive {
            let stored = packages.storedRecipes { file, error in
                logger.warning("Skipping unreadable stored recipe \(file): \(error)")
            }
            return ResolvedRecipes(target, from: stored) { recipe throws(RecipeError) in try recipe.resolve(for: platform) }
        }
        try await apply(target, recipes: recipes)
    }

    func apply(_ target: [DeployedComponent], recipes: ResolvedRecipes) async throws {
        let deployed = Dictionary(uniqueKeysWithValues: target.map { ($0.name, $0) })
        var specs: [ComponentRunSpec] = []
        // Build every spec before touching anything, so one bad component leaves the others as they were.
        for component in target {
            let (spec, unresolved) = try launcher.runSpec(for: component, deployed: deployed, recipes: recipes)
            for variable in unresolved {
                logger.error(
                    "Recipe variable left as written",
                    metadata: ["eventType": "config-interpolation-error", "serviceName": "\(component.name)", "variable": "\(variable)"])
            }
            specs.append(spec)
        }
        await onApplied(target)
        for spec in specs {
            // New components start; changed ones are reinstalled or restarted by the supervisor itself (a BROKEN
            // one reinstalls); unchanged ones are left alone, so a FINISHED component is not run again.
            if supervisor.upsert(spec) == .added {
                _ = supervisor.start(spec.name)
            }
        }
    }

    func bootstrap(_ target: [DeployedComponent], current: [DeployedComponent], recipes: ResolvedRecipes) async throws -> BootstrapRequest {
        let targetByName = Dictionary(uniqueKeysWithValues: target.map { ($0.name, $0) })
        let currentByName = Dictionary(uniqueKeysWithValues: current.map { ($0.name, $0) })
        var request = BootstrapRequest.none
        for component in target {
            let (spec, _) = try launcher.runSpec(for: component, deployed: targetByName, recipes: recipes)
            let previous = currentByName[component.name]
            // The deployed Bootstrap as interpolated now; a recipe no longer in the store counts as changed.
            let previousBootstrap = previous.flatMap {
                try? launcher.runSpec(for: $0, deployed: currentByName, recipes: recipes).0.phases[.bootstrap]
            }
            guard BootstrapStep.isNeeded(
                current: previous, target: component, currentBootstrap: previousBootstrap,
                targetBootstrap: spec.phases[.bootstrap])
            else { continue }
            logger.info(
                "Running Bootstrap", metadata: ["eventType": "deployment-bootstrap", "serviceName": "\(component.name)"])
            let outcome = await supervisor.runOnce(.bootstrap, of: spec) ?? .skipped
            request = BootstrapStep.combine(request, try BootstrapStep.interpret(outcome, component: component.name))
        }
        return request
    }

    /// How long every component must stay RUNNING/FINISHED, with no error, before a deployment counts as
    /// healthy: a Run script that crashes right after starting is RUNNING for a moment only.
    static let settleTime: Duration = .milliseconds(500)

    func awaitHealthy(_ names: [String], timeout: Duration) async -> [String: String] {
        let supervisor = supervisor
        return await ComponentHealthWait(clock: supervisor.clock, settleTime: Self.settleTime).wait(
            for: names, timeout: timeout, state: { supervisor.state(of: $0) }, changes: supervisor.stateChanges())
    }
}

/// Remembers the configuration each component had when last applied, to tell which ones a new set changes.
final class AppliedConfigurations: Sendable {
    private let last = Mutex<[String: JSONValue]>([:])

    func changed(in target: [DeployedComponent]) -> [String] {
        last.withLock { last in
            let changed = target.filter { last[$0.name] != nil && last[$0.name] != $0.configuration }.map(\.name)
            last = Dictionary(uniqueKeysWithValues: target.map { ($0.name, $0.configuration) })
            return changed
        }
    }
}

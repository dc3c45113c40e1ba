import GreengrassDeployment
import GreengrassIPCServices
import GreengrassLifecycle
import GreengrassStore
import GreengrassSupervisor
import Logging

/// Deployments' view of the supervisor: builds run specs from the deployed set and waits for health.
struct SupervisorRuntime: ComponentRuntime {
    let supervisor: Supervisor<ContinuousClock>
    let launcher: ComponentLauncher
    let packages: PackageStore
    let tokens: AuthenticationTokens
    let logger: Logger

    func remove(_ names: [String]) async {
        // Dependents first: stop() on a component stops its HARD dependers, so removing in reverse of the
        // recorded order is enough; Uninstall then runs for each.
        for name in names.reversed() {
            await supervisor.remove(name)
            tokens.revoke(principal: name)
        }
    }

    func apply(_ target: [DeployedComponent]) async throws {
        let recipes = packages.storedRecipes { file, error in
            logger.warning("Skipping unreadable stored recipe \(file): \(error)")
        }
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
        for spec in specs {
            switch supervisor.upsert(spec) {
            case .added:
                _ = supervisor.start(spec.name)
            default:
                // A BROKEN component only leaves BROKEN through a deployment that touches it (Greengrass).
                if supervisor.state(of: spec.name) == .broken { _ = supervisor.reinstall(spec.name) }
                else { _ = supervisor.start(spec.name) }
            }
        }
    }

    func awaitHealthy(_ names: [String], timeout: Duration) async -> [String: String] {
        let changes = supervisor.stateChanges()
        var failures: [String: String] = [:]
        var waiting = Set<String>()
        for name in names {
            switch supervisor.state(of: name) {
            case .running?, .finished?: continue
            case .broken?: failures[name] = "is BROKEN"
            case nil: failures[name] = "is not known to the supervisor"
            default: waiting.insert(name)
            }
        }
        if waiting.isEmpty { return failures }
        let outcome = await withTaskGroup(of: [String: String]?.self) { group in
            group.addTask {
                var pending = waiting
                var broken: [String: String] = [:]
                for await change in changes where pending.contains(change.name) {
                    switch change.to {
                    case .running, .finished: pending.remove(change.name)
                    case .broken:
                        pending.remove(change.name)
                        broken[change.name] = "went BROKEN (\(change.statusCode.rawValue))"
                    default: break
                    }
                    // Re-check states: a transition may have happened before we subscribed.
                    for name in pending {
                        if let state = supervisor.state(of: name), state == .running || state == .finished { pending.remove(name) }
                    }
                    if pending.isEmpty { return broken }
                }
                return broken
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if let outcome {
            failures.merge(outcome) { $1 }
        } else {
            for name in waiting {
                let state = supervisor.state(of: name)
                if state != .running && state != .finished {
                    failures[name] = "did not reach RUNNING or FINISHED within \(timeout) (state \(state?.rawValue ?? "unknown"))"
                }
            }
        }
        return failures
    }
}

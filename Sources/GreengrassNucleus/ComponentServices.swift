import GreengrassAuthorization
import GreengrassIPCServices
import GreengrassJSON
import GreengrassLifecycle
import GreengrassStore
import GreengrassSupervisor

/// Component configurations for the IPC configuration operations, backed by the store.
struct StoredConfigurations: ComponentConfigurationStore {
    let store: NucleusStore

    func configuration(of component: String) async -> JSONValue? {
        (try? store.deployedComponent(named: component))?.configuration
    }

    func setConfiguration(_ configuration: JSONValue, of component: String) async throws {
        try store.setConfiguration(configuration, ofComponent: component)
    }
}

/// `UpdateState` from a component, applied by the supervisor.
struct SupervisorStateReports: ComponentStateReporting {
    let supervisor: Supervisor<ContinuousClock>

    func report(component: String, state: String) async -> Bool {
        switch state {
        case "RUNNING": supervisor.reportState(component, .running)
        case "ERRORED": supervisor.reportState(component, .errored)
        default: false
        }
    }
}

/// Reloads `accessControl` policies from every deployed component's configuration.
struct PolicyReloader: Sendable {
    let engine: AuthorizationEngine
    let store: NucleusStore

    func reload() {
        reload(from: (try? store.deployedComponents()) ?? [])
    }

    /// Takes the policies of a set the caller already holds (a deployment hands over the set it just committed),
    /// so the store is not read again for it.
    func reload(from components: [DeployedComponent]) {
        let configurations = components.reduce(into: [String: JSONValue]()) { $0[$1.name] = $1.configuration }
        engine.update(configurations: configurations)
    }
}

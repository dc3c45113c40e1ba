import EventStreamRPCServer
import GreengrassConfig
import GreengrassDeployment
import GreengrassIPCModel
import GreengrassIPCServices
import GreengrassJSON
import GreengrassLifecycle
import GreengrassStore
import GreengrassSupervisor
import Logging

/// Connect-time authentication: the token must be one the nucleus issued and has not revoked.
struct TokenAuthenticator: IPCAuthenticator {
    let tokens: AuthenticationTokens

    func authenticate(authToken: String) async -> String? {
        tokens.principal(forToken: authToken)
    }
}

/// `CreateLocalDeployment` and friends, backed by the deployment queue.
struct DeploymentQueueService: LocalDeploymentService {
    let queue: DeploymentQueue

    func submit(_ request: CreateLocalDeploymentRequest) async throws(IPCModeledError) -> String {
        do {
            return try await queue.submit(request)
        } catch {
            switch error {
            case .invalidRecipeDirectory(let why): throw .invalidRecipeDirectoryPath(why)
            case .invalidArtifactsDirectory(let why): throw .invalidArtifactsDirectoryPath(why)
            case .invalidArguments(let why): throw .invalidArguments(why)
            case .storeFailure(let why): throw .serviceError(why)
            }
        }
    }

    func localDeployments() async -> [LocalDeployment] { await queue.localDeployments() }
    func localDeployment(id: String) async -> LocalDeployment? { await queue.localDeployment(id: id) }

    func cancel(id: String) async throws(IPCModeledError) -> LocalDeploymentCancellation {
        do {
            return try await queue.cancel(id: id)
        } catch {
            throw .serviceError(error.description)
        }
    }
}

/// `ListComponents` and friends: deployed components from the store, live state from the supervisor, plus
/// the nucleus itself as `aws.greengrass.Nucleus`, as Greengrass lists it.
struct SupervisedComponents: ComponentManagementService {
    let supervisor: Supervisor<ContinuousClock>
    let store: NucleusStore

    func componentDetails() async -> [ComponentDetails] {
        let snapshot = supervisor.snapshot()
        var result = [nucleusDetails()]
        for component in (try? store.deployedComponents()) ?? [] {
            result.append(details(component, snapshot[component.name]))
        }
        return result
    }

    func componentDetails(named name: String) async -> ComponentDetails? {
        if name == NucleusSettings.nucleusComponentName { return nucleusDetails() }
        guard let component = try? store.deployedComponent(named: name) else { return nil }
        return details(component, supervisor.snapshot()[name])
    }

    func restartComponent(named name: String) async -> (RequestStatus, String?) {
        guard supervisor.state(of: name) != nil else { return (.failed, "Component \(name) is not running in this nucleus") }
        if supervisor.state(of: name) == .broken {
            return (.failed, "Component \(name) is BROKEN; a deployment is needed to reinstall it")
        }
        return supervisor.restart(name) ? (.succeeded, nil) : (.failed, "Component \(name) cannot be restarted now")
    }

    func stopComponent(named name: String) async -> (RequestStatus, String?) {
        guard supervisor.state(of: name) != nil else { return (.failed, "Component \(name) is not running in this nucleus") }
        await supervisor.stop(name)
        return (.succeeded, nil)
    }

    private func details(_ component: DeployedComponent, _ status: ComponentStatus?) -> ComponentDetails {
        ComponentDetails(
            componentName: component.name, version: component.version,
            state: LifecycleStateName(rawValue: (status?.state ?? .new).rawValue) ?? .new,
            configuration: component.configuration)
    }

    private func nucleusDetails() -> ComponentDetails {
        let configuration = (try? store.document(named: NucleusConfigurationStore.documentName))?
            .value(atPointer: "/services/\(NucleusSettings.nucleusComponentName)/configuration")
        return ComponentDetails(
            componentName: NucleusSettings.nucleusComponentName, version: NucleusVersion.current, state: .finished,
            configuration: configuration ?? [:])
    }
}

/// The deployment queue's `componentUpdatePolicy` step, backed by the `SubscribeToComponentUpdates` operations.
func componentUpdateNotifier(_ operations: ComponentUpdateOperations) -> ComponentUpdateNotifier {
    ComponentUpdateNotifier(
        notify: { deploymentID, isGgcRestarting, timeout in
            let result = await operations.notifyAndWait(
                deploymentID: deploymentID, isGgcRestarting: isGgcRestarting, timeout: timeout, clock: ContinuousClock())
            return "notified \(result.notified.sorted()), \(result.deferrals) deferral(s), "
                + (result.outcome == .agreed ? "no component deferring" : "timeout \(timeout) reached")
        },
        finished: { await operations.updateFinished(deploymentID: $0) })
}

/// `PutComponentMetric`, logging each accepted metric to the nucleus log.
func componentMetricOperations(authorizer: any IPCAuthorizer, logger: Logger) -> ComponentMetricOperations {
    ComponentMetricOperations(authorizer: authorizer, now: epochMilliseconds) { component, metric in
        logger.info(
            "Component metric",
            metadata: [
                "eventType": "component-metric", "serviceName": "\(component)", "metric": "\(metric.name)",
                "unit": "\(metric.unit.rawValue)", "value": "\(metric.value)",
            ])
    }
}

/// `PauseComponent`/`ResumeComponent` on the supervisor's freezer.
struct SupervisorPauseService: ComponentPauseService {
    let supervisor: Supervisor<ContinuousClock>

    func pause(_ component: String) async throws(PauseResumeFailure) {
        do { try supervisor.pause(component) } catch { throw Self.failure(error) }
    }

    func resume(_ component: String) async throws(PauseResumeFailure) {
        do { try supervisor.resume(component) } catch { throw Self.failure(error) }
    }

    static func failure(_ error: Supervisor<ContinuousClock>.PauseError) -> PauseResumeFailure {
        switch error {
        case .notFound: .componentNotFound
        case .notRunning: .notRunning
        case .notPaused: .notPaused
        case .failed(let why): .failed(why)
        }
    }
}

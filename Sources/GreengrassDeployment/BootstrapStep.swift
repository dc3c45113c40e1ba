import GreengrassLifecycle
import GreengrassStore

/// What a deployment's Bootstrap step asks of the nucleus once every Bootstrap script has run.
public enum BootstrapRequest: Sendable, Equatable {
    /// Nothing: the deployment goes on in this process.
    case none
    /// A script exited 100: restart the nucleus, then finish the deployment.
    case restartNucleus(component: String)
    /// A script exited 101: the host must reboot. The nucleus does not reboot devices itself (see the README);
    /// it restarts, which is what it can guarantee, and logs that a reboot was asked for.
    case rebootHost(component: String)
}

/// Greengrass's Bootstrap rules (reference §1.5), kept apart from process spawning so they are testable.
public enum BootstrapStep {
    /// Whether `component` must run Bootstrap: it is new, its version changed, or its (interpolated) Bootstrap
    /// phase changed. `currentBootstrap`/`targetBootstrap` are the phase as deployed now and as the target has it.
    public static func isNeeded<Phase: Equatable>(
        current: DeployedComponent?, target: DeployedComponent, currentBootstrap: Phase?, targetBootstrap: Phase?
    ) -> Bool {
        guard targetBootstrap != nil else { return false }
        guard let current else { return true }
        return current.version != target.version || currentBootstrap != targetBootstrap
    }

    /// Interprets one Bootstrap script's outcome: 0 (or skipped) continues, 100 asks for a nucleus restart,
    /// 101 for a host reboot; anything else, a timeout or a launch failure fails the deployment.
    public static func interpret(_ outcome: PhaseOutcome, component: String) throws(DeploymentFailure) -> BootstrapRequest {
        switch outcome {
        case .exited(0), .skipped:
            return .none
        case .exited(100):
            return .restartNucleus(component: component)
        case .exited(101):
            return .rebootHost(component: component)
        case .exited(let code):
            throw .bootstrap("Bootstrap of \(component) exited with code \(code)")
        case .timedOut:
            throw .bootstrap("Bootstrap of \(component) timed out")
        case .launchFailed:
            throw .bootstrap("Bootstrap of \(component) could not be started (see its log)")
        }
    }

    /// The strongest of two requests: a reboot outranks a restart, which outranks nothing.
    public static func combine(_ first: BootstrapRequest, _ second: BootstrapRequest) -> BootstrapRequest {
        func rank(_ request: BootstrapRequest) -> Int {
            switch request {
            case .none: 0
            case .restartNucleus: 1
            case .rebootHost: 2
            }
        }
        return rank(second) > rank(first) ? second : first
    }
}

extension DeploymentFailure {
    static func bootstrap(_ cause: String) -> DeploymentFailure {
        DeploymentFailure(
            errorStack: ["DEPLOYMENT_FAILURE", "COMPONENT_BOOTSTRAP_ERROR"], errorTypes: ["USER_COMPONENT_ERROR"], cause: cause)
    }
}

import GreengrassIPCModel

/// One `accessControl` policy: a principal may call `operations` of `service` on `resources`.
public struct AuthorizationPolicy: Sendable, Hashable {
    /// The policy's key in `accessControl.<service>` (unique across components by convention; used in logs).
    public var policyID: String
    /// The component that declared the policy (Greengrass: the principal is always the declaring component),
    /// or `*` for built-in policies that apply to every caller.
    public var principal: String
    /// The IPC service id the policy is for, e.g. `aws.greengrass.ipc.pubsub`.
    public var service: String
    /// `policyDescription`, informational only.
    public var policyDescription: String?
    /// Fully qualified operation names (`aws.greengrass#PublishToTopic`) or `*` for every operation of `service`.
    public var operations: Set<String>
    /// The allowed resources; nil when the policy has no `resources` list, which allows only calls that carry no
    /// resource at all (as in Greengrass, where such a policy stores a null resource).
    public var resources: [ResourcePattern]?

    /// Creates a policy.
    public init(
        policyID: String,
        principal: String,
        service: String,
        policyDescription: String? = nil,
        operations: Set<String>,
        resources: [ResourcePattern]?
    ) {
        self.policyID = policyID
        self.principal = principal
        self.service = service
        self.policyDescription = policyDescription
        self.operations = operations
        self.resources = resources
    }

    /// Whether the policy allows `resource` (nil: a call without a resource) in the given style.
    func allows(resource: String?, style: ResourceMatchingStyle) -> Bool {
        guard let resource else { return true }
        guard let resources, !resource.isEmpty else { return false }
        return resources.contains { $0.matches(resource, style: style) }
    }
}

/// The IPC service ids used as keys of `accessControl`, with the operations each one authorizes.
public enum IPCAuthorizationService {
    /// Local publish/subscribe (`PublishToTopic`, `SubscribeToTopic`).
    public static let pubsub = "aws.greengrass.ipc.pubsub"
    /// The IoT Core MQTT proxy (`PublishToIoTCore`, `SubscribeToIoTCore`); the only MQTT-style service.
    public static let mqttProxy = "aws.greengrass.ipc.mqttproxy"
    /// Component configuration (Greengrass Lite).
    public static let config = "aws.greengrass.ipc.config"
    /// `PauseComponent`, `ResumeComponent`.
    public static let lifecycle = "aws.greengrass.ipc.lifecycle"
    /// `PutComponentMetric`.
    public static let componentMetric = "aws.greengrass.ipc.componentmetric"
    /// The local deployment and component-management operations (`greengrass-cli`'s service).
    public static let cli = "aws.greengrass.Cli"
    /// Secret manager.
    public static let secretManager = "aws.greengrass.SecretManager"
    /// Shadow manager.
    public static let shadowManager = "aws.greengrass.ShadowManager"
    /// Client device auth.
    public static let clientDeviceAuth = "aws.greengrass.clientdevices.Auth"
    /// `ValidateAuthorizationToken` (Greengrass Lite's name).
    public static let authorizationAgent = "aws.greengrass.authorizationagent"
    /// The token exchange service's HTTP endpoint.
    public static let tokenExchange = "aws.greengrass.TokenExchangeService"
}

/// Which services exist, which operations each registers, and how each matches resources.
///
/// A policy for an unknown service, or naming an operation its service did not register, is rejected when
/// policies load (Greengrass: "Operation not registered with component …").
public struct AuthorizationServiceCatalog: Sendable, Hashable {
    /// Service id → operations it registers (`*` is always accepted in addition).
    public var operations: [String: Set<String>]
    /// Services whose resources are MQTT topics (``ResourceMatchingStyle/mqtt``).
    public var mqttStyleServices: Set<String>

    /// Creates a catalog.
    public init(operations: [String: Set<String>], mqttStyleServices: Set<String>) {
        self.operations = operations
        self.mqttStyleServices = mqttStyleServices
    }

    /// How `service` matches resources.
    public func matchingStyle(for service: String) -> ResourceMatchingStyle {
        mqttStyleServices.contains(service) ? .mqtt : .standard
    }

    /// The services and operations of AWS IoT Greengrass v2 (Java nucleus, Greengrass CLI and Lite).
    /// The Cli component registers `CancelLocalDeployment` too (`CLIService` sets `CancelLocalDeploymentHandler`).
    public static let greengrass: AuthorizationServiceCatalog = {
        typealias Name = IPCOperationName
        return AuthorizationServiceCatalog(
            operations: [
                IPCAuthorizationService.pubsub: [Name.publishToTopic, Name.subscribeToTopic],
                IPCAuthorizationService.mqttProxy: [Name.publishToIoTCore, Name.subscribeToIoTCore, Name.subscribeToIoTCoreConnectionStatus],
                IPCAuthorizationService.config: [
                    Name.getConfiguration, Name.updateConfiguration, Name.subscribeToConfigurationUpdate,
                    Name.subscribeToValidateConfigurationUpdates, Name.sendConfigurationValidityReport,
                ],
                IPCAuthorizationService.lifecycle: [Name.pauseComponent, Name.resumeComponent],
                IPCAuthorizationService.componentMetric: [Name.putComponentMetric],
                IPCAuthorizationService.cli: Set(GreengrassOperation.allCases.map(\.operationName)).union([Name.createDebugPassword]),
                IPCAuthorizationService.secretManager: [Name.getSecretValue],
                IPCAuthorizationService.shadowManager: [
                    Name.getThingShadow, Name.updateThingShadow, Name.deleteThingShadow, Name.listNamedShadowsForThing,
                ],
                IPCAuthorizationService.clientDeviceAuth: [
                    Name.subscribeToCertificateUpdates, Name.verifyClientDeviceIdentity, Name.getClientDeviceAuthToken,
                    Name.authorizeClientDeviceAction,
                ],
                IPCAuthorizationService.authorizationAgent: [Name.validateAuthorizationToken],
                IPCAuthorizationService.tokenExchange: ["getCredentials"],
            ],
            mqttStyleServices: [IPCAuthorizationService.mqttProxy])
    }()
}

/// A problem found while loading `accessControl`: what was wrong, where, and what was dropped because of it.
public struct AuthorizationPolicyIssue: Sendable, Hashable, CustomStringConvertible {
    /// What the loader did about the problem.
    public enum Effect: String, Sendable, Hashable {
        /// The component's whole `accessControl` was unreadable and ignored.
        case accessControlIgnored = "access control ignored"
        /// Every policy for this service in this component was ignored.
        case serviceIgnored = "service ignored"
        /// This policy was not loaded.
        case policySkipped = "policy skipped"
        /// Only this resource of the policy was dropped; the rest of the policy is in force.
        case resourceSkipped = "resource skipped"
        /// Reported only; the policy is in force (e.g. an unknown field, a reused policy id).
        case reportedOnly = "policy kept"
    }

    /// The component whose configuration holds the policy.
    public var component: String
    /// The service id key, when the problem is inside one.
    public var service: String?
    /// The policy id, when the problem is inside one.
    public var policyID: String?
    /// The field, e.g. `operations` or `resources[2]`.
    public var field: String?
    /// What is wrong.
    public var problem: String
    /// What was dropped.
    public var effect: Effect

    /// Creates an issue.
    public init(component: String, service: String? = nil, policyID: String? = nil, field: String? = nil, problem: String, effect: Effect) {
        self.component = component
        self.service = service
        self.policyID = policyID
        self.field = field
        self.problem = problem
        self.effect = effect
    }

    public var description: String {
        var location = "component \(component) accessControl"
        if let service { location += ", service \(service)" }
        if let policyID { location += ", policy \(policyID)" }
        if let field { location += ", field \(field)" }
        return "\(location): \(problem) (\(effect.rawValue))"
    }
}

// Shapes of SubscribeToComponentUpdates / DeferComponentUpdate, PutComponentMetric and
// SubscribeToIoTCoreConnectionStatus, with the AWS model's member names (gg_ipc_model.json).

/// How a deployment treats components that subscribed with `SubscribeToComponentUpdates`: the cloud deployment
/// document's `componentUpdatePolicy`. Greengrass gives local deployments `SKIP_NOTIFY_COMPONENTS` with a 0 s
/// timeout (`DeploymentDocumentConverter`); cloud deployments default to `NOTIFY_COMPONENTS` with 60 s.
public struct ComponentUpdatePolicy: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        case notifyComponents = "NOTIFY_COMPONENTS"
        case skipNotifyComponents = "SKIP_NOTIFY_COMPONENTS"
    }

    /// The cloud default timeout for `NOTIFY_COMPONENTS`.
    public static let defaultNotifyTimeoutSeconds = 60
    /// What a local deployment gets unless asked otherwise.
    public static let localDefault = ComponentUpdatePolicy(action: .skipNotifyComponents, timeoutInSeconds: 0)

    public var action: Action
    public var timeoutInSeconds: Int

    public init(action: Action, timeoutInSeconds: Int) {
        self.action = action
        self.timeoutInSeconds = timeoutInSeconds
    }
}

/// `aws.greengrass#PreComponentUpdateEvent`.
public struct PreComponentUpdateEvent: Codable, Sendable, Equatable {
    public var deploymentId: String
    public var isGgcRestarting: Bool

    public init(deploymentId: String, isGgcRestarting: Bool) {
        self.deploymentId = deploymentId
        self.isGgcRestarting = isGgcRestarting
    }
}

/// `aws.greengrass#PostComponentUpdateEvent`.
public struct PostComponentUpdateEvent: Codable, Sendable, Equatable {
    public var deploymentId: String

    public init(deploymentId: String) { self.deploymentId = deploymentId }
}

/// `aws.greengrass#ComponentUpdatePolicyEvents`, a union: exactly one member is set.
public struct ComponentUpdatePolicyEvents: Codable, Sendable, Equatable {
    public static let shape = "aws.greengrass#ComponentUpdatePolicyEvents"
    public var preUpdateEvent: PreComponentUpdateEvent?
    public var postUpdateEvent: PostComponentUpdateEvent?

    public init(preUpdateEvent: PreComponentUpdateEvent? = nil, postUpdateEvent: PostComponentUpdateEvent? = nil) {
        self.preUpdateEvent = preUpdateEvent
        self.postUpdateEvent = postUpdateEvent
    }
}

/// `aws.greengrass#DeferComponentUpdateRequest`.
public struct DeferComponentUpdateRequest: Codable, Sendable, Equatable {
    public var deploymentId: String?
    public var message: String?
    public var recheckAfterMs: Int64?

    public init(deploymentId: String? = nil, message: String? = nil, recheckAfterMs: Int64? = nil) {
        self.deploymentId = deploymentId
        self.message = message
        self.recheckAfterMs = recheckAfterMs
    }
}

/// `aws.greengrass#Metric`. `unit` is the `MetricUnitType` enum text as sent (validated by the nucleus).
public struct ComponentMetric: Codable, Sendable, Equatable {
    public var name: String?
    public var unit: String?
    public var value: Double?

    public init(name: String? = nil, unit: String? = nil, value: Double? = nil) {
        self.name = name
        self.unit = unit
        self.value = value
    }
}

/// `aws.greengrass#PutComponentMetricRequest`.
public struct PutComponentMetricRequest: Codable, Sendable, Equatable {
    public var metrics: [ComponentMetric]?

    public init(metrics: [ComponentMetric]? = nil) { self.metrics = metrics }
}

/// `aws.greengrass#ConnectionStatus`.
public enum ConnectionStatus: String, Codable, Sendable {
    case connected = "CONNECTED"
    case disconnected = "DISCONNECTED"
}

/// `aws.greengrass#IoTCoreConnectionStatusEvent` (a union with one member, `connectionStatusEvent`).
public struct IoTCoreConnectionStatusEvent: Codable, Sendable, Equatable {
    public static let shape = "aws.greengrass#IoTCoreConnectionStatusEvent"
    public struct Body: Codable, Sendable, Equatable {
        public var status: ConnectionStatus
    }

    public var connectionStatusEvent: Body

    public init(status: ConnectionStatus) { connectionStatusEvent = Body(status: status) }
}

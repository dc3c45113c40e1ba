// JSON shapes of the GreengrassCoreIPC operations behind greengrass-cli, with the AWS model's member names
// (shared/conformance/eventstream/gg_ipc_model.json). Optional members are omitted when nil, as the AWS SDKs do.

/// `aws.greengrass#CreateLocalDeploymentRequest`.
public struct CreateLocalDeploymentRequest: Codable, Sendable, Equatable {
    public var groupName: String?
    public var rootComponentVersionsToAdd: [String: String]?
    public var rootComponentsToRemove: [String]?
    public var componentToConfiguration: [String: ConfigurationUpdate]?
    public var componentToRunWithInfo: [String: RunWithInfo]?
    public var recipeDirectoryPath: String?
    public var artifactsDirectoryPath: String?
    public var failureHandlingPolicy: FailureHandlingPolicy?
    /// Not in the AWS model: set only by our `greengrass-cli deployment create --notify-components`; nil (what the
    /// AWS SDKs send) means Greengrass's local-deployment policy, ``ComponentUpdatePolicy/localDefault``.
    public var componentUpdatePolicy: ComponentUpdatePolicy?

    public init(
        groupName: String? = nil,
        rootComponentVersionsToAdd: [String: String]? = nil,
        rootComponentsToRemove: [String]? = nil,
        componentToConfiguration: [String: ConfigurationUpdate]? = nil,
        componentToRunWithInfo: [String: RunWithInfo]? = nil,
        recipeDirectoryPath: String? = nil,
        artifactsDirectoryPath: String? = nil,
        failureHandlingPolicy: FailureHandlingPolicy? = nil,
        componentUpdatePolicy: ComponentUpdatePolicy? = nil
    ) {
        self.componentUpdatePolicy = componentUpdatePolicy
        self.groupName = groupName
        self.rootComponentVersionsToAdd = rootComponentVersionsToAdd
        self.rootComponentsToRemove = rootComponentsToRemove
        self.componentToConfiguration = componentToConfiguration
        self.componentToRunWithInfo = componentToRunWithInfo
        self.recipeDirectoryPath = recipeDirectoryPath
        self.artifactsDirectoryPath = artifactsDirectoryPath
        self.failureHandlingPolicy = failureHandlingPolicy
    }
}

/// The `{"MERGE": {...}, "RESET": ["/pointer", ...]}` object of `--update-config`.
public struct ConfigurationUpdate: Codable, Sendable, Equatable {
    public var merge: JSONDocument?
    public var reset: [String]?

    public init(merge: JSONDocument? = nil, reset: [String]? = nil) {
        self.merge = merge
        self.reset = reset
    }

    enum CodingKeys: String, CodingKey {
        case merge = "MERGE"
        case reset = "RESET"
    }
}

/// `aws.greengrass#RunWithInfo`.
public struct RunWithInfo: Codable, Sendable, Equatable {
    public var posixUser: String?
    public var windowsUser: String?
    public var systemResourceLimits: SystemResourceLimits?

    public init(posixUser: String? = nil, windowsUser: String? = nil, systemResourceLimits: SystemResourceLimits? = nil) {
        self.posixUser = posixUser
        self.windowsUser = windowsUser
        self.systemResourceLimits = systemResourceLimits
    }
}

/// `aws.greengrass#SystemResourceLimits`: memory in KB, cpus as a fraction of the device's cores.
public struct SystemResourceLimits: Codable, Sendable, Equatable {
    public var memory: Int64?
    public var cpus: Double?

    public init(memory: Int64? = nil, cpus: Double? = nil) {
        self.memory = memory
        self.cpus = cpus
    }
}

public enum FailureHandlingPolicy: String, Codable, Sendable, CaseIterable {
    case rollback = "ROLLBACK"
    case doNothing = "DO_NOTHING"
}

/// `aws.greengrass#CreateLocalDeploymentResponse`.
public struct CreateLocalDeploymentResponse: Codable, Sendable, Equatable {
    public var deploymentId: String?
    public init(deploymentId: String?) { self.deploymentId = deploymentId }
}

public enum DeploymentStatus: String, Codable, Sendable, CaseIterable {
    case queued = "QUEUED"
    case inProgress = "IN_PROGRESS"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
    case canceled = "CANCELED"

    /// A deployment in one of these states will never change again.
    public var isFinal: Bool { self == .succeeded || self == .failed || self == .canceled }
}

public enum DetailedDeploymentStatus: String, Codable, Sendable, CaseIterable {
    case successful = "SUCCESSFUL"
    case failedNoStateChange = "FAILED_NO_STATE_CHANGE"
    case failedRollbackNotRequested = "FAILED_ROLLBACK_NOT_REQUESTED"
    case failedRollbackComplete = "FAILED_ROLLBACK_COMPLETE"
    case rejected = "REJECTED"
}

/// `aws.greengrass#DeploymentStatusDetails`.
public struct DeploymentStatusDetails: Codable, Sendable, Equatable {
    public var detailedDeploymentStatus: DetailedDeploymentStatus?
    public var deploymentErrorStack: [String]?
    public var deploymentErrorTypes: [String]?
    public var deploymentFailureCause: String?

    public init(
        detailedDeploymentStatus: DetailedDeploymentStatus? = nil,
        deploymentErrorStack: [String]? = nil,
        deploymentErrorTypes: [String]? = nil,
        deploymentFailureCause: String? = nil
    ) {
        self.detailedDeploymentStatus = detailedDeploymentStatus
        self.deploymentErrorStack = deploymentErrorStack
        self.deploymentErrorTypes = deploymentErrorTypes
        self.deploymentFailureCause = deploymentFailureCause
    }
}

/// `aws.greengrass#LocalDeployment`. `createdOn` is epoch milliseconds rendered as a string, as the Greengrass CLI
/// server does.
public struct LocalDeployment: Codable, Sendable, Equatable {
    public var deploymentId: String
    public var status: DeploymentStatus
    public var createdOn: String?
    public var deploymentStatusDetails: DeploymentStatusDetails?

    public init(deploymentId: String, status: DeploymentStatus, createdOn: String?, deploymentStatusDetails: DeploymentStatusDetails?) {
        self.deploymentId = deploymentId
        self.status = status
        self.createdOn = createdOn
        self.deploymentStatusDetails = deploymentStatusDetails
    }
}

public struct ListLocalDeploymentsResponse: Codable, Sendable, Equatable {
    public var localDeployments: [LocalDeployment]?
    public init(localDeployments: [LocalDeployment]) { self.localDeployments = localDeployments }
}

public struct GetLocalDeploymentStatusRequest: Codable, Sendable, Equatable {
    public var deploymentId: String?
    public init(deploymentId: String) { self.deploymentId = deploymentId }
}

public struct GetLocalDeploymentStatusResponse: Codable, Sendable, Equatable {
    public var deployment: LocalDeployment?
    public init(deployment: LocalDeployment) { self.deployment = deployment }
}

/// `aws.greengrass#CancelLocalDeploymentRequest`.
public struct CancelLocalDeploymentRequest: Codable, Sendable, Equatable {
    public var deploymentId: String?
    public init(deploymentId: String) { self.deploymentId = deploymentId }
}

/// `aws.greengrass#CancelLocalDeploymentResponse`: `message` is what `greengrass-cli deployment cancel` prints.
public struct CancelLocalDeploymentResponse: Codable, Sendable, Equatable {
    public var message: String?
    public init(message: String) { self.message = message }
}

/// What a cancel request did to a local deployment.
public enum LocalDeploymentCancellation: Sendable, Equatable {
    /// It was QUEUED, or IN_PROGRESS but had not started changing components: it is now CANCELED and never runs.
    case canceled
    /// It had already ended (SUCCEEDED, FAILED or CANCELED).
    case alreadyFinished
    /// It is already changing components; stopping it there would leave a half-applied set, so it runs to the end.
    case alreadyApplying
    /// No deployment has that id.
    case notFound
}

// JSON shapes of the component-management operations (ListComponents, GetComponentDetails, RestartComponent,
// StopComponent), with the AWS model's member names.

/// `aws.greengrass#LifecycleState`: the eight states Greengrass reports over IPC.
public enum LifecycleStateName: String, Codable, Sendable, CaseIterable {
    case new = "NEW"
    case installed = "INSTALLED"
    case starting = "STARTING"
    case running = "RUNNING"
    case stopping = "STOPPING"
    case errored = "ERRORED"
    case broken = "BROKEN"
    case finished = "FINISHED"
}

/// `aws.greengrass#ComponentDetails`.
public struct ComponentDetails: Codable, Sendable, Equatable {
    public var componentName: String
    public var version: String?
    public var state: LifecycleStateName
    public var configuration: JSONDocument?

    public init(componentName: String, version: String?, state: LifecycleStateName, configuration: JSONDocument?) {
        self.componentName = componentName
        self.version = version
        self.state = state
        self.configuration = configuration
    }
}

public struct ListComponentsResponse: Codable, Sendable, Equatable {
    public var components: [ComponentDetails]?
    public init(components: [ComponentDetails]) { self.components = components }
}

/// Request of GetComponentDetails, RestartComponent and StopComponent: all three name one component.
public struct ComponentNameRequest: Codable, Sendable, Equatable {
    public var componentName: String?
    public init(componentName: String) { self.componentName = componentName }
}

public struct GetComponentDetailsResponse: Codable, Sendable, Equatable {
    public var componentDetails: ComponentDetails?
    public init(componentDetails: ComponentDetails) { self.componentDetails = componentDetails }
}

public enum RequestStatus: String, Codable, Sendable, CaseIterable {
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
}

public struct RestartComponentResponse: Codable, Sendable, Equatable {
    public var restartStatus: RequestStatus
    public var message: String?
    public init(restartStatus: RequestStatus, message: String?) {
        self.restartStatus = restartStatus
        self.message = message
    }
}

public struct StopComponentResponse: Codable, Sendable, Equatable {
    public var stopStatus: RequestStatus
    public var message: String?
    public init(stopStatus: RequestStatus, message: String?) {
        self.stopStatus = stopStatus
        self.message = message
    }
}

/// The operation names (`aws.greengrass#<Name>`) and their request/response shape names.
public enum GreengrassOperation: String, Sendable, CaseIterable {
    case createLocalDeployment = "CreateLocalDeployment"
    case listLocalDeployments = "ListLocalDeployments"
    case getLocalDeploymentStatus = "GetLocalDeploymentStatus"
    case listComponents = "ListComponents"
    case getComponentDetails = "GetComponentDetails"
    case restartComponent = "RestartComponent"
    case stopComponent = "StopComponent"
    case cancelLocalDeployment = "CancelLocalDeployment"

    public var operationName: String { IPCOperationName.namespace + rawValue }
    public var requestShape: String { IPCOperationName.requestShape(of: operationName) }
    public var responseShape: String { operationName + "Response" }
}

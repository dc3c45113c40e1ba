import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassJSON

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the local-deployment operations need from the nucleus.
public protocol LocalDeploymentService: Sendable {
    /// Validates and queues a deployment; returns its id. Throws a modeled error for a bad request.
    func submit(_ request: CreateLocalDeploymentRequest) async throws(IPCModeledError) -> String
    /// Known deployments, oldest first.
    func localDeployments() async -> [LocalDeployment]
    func localDeployment(id: String) async -> LocalDeployment?
    /// Cancels a deployment that has not started changing components, atomically with respect to that start.
    func cancel(id: String) async throws(IPCModeledError) -> LocalDeploymentCancellation
}

/// What the component-management operations need from the nucleus.
public protocol ComponentManagementService: Sendable {
    func componentDetails() async -> [ComponentDetails]
    func componentDetails(named name: String) async -> ComponentDetails?
    func restartComponent(named name: String) async -> (RequestStatus, String?)
    func stopComponent(named name: String) async -> (RequestStatus, String?)
}

/// The operations behind `greengrass-cli` (in AWS Greengrass they live in the `aws.greengrass.Cli` component;
/// here the nucleus serves them itself). Every call is decided by the authorizer: CLI connections
/// (`greengrass-cli#…` principals) are allowed by its built-in CLI policies (`CLIAuthorization`), components need an
/// `aws.greengrass.Cli` policy, as with the AWS CLI component.
public struct CLIOperations: Sendable {
    public static let authorizationService = "aws.greengrass.Cli"

    let deployments: any LocalDeploymentService
    let components: any ComponentManagementService
    let authorizer: any IPCAuthorizer

    public init(deployments: any LocalDeploymentService, components: any ComponentManagementService, authorizer: any IPCAuthorizer) {
        self.deployments = deployments
        self.components = components
        self.authorizer = authorizer
    }

    /// Registers every operation on `router`.
    public func register(on router: inout IPCRouter) {
        for operation in GreengrassOperation.allCases {
            router.register(operation.operationName) { call in await self.handle(operation, call) }
        }
    }

    func handle(_ operation: GreengrassOperation, _ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            switch operation {
            case .createLocalDeployment:
                let request = try IPCJSON.decode(CreateLocalDeploymentRequest.self, from: call.payload)
                try await authorize(call, operation, resource: "*")
                let id = try await deployments.submit(request)
                return try IPCJSON.reply(operation, CreateLocalDeploymentResponse(deploymentId: id))
            case .listLocalDeployments:
                try await authorize(call, operation, resource: "*")
                return try IPCJSON.reply(operation, ListLocalDeploymentsResponse(localDeployments: await deployments.localDeployments()))
            case .getLocalDeploymentStatus:
                let request = try IPCJSON.decode(GetLocalDeploymentStatusRequest.self, from: call.payload)
                guard let id = request.deploymentId, !id.isEmpty else { throw IPCModeledError.invalidArguments("deploymentId is required") }
                try await authorize(call, operation, resource: "*")
                guard let deployment = await deployments.localDeployment(id: id) else {
                    throw IPCModeledError.resourceNotFound("Cannot find deployment \(id)", resourceType: "LocalDeployment", resourceName: id)
                }
                return try IPCJSON.reply(operation, GetLocalDeploymentStatusResponse(deployment: deployment))
            case .cancelLocalDeployment:
                return try await cancelLocalDeployment(call)
            case .listComponents:
                try await authorize(call, operation, resource: "*")
                return try IPCJSON.reply(operation, ListComponentsResponse(components: await components.componentDetails()))
            case .getComponentDetails:
                let name = try componentName(call)
                try await authorize(call, operation, resource: name)
                guard let details = await components.componentDetails(named: name) else {
                    throw IPCModeledError.resourceNotFound("Cannot find component \(name)", resourceType: "Component", resourceName: name)
                }
                return try IPCJSON.reply(operation, GetComponentDetailsResponse(componentDetails: details))
            case .restartComponent:
                let name = try componentName(call)
                try await authorize(call, operation, resource: name)
                guard await components.componentDetails(named: name) != nil else {
                    throw IPCModeledError.componentNotFound("Component \(name) not found")
                }
                let (status, message) = await components.restartComponent(named: name)
                return try IPCJSON.reply(operation, RestartComponentResponse(restartStatus: status, message: message))
            case .stopComponent:
                let name = try componentName(call)
                try await authorize(call, operation, resource: name)
                guard await components.componentDetails(named: name) != nil else {
                    throw IPCModeledError.componentNotFound("Component \(name) not found")
                }
                let (status, message) = await components.stopComponent(named: name)
                return try IPCJSON.reply(operation, StopComponentResponse(stopStatus: status, message: message))
            }
        } catch {
            return .error(error)
        }
    }

    /// As the Greengrass Cli component: the id must be a UUID, an unknown id is `ResourceNotFoundError`, a finished
    /// deployment is answered (not an error). Unlike the Java nucleus, the cancelled record is kept, as CANCELED.
    private func cancelLocalDeployment(_ call: IPCCall) async throws(IPCModeledError) -> IPCReply {
        let request = try IPCJSON.decode(CancelLocalDeploymentRequest.self, from: call.payload)
        guard let id = request.deploymentId, UUID(uuidString: id) != nil else {
            throw IPCModeledError.invalidArguments("Invalid deploymentId format received. DeploymentId is a UUID")
        }
        try await authorize(call, .cancelLocalDeployment, resource: "*")
        let message: String
        switch try await deployments.cancel(id: id) {
        case .canceled: message = "Cancel request submitted. Deployment ID: \(id)"
        case .alreadyFinished: message = "Cancellation request is not processed because deployment is already finished"
        case .alreadyApplying:
            message = "Cancellation request is not processed because deployment is already changing components. Deployment ID: \(id)"
        case .notFound:
            throw IPCModeledError.resourceNotFound(
                "Cannot find the deployment id provided \(id)", resourceType: "LocalDeployment", resourceName: id)
        }
        return try IPCJSON.reply(.cancelLocalDeployment, CancelLocalDeploymentResponse(message: message))
    }

    private func componentName(_ call: IPCCall) throws(IPCModeledError) -> String {
        let request = try IPCJSON.decode(ComponentNameRequest.self, from: call.payload)
        guard let name = request.componentName, !name.isEmpty else {
            throw IPCModeledError.invalidArguments("componentName is required")
        }
        return name
    }

    private func authorize(_ call: IPCCall, _ operation: GreengrassOperation, resource: String) async throws(IPCModeledError) {
        let allowed = await authorizer.isAuthorized(
            principal: call.principal, service: Self.authorizationService, operation: operation.operationName, resource: resource)
        guard allowed else {
            throw IPCModeledError.unauthorized(
                "Principal \(call.principal) is not authorized to perform \(Self.authorizationService):\(operation.operationName) on resource \(resource)")
        }
    }
}

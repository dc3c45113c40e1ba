import EventStreamRPCServer
import GreengrassIPCModel

/// Why a pause or resume did not happen, in the terms Greengrass answers with.
public enum PauseResumeFailure: Error, Sendable, Hashable {
    case componentNotFound
    case notRunning
    case notPaused
    /// The freezer could not be used (no cgroup for the component, no permission).
    case failed(String)
}

/// What `PauseComponent`/`ResumeComponent` need from the nucleus: freezing and thawing a component's processes.
public protocol ComponentPauseService: Sendable {
    func pause(_ component: String) async throws(PauseResumeFailure)
    func resume(_ component: String) async throws(PauseResumeFailure)
}

/// `PauseComponent` and `ResumeComponent`, authorized by `aws.greengrass.ipc.lifecycle` policies whose resource
/// is the target component; answers mirror the Java nucleus's `LifecycleIPCEventStreamAgent`.
public struct PauseResumeOperations: Sendable {
    public static let authorizationService = "aws.greengrass.ipc.lifecycle"
    public static let pauseOperation = IPCOperationName.pauseComponent
    public static let resumeOperation = IPCOperationName.resumeComponent

    let components: any ComponentPauseService
    let authorizer: any IPCAuthorizer

    public init(components: any ComponentPauseService, authorizer: any IPCAuthorizer) {
        self.components = components
        self.authorizer = authorizer
    }

    public func register(on router: inout IPCRouter) {
        router.register(Self.pauseOperation) { call in await self.handle(call, pause: true) }
        router.register(Self.resumeOperation) { call in await self.handle(call, pause: false) }
    }

    struct Request: Decodable { var componentName: String? }
    struct Response: Encodable {}

    func handle(_ call: IPCCall, pause: Bool) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try IPCJSON.decode(Request.self, from: call.payload)
            guard let name = request.componentName, !name.isEmpty else { throw .invalidArguments("Component name is required.") }
            let allowed = await authorizer.isAuthorized(
                principal: call.principal, service: Self.authorizationService, operation: call.operation, resource: name)
            guard allowed else {
                throw .unauthorized(
                    "Principal \(call.principal) is not authorized to perform \(Self.authorizationService):\(call.operation) on resource \(name)")
            }
            do throws(PauseResumeFailure) {
                if pause { try await components.pause(name) } else { try await components.resume(name) }
            } catch {
                throw Self.modeled(error, component: name, pause: pause)
            }
            let shape = pause ? "aws.greengrass#PauseComponentResponse" : "aws.greengrass#ResumeComponentResponse"
            return .response(shape: shape, json: try IPCJSON.encode(Response()))
        } catch {
            return .error(error)
        }
    }

    static func modeled(_ failure: PauseResumeFailure, component: String, pause: Bool) -> IPCModeledError {
        switch failure {
        case .componentNotFound:
            .resourceNotFound("Component \(component) not found", resourceType: "Component", resourceName: component)
        case .notRunning:
            .invalidArguments("Component \(component) is not running")
        case .notPaused:
            .invalidArguments("Component \(component) is not paused")
        case .failed(let why):
            .serviceError("Failed to \(pause ? "pause" : "resume") component \(component) due to : \(why)")
        }
    }
}

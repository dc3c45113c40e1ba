import GreengrassAuthorization
import GreengrassIPCServices

// The pure engine knows nothing of IPC; this conformance lets every IPC service (CLI operations, pub/sub, the
// IoT Core bridge) take it as their `IPCAuthorizer`. It lives here only because this module already depends on
// both; it can move to the composition root unchanged.
extension AuthorizationEngine: IPCAuthorizer {
    public func isAuthorized(principal: String, service: String, operation: String, resource: String) async -> Bool {
        isAuthorized(principal: principal, service: service, operation: operation, resource: Optional(resource))
    }

    public func isAuthorizedImmediately(principal: String, service: String, operation: String, resource: String) -> Bool? {
        isAuthorized(principal: principal, service: service, operation: operation, resource: Optional(resource))
    }
}

/// Decides whether a principal may call an operation on a resource (the `accessControl` engine).
public protocol IPCAuthorizer: Sendable {
    func isAuthorized(principal: String, service: String, operation: String, resource: String) async -> Bool
}

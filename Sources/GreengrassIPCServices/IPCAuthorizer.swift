/// Decides whether a principal may call an operation on a resource (the `accessControl` engine).
public protocol IPCAuthorizer: Sendable {
    func isAuthorized(principal: String, service: String, operation: String, resource: String) async -> Bool

    /// The same decision when it can be made without waiting (an in-memory policy); nil when only
    /// ``isAuthorized(principal:service:operation:resource:)`` can answer. Lets a request be answered on the
    /// IPC connection's loop. Default: nil.
    func isAuthorizedImmediately(principal: String, service: String, operation: String, resource: String) -> Bool?
}

extension IPCAuthorizer {
    public func isAuthorizedImmediately(principal: String, service: String, operation: String, resource: String) -> Bool? {
        nil
    }
}

/// A GreengrassCoreIPC modeled error: its shape name as the protocol names it (`ServiceError`,
/// `ResourceNotFoundError`, …), its message and shape-specific members. The IPC server sends it as ApplicationError +
/// TerminateStream with `service-model-type: aws.greengrass#<name>` (its JSON body is the server's business).
public struct IPCModeledError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The short shape name, e.g. `UnauthorizedError`.
    public var name: String
    /// The human-readable message.
    public var message: String
    /// Extra string members of the error shape (e.g. `resourceType`, `resourceName`), emitted in key order.
    public var extraMembers: [String: String]

    /// Creates an error with a short shape name (`aws.greengrass#` is prefixed on the wire).
    public init(name: String, message: String, extraMembers: [String: String] = [:]) {
        self.name = name
        self.message = message
        self.extraMembers = extraMembers
    }

    /// The service all Greengrass IPC errors belong to.
    public static let serviceName = "aws.greengrass#GreengrassCoreIPC"

    /// The fully qualified shape name for `service-model-type`.
    public var shape: String { IPCOperationName.namespace + name }

    public var description: String { "\(name): \(message)" }

    /// `ServiceError`: an internal failure, or an operation this nucleus does not support.
    public static func serviceError(_ message: String) -> IPCModeledError {
        IPCModeledError(name: "ServiceError", message: message)
    }

    /// `UnauthorizedError`: the caller's `accessControl` does not allow the operation on the resource.
    public static func unauthorized(_ message: String) -> IPCModeledError {
        IPCModeledError(name: "UnauthorizedError", message: message)
    }

    /// `ResourceNotFoundError`, with the optional `resourceType` / `resourceName` members.
    public static func resourceNotFound(
        _ message: String,
        resourceType: String? = nil,
        resourceName: String? = nil
    ) -> IPCModeledError {
        var extra: [String: String] = [:]
        extra["resourceType"] = resourceType
        extra["resourceName"] = resourceName
        return IPCModeledError(name: "ResourceNotFoundError", message: message, extraMembers: extra)
    }

    /// `InvalidArgumentsError`: the request is malformed or misses a member.
    public static func invalidArguments(_ message: String) -> IPCModeledError {
        IPCModeledError(name: "InvalidArgumentsError", message: message)
    }

    /// `ComponentNotFoundError`.
    public static func componentNotFound(_ message: String) -> IPCModeledError {
        IPCModeledError(name: "ComponentNotFoundError", message: message)
    }

    /// `ConflictError`.
    public static func conflict(_ message: String) -> IPCModeledError {
        IPCModeledError(name: "ConflictError", message: message)
    }

    /// `FailedUpdateConditionCheckError` (e.g. an UpdateConfiguration with an older timestamp).
    public static func failedUpdateConditionCheck(_ message: String) -> IPCModeledError {
        IPCModeledError(name: "FailedUpdateConditionCheckError", message: message)
    }

    /// `InvalidRecipeDirectoryPathError`.
    public static func invalidRecipeDirectoryPath(_ message: String) -> IPCModeledError {
        IPCModeledError(name: "InvalidRecipeDirectoryPathError", message: message)
    }

    /// `InvalidArtifactsDirectoryPathError`.
    public static func invalidArtifactsDirectoryPath(_ message: String) -> IPCModeledError {
        IPCModeledError(name: "InvalidArtifactsDirectoryPathError", message: message)
    }

    /// `InvalidTokenError` (ValidateAuthorizationToken).
    public static func invalidToken(_ message: String) -> IPCModeledError {
        IPCModeledError(name: "InvalidTokenError", message: message)
    }

    /// The error every unimplemented operation gets, worded like the Java nucleus.
    public static func unsupportedOperation(_ operation: String) -> IPCModeledError {
        .serviceError("Operation \(operation) is not supported by Greengrass")
    }
}

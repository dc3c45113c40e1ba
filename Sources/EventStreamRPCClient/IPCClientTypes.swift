import EventStream
import GreengrassJSON
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A response or stream event: its `service-model-type` and JSON body.
public struct IPCResponse: Sendable, Hashable {
    /// The `service-model-type`, e.g. `aws.greengrass#PublishToIoTCoreResponse`.
    public var shape: String
    /// The JSON body bytes.
    public var payload: [UInt8]

    /// Creates a response.
    public init(shape: String, payload: [UInt8]) {
        self.shape = shape
        self.payload = payload
    }
}

/// A modeled error the server answered with (ApplicationError).
public struct IPCRemoteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `service-model-type`, e.g. `aws.greengrass#UnauthorizedError`; nil for an unmodeled error.
    public var shape: String?
    /// The body's `message` (or `_message`) member, when there is one.
    public var message: String?
    /// The raw body.
    public var body: [UInt8]

    /// Creates an error from a raw body, extracting its message.
    public init(shape: String?, body: [UInt8]) {
        self.shape = shape
        self.body = body
        self.message = (try? JSONValueDecoder().decode(MessageMembers.self, from: body))?.message
    }

    /// `message`, else `_message`; a member that is not a string is ignored.
    private struct MessageMembers: Decodable {
        var message: String?
        enum CodingKeys: String, CodingKey { case message, underscoreMessage = "_message" }
        init(from decoder: any Decoder) throws {
            let members = try decoder.container(keyedBy: CodingKeys.self)
            message = (try? members.decode(String.self, forKey: .message)) ?? (try? members.decode(String.self, forKey: .underscoreMessage))
        }
    }

    /// The short error name (`UnauthorizedError`), without the `aws.greengrass#` namespace.
    public var name: String? {
        guard let shape else { return nil }
        return shape.split(separator: "#").last.map(String.init) ?? shape
    }

    public var description: String {
        "\(name ?? "UnmodeledError"): \(message ?? String(decoding: body, as: UTF8.self))"
    }
}

extension IPCClientError {
    /// Why a connect failed, in words. An errno failure (no socket, nobody listening, no permission) is described
    /// from the errno itself: swift-nio's own `IOError` text has an unbalanced parenthesis ("connect(descriptor:
    /// addr:size:): No such file or directory) (errno: 2)") and names a system call the user never made.
    public static func connectFailureReason(_ error: any Error) -> String {
        guard let ioError = error as? IOError else { return "\(error)" }
        let code = ioError.errnoCode
        let text = strerror(code).map { String(cString: $0) } ?? "unknown error"
        return "\(text) (errno: \(code))"
    }
}

/// Why a client operation failed.
public enum IPCClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The socket could not be connected to.
    case cannotConnect(socketPath: String, reason: String)
    /// The server answered Connect with a rejecting ConnectAck (bad auth token).
    case connectionRejected(socketPath: String)
    /// No answer within the time limit.
    case timedOut(socketPath: String, waitingFor: String)
    /// The operation failed with a modeled (or unmodeled) ApplicationError.
    case remote(IPCRemoteError)
    /// The server closed the stream without a response.
    case streamClosedWithoutResponse(operation: String)
    /// The server sent a ProtocolError/InternalError or something this client cannot interpret.
    case protocolError(socketPath: String, String)
    /// The connection is closed.
    case connectionClosed(socketPath: String)
    /// The request could not be framed.
    case encodingFailed(String)

    public var description: String {
        switch self {
        case .cannotConnect(let path, let reason): "cannot connect to IPC socket \(path): \(reason)"
        case .connectionRejected(let path): "IPC server at \(path) rejected the connection (auth token not accepted)"
        case .timedOut(let path, let what): "IPC server at \(path) did not answer in time (waiting for \(what))"
        case .remote(let error): "IPC operation failed: \(error)"
        case .streamClosedWithoutResponse(let operation): "IPC server closed the \(operation) stream without a response"
        case .protocolError(let path, let text): "IPC protocol error on \(path): \(text)"
        case .connectionClosed(let path): "IPC connection to \(path) is closed"
        case .encodingFailed(let why): "cannot encode IPC request: \(why)"
        }
    }
}

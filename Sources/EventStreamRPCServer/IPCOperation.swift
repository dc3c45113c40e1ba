import EventStream
import GreengrassIPCModel

/// Decides who a Connect's `authToken` belongs to.
public protocol IPCAuthenticator: Sendable {
    /// Returns the principal (component name) owning `authToken`, or nil to reject the connection.
    func authenticate(authToken: String) async -> String?
}

/// One operation invocation: a new stream opened by the client.
public struct IPCCall: Sendable {
    /// The authenticated component that opened the stream.
    public var principal: String
    /// The fully qualified operation, e.g. `aws.greengrass#PublishToIoTCore`.
    public var operation: String
    /// The request body (UTF-8 JSON as sent by the client).
    public var payload: [UInt8]
    /// The stream, for streaming operations: keep it to send events, close it, or learn when it ended.
    public var stream: IPCStream

    /// Creates a call (the server does this; public for handler unit tests).
    public init(principal: String, operation: String, payload: [UInt8], stream: IPCStream) {
        self.principal = principal
        self.operation = operation
        self.payload = payload
        self.stream = stream
    }
}

/// A handler's answer to an ``IPCCall``.
public enum IPCReply: Sendable, Hashable {
    /// Request/response operations: the response (sent with TerminateStream; the stream ends).
    case response(shape: String, json: [UInt8])
    /// A modeled error (ApplicationError + TerminateStream; the stream ends).
    case error(IPCModeledError)
    /// Streaming operations: the response (flags 0); the stream stays open for ``IPCStream/send(event:json:)``.
    case streamOpened(shape: String, json: [UInt8])
}

/// Handles operation invocations.
public protocol IPCOperationHandler: Sendable {
    /// Runs one operation and returns its reply. Called on an arbitrary task, concurrently for concurrent streams.
    func handle(_ call: IPCCall) async -> IPCReply

    /// Whether calls of `operation` may run on the connection's event-loop thread: true only for handlers that
    /// never block a thread (no file I/O, no waiting on locks held for long, no CPU-heavy work) — they may still
    /// `await`. Such calls skip two thread hops (to the concurrency pool and back), which is most of the cost of
    /// a small request such as PublishToIoTCore. Default: false.
    func runsOnConnectionLoop(_ operation: String) -> Bool
}

extension IPCOperationHandler {
    public func runsOnConnectionLoop(_ operation: String) -> Bool { false }
}

/// An ``IPCOperationHandler`` made from a closure.
public struct IPCClosureHandler: IPCOperationHandler {
    private let body: @Sendable (IPCCall) async -> IPCReply
    private let nonBlocking: Bool

    /// Wraps `body`.
    /// - Parameter runsOnConnectionLoop: see ``IPCOperationHandler/runsOnConnectionLoop(_:)``; only for a `body`
    ///   that never blocks its thread.
    public init(runsOnConnectionLoop: Bool = false, _ body: @escaping @Sendable (IPCCall) async -> IPCReply) {
        self.body = body
        self.nonBlocking = runsOnConnectionLoop
    }

    public func handle(_ call: IPCCall) async -> IPCReply {
        await body(call)
    }

    public func runsOnConnectionLoop(_ operation: String) -> Bool { nonBlocking }
}

/// Routes calls by operation name; anything unregistered gets the modeled
/// `ServiceError("Operation <name> is not supported by Greengrass")` — never a dropped connection.
public struct IPCRouter: IPCOperationHandler {
    private var routes: [String: any IPCOperationHandler]

    /// Creates a router from operation name → handler.
    public init(_ routes: [String: any IPCOperationHandler] = [:]) {
        self.routes = routes
    }

    /// Routes `operation` to `handler`, replacing any earlier registration.
    public mutating func register(_ operation: String, _ handler: any IPCOperationHandler) {
        routes[operation] = handler
    }

    /// Routes `operation` to a closure.
    /// - Parameter runsOnConnectionLoop: see ``IPCOperationHandler/runsOnConnectionLoop(_:)``.
    public mutating func register(
        _ operation: String, runsOnConnectionLoop: Bool = false, _ body: @escaping @Sendable (IPCCall) async -> IPCReply
    ) {
        routes[operation] = IPCClosureHandler(runsOnConnectionLoop: runsOnConnectionLoop, body)
    }

    /// The registered operation names.
    public var operations: [String] { routes.keys.sorted() }

    /// The route's answer; the "not supported" reply for an unknown operation never blocks.
    public func runsOnConnectionLoop(_ operation: String) -> Bool {
        routes[operation]?.runsOnConnectionLoop(operation) ?? true
    }

    public func handle(_ call: IPCCall) async -> IPCReply {
        guard let handler = routes[call.operation] else {
            return .error(.unsupportedOperation(call.operation))
        }
        return await handler.handle(call)
    }
}

import EventStream
import GreengrassIPCModel
import NIOCore

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

    /// For an operation that ``runsOnConnectionLoop(_:)``: the call handled on the connection's loop without
    /// waiting for anything — its reply now, or the work handed on with its reply to come (``IPCLoopReply``);
    /// nil to have the server call ``handle(_:)`` instead. The server tries this first: no task, no executor hop.
    /// A handler that returns nil must not have done any of the call's work (``handle(_:)`` does it all).
    /// Default: nil.
    func handleOnConnectionLoop(_ call: IPCCall) -> IPCLoopReply?
}

/// What ``IPCOperationHandler/handleOnConnectionLoop(_:)`` decided.
public enum IPCLoopReply: Sendable {
    /// The reply, decided now: it leaves with the read batch's flush.
    case now(IPCReply)
    /// The call's work is under way elsewhere (a durable spool's fsync); the reply is written when this completes,
    /// on the connection's loop (one hop if it completes on another). A failed future is answered with a
    /// ServiceError naming the failure, so the caller is never left without a reply.
    case later(EventLoopFuture<IPCReply>)
}

extension IPCOperationHandler {
    public func runsOnConnectionLoop(_ operation: String) -> Bool { false }
    public func handleOnConnectionLoop(_ call: IPCCall) -> IPCLoopReply? { nil }
}

/// An ``IPCOperationHandler`` made from a closure.
public struct IPCClosureHandler: IPCOperationHandler {
    private let body: @Sendable (IPCCall) async -> IPCReply
    private let immediateBody: (@Sendable (IPCCall) -> IPCLoopReply?)?
    private let nonBlocking: Bool

    /// Wraps `body`.
    /// - Parameters:
    ///   - runsOnConnectionLoop: see ``IPCOperationHandler/runsOnConnectionLoop(_:)``; only for a `body` that
    ///     never blocks its thread.
    ///   - immediately: see ``IPCOperationHandler/handleOnConnectionLoop(_:)``; used only with
    ///     `runsOnConnectionLoop`.
    public init(
        runsOnConnectionLoop: Bool = false, immediately: (@Sendable (IPCCall) -> IPCLoopReply?)? = nil,
        _ body: @escaping @Sendable (IPCCall) async -> IPCReply
    ) {
        self.body = body
        self.immediateBody = runsOnConnectionLoop ? immediately : nil
        self.nonBlocking = runsOnConnectionLoop
    }

    public func handle(_ call: IPCCall) async -> IPCReply {
        await body(call)
    }

    public func runsOnConnectionLoop(_ operation: String) -> Bool { nonBlocking }

    public func handleOnConnectionLoop(_ call: IPCCall) -> IPCLoopReply? { immediateBody?(call) }
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
    /// - Parameters:
    ///   - runsOnConnectionLoop: see ``IPCOperationHandler/runsOnConnectionLoop(_:)``.
    ///   - immediately: see ``IPCOperationHandler/handleOnConnectionLoop(_:)``.
    public mutating func register(
        _ operation: String, runsOnConnectionLoop: Bool = false, immediately: (@Sendable (IPCCall) -> IPCLoopReply?)? = nil,
        _ body: @escaping @Sendable (IPCCall) async -> IPCReply
    ) {
        routes[operation] = IPCClosureHandler(runsOnConnectionLoop: runsOnConnectionLoop, immediately: immediately, body)
    }

    /// The registered operation names.
    public var operations: [String] { routes.keys.sorted() }

    /// The route's answer; the "not supported" reply for an unknown operation never blocks.
    public func runsOnConnectionLoop(_ operation: String) -> Bool {
        routes[operation]?.runsOnConnectionLoop(operation) ?? true
    }

    public func handleOnConnectionLoop(_ call: IPCCall) -> IPCLoopReply? {
        guard let handler = routes[call.operation] else { return .now(.error(.unsupportedOperation(call.operation))) }
        return handler.handleOnConnectionLoop(call)
    }

    public func handle(_ call: IPCCall) async -> IPCReply {
        guard let handler = routes[call.operation] else {
            return .error(.unsupportedOperation(call.operation))
        }
        return await handler.handle(call)
    }
}

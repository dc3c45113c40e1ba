#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStream
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Settings of the IPC server.
public struct IPCServerConfiguration: Sendable {
    /// The Unix socket path (the nucleus uses `<root>/ipc.socket`). At most ``IPCServerConfiguration/maxSocketPathLength`` bytes.
    public var socketPath: String
    /// Permission bits set on the socket file right after bind (default `0660`: owner and group only).
    public var socketMode: UInt32
    /// Connections served at once; further ones are closed on accept.
    public var maxConnections: Int
    /// Per-connection protocol limits (open streams, early events).
    public var connection: RPCServerConnectionStateMachine.Configuration
    /// Bytes that may wait to be written to one client before stream events to it are dropped.
    public var maxOutboundBytesPerConnection: Int
    /// When the socket stops accepting our writes: above `high` queued bytes the connection stops reading
    /// requests until the queue drains below `low`.
    public var writeBufferWaterMark: (low: Int, high: Int)
    /// How long a new connection may take to send Connect before it is closed.
    public var connectTimeout: TimeAmount
    /// After a rejecting ConnectAck, how long the client gets to close the connection itself (which is what
    /// makes the SDK raise `AccessDeniedError`) before the server closes it.
    public var rejectionGracePeriod: TimeAmount
    /// Frame limits for decoding and encoding.
    public var limits: EventStreamLimits

    /// The largest socket path `sun_path` can hold (108 bytes including the terminating NUL).
    public static let maxSocketPathLength = 107

    /// Creates a configuration with defaults for everything but the path.
    public init(
        socketPath: String,
        socketMode: UInt32 = 0o660,
        maxConnections: Int = 512,
        connection: RPCServerConnectionStateMachine.Configuration = .init(),
        maxOutboundBytesPerConnection: Int = 4 * 1024 * 1024,
        writeBufferWaterMark: (low: Int, high: Int) = (64 * 1024, 256 * 1024),
        connectTimeout: TimeAmount = .seconds(10),
        rejectionGracePeriod: TimeAmount = .seconds(2),
        limits: EventStreamLimits = .default
    ) {
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.maxConnections = maxConnections
        self.connection = connection
        self.maxOutboundBytesPerConnection = maxOutboundBytesPerConnection
        self.writeBufferWaterMark = writeBufferWaterMark
        self.connectTimeout = connectTimeout
        self.rejectionGracePeriod = rejectionGracePeriod
        self.limits = limits
    }
}

/// Why the server could not start listening.
public enum IPCServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path does not fit in `sun_path`.
    case socketPathTooLong(path: String, length: Int, limit: Int)
    /// Another process (e.g. a running nucleus) accepts connections on the path; it was left alone.
    case socketInUse(path: String)
    /// Something that is not a socket exists at the path; it was left alone.
    case pathIsNotASocket(path: String)
    /// Removing a stale socket file failed.
    case cannotRemoveStaleSocket(path: String, errno: Int32)
    /// bind/listen failed.
    case bindFailed(path: String, reason: String)
    /// Setting the socket file's mode failed.
    case cannotSetSocketMode(path: String, mode: UInt32, errno: Int32)

    public var description: String {
        switch self {
        case .socketPathTooLong(let path, let length, let limit):
            "IPC socket path is \(length) bytes, longer than the \(limit)-byte limit of a Unix socket: \(path)"
        case .socketInUse(let path):
            "IPC socket \(path) is in use by another running process (another nucleus?); not replacing it"
        case .pathIsNotASocket(let path):
            "IPC socket path \(path) exists and is not a socket; not replacing it"
        case .cannotRemoveStaleSocket(let path, let code):
            "cannot remove stale IPC socket \(path): \(String(cString: strerror(code)))"
        case .bindFailed(let path, let reason):
            "cannot listen on IPC socket \(path): \(reason)"
        case .cannotSetSocketMode(let path, let mode, let code):
            "cannot set mode \(String(mode, radix: 8)) on IPC socket \(path): \(String(cString: strerror(code)))"
        }
    }
}

/// The event-stream RPC server on a Unix socket.
///
/// Two steps, so that bind errors surface before the nucleus reports itself ready:
/// ```swift
/// let server = try await IPCServer.bind(configuration: .init(socketPath: root + "/ipc.socket"),
///                                       authenticator: tokens, handler: router, logger: logger)
/// try await server.run()   // or add `server` to a ServiceGroup
/// ```
/// `run()` serves until its task is cancelled or graceful shutdown is triggered; then it stops accepting, closes
/// every connection (their streams see ``IPCStreamTermination/connectionClosed``) and removes the socket file.
public final class IPCServer: Service, Sendable {
    /// The configuration the server was bound with.
    public let configuration: IPCServerConfiguration
    private let serverChannel: any Channel
    private let registry: ConnectionRegistry
    private let logger: Logger
    private let socketInode: UInt64

    private init(
        configuration: IPCServerConfiguration,
        serverChannel: any Channel,
        registry: ConnectionRegistry,
        logger: Logger,
        socketInode: UInt64
    ) {
        self.configuration = configuration
        self.serverChannel = serverChannel
        self.registry = registry
        self.logger = logger
        self.socketInode = socketInode
    }

    /// The number of connections currently open.
    public var connectionCount: Int { registry.count }

    /// Checks the path, replaces a stale socket (never a live one), binds, and sets the socket mode.
    public static func bind(
        configuration: IPCServerConfiguration,
        authenticator: any IPCAuthenticator,
        handler: any IPCOperationHandler,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(IPCServerError) -> IPCServer {
        let path = configuration.socketPath
        let length = path.utf8.count
        guard length <= IPCServerConfiguration.maxSocketPathLength else {
            throw .socketPathTooLong(path: path, length: length, limit: IPCServerConfiguration.maxSocketPathLength)
        }
        try await removeStaleSocket(at: path, eventLoopGroup: eventLoopGroup)

        let registry = ConnectionRegistry(limit: configuration.maxConnections)
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 1024)  // bursts of component starts must not see EAGAIN
            .childChannelOption(.writeBufferWaterMark,
                                value: .init(low: configuration.writeBufferWaterMark.low,
                                             high: configuration.writeBufferWaterMark.high))
            .childChannelInitializer { channel in
                guard registry.admit(channel) else {
                    logger.warning("IPC connection refused: \(configuration.maxConnections) connections already open")
                    return channel.eventLoop.makeFailedFuture(ChannelError.inappropriateOperationForState)
                }
                channel.closeFuture.whenComplete { _ in registry.remove(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try addConnectionHandlers(to: channel.pipeline.syncOperations, configuration: configuration,
                                              authenticator: authenticator, handler: handler, logger: logger)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
        } catch {
            throw .bindFailed(path: path, reason: "\(error)")
        }
        // Narrow the mode before anyone but us could reasonably connect; the umask alone may leave it world-writable.
        guard chmod(path, mode_t(configuration.socketMode)) == 0 else {
            let code = errno
            try? await channel.close()
            throw .cannotSetSocketMode(path: path, mode: configuration.socketMode, errno: code)
        }
        var info = stat()
        let inode: UInt64 = lstat(path, &info) == 0 ? UInt64(info.st_ino) : 0
        logger.info("IPC server listening", metadata: ["socket": "\(path)"])
        return IPCServer(configuration: configuration, serverChannel: channel, registry: registry, logger: logger,
                         socketInode: inode)
    }

    /// The handlers of one accepted connection: the frame decoder, then the connection handler. Also how tests put
    /// the real pipeline on a `NIOAsyncTestingChannel` and play the client themselves.
    static func addConnectionHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations,
        configuration: IPCServerConfiguration,
        authenticator: any IPCAuthenticator,
        handler: any IPCOperationHandler,
        logger: Logger
    ) throws {
        try pipeline.addHandler(ByteToMessageHandler(EventStreamDecoder(limits: configuration.limits)))
        try pipeline.addHandler(IPCServerConnectionHandler(
            configuration: configuration, authenticator: authenticator, operationHandler: handler, logger: logger))
    }

    /// Serves until the task is cancelled or graceful shutdown begins.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await serverChannel.closeFuture.get()
            } onCancel: {
                self.shutdown()
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
        for future in registry.closeAll() {
            try? await future.get()
        }
        removeSocketFile()
        logger.info("IPC server stopped", metadata: ["socket": "\(configuration.socketPath)"])
    }

    /// Stops accepting and closes every connection; ``run()`` returns once they are closed. Safe to call twice.
    public func shutdown() {
        serverChannel.close(promise: nil)
        _ = registry.closeAll()
    }

    /// Removes the socket file if it is still the one we created (a newer nucleus may own the path by now).
    private func removeSocketFile() {
        var info = stat()
        if lstat(configuration.socketPath, &info) == 0, UInt64(info.st_ino) == socketInode {
            unlink(configuration.socketPath)
        }
    }

    /// A socket file left by a dead process is replaced; a live one (connect succeeds) is never stolen.
    private static func removeStaleSocket(at path: String, eventLoopGroup: any EventLoopGroup) async throws(IPCServerError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .pathIsNotASocket(path: path) }
        let live: Bool
        do {
            let probe = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(.seconds(2))
                .connect(unixDomainSocketPath: path).get()
            try? await probe.close()
            live = true
        } catch {
            live = false
        }
        if live { throw .socketInUse(path: path) }
        guard unlink(path) == 0 || errno == ENOENT else { throw .cannotRemoveStaleSocket(path: path, errno: errno) }
    }
}

/// Open connections, for the connection limit and for closing them all at shutdown.
final class ConnectionRegistry: Sendable {
    private let limit: Int
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    var count: Int { channels.withLock { $0.count } }

    func admit(_ channel: any Channel) -> Bool {
        channels.withLock { channels in
            guard channels.count < limit else { return false }
            channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func closeAll() -> [EventLoopFuture<Void>] {
        let all = channels.withLock { Array($0.values) }
        return all.map { channel in
            channel.close(promise: nil)
            return channel.closeFuture
        }
    }
}

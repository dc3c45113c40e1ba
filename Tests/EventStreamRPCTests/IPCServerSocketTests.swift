#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import EventStreamRPCClient
import EventStreamRPCServer
import Foundation
import GreengrassTestSupport
import Logging
import NIOCore
import ServiceLifecycle
import Testing

extension EventStreamRPCSuites {
/// The listening socket: path checks, stale/live socket handling, permissions, cleanup.
@Suite("IPC server socket", .serialized)
struct IPCServerSocketTests {
    static func bind(_ path: String, mode: UInt32 = 0o660) async throws(IPCServerError) -> IPCServer {
        try await IPCServer.bind(
            configuration: IPCServerConfiguration(socketPath: path, socketMode: mode),
            authenticator: FixedTokenAuthenticator(), handler: IPCRouter(), logger: Logger(label: "test"))
    }

    static func mode(of path: String) -> UInt32 {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        return UInt32(info.st_mode) & 0o777
    }

    @Test("a path longer than sun_path fails up front, naming the path and its length")
    func pathTooLong() async throws {
        let directory = try TemporaryDirectory(prefix: "es")
        let path = directory.path + "/" + String(repeating: "s", count: 119 - directory.path.count)
        await #expect(throws: IPCServerError.socketPathTooLong(path: path, length: 120, limit: 107)) {
            _ = try await Self.bind(path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect("\(IPCServerError.socketPathTooLong(path: path, length: 120, limit: 107))".contains(path))
    }

    @Test("socket mode is set right after bind", arguments: [UInt32(0o660), 0o600])
    func socketMode(mode: UInt32) async throws {
        let directory = try TemporaryDirectory(prefix: "es")
        let previous = umask(0)  // the most permissive umask: only our chmod can narrow the mode
        defer { umask(previous) }
        let server = try await Self.bind(directory.file("ipc.socket"), mode: mode)
        #expect(Self.mode(of: directory.file("ipc.socket")) == mode)
        server.shutdown()
    }

    @Test("a live socket of another server is detected and left alone")
    func liveSocketNotStolen() async throws {
        let first = try await RunningServer()
        await #expect(throws: IPCServerError.socketInUse(path: first.socketPath)) {
            _ = try await Self.bind(first.socketPath)
        }
        // The first server still serves on its socket.
        let client = try await IPCClient.connect(socketPath: first.socketPath, authToken: Conformance.token)
        try await client.ping()
        await client.close()
        try await first.stop()
    }

    @Test("a stale socket file (nobody listening) is replaced")
    func staleSocketReplaced() async throws {
        let directory = try TemporaryDirectory(prefix: "es")
        let path = directory.file("ipc.socket")
        // A socket bound by a process that died: the file exists, nothing accepts on it.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let bound = withUnixAddress(path) { Glibc.bind(fd, $0, $1) }
        #expect(bound == 0)
        close(fd)
        #expect(FileManager.default.fileExists(atPath: path))

        let server = try await Self.bind(path)
        let task = Task { try await server.run() }
        let client = try await IPCClient.connect(socketPath: path, authToken: Conformance.token)
        try await client.ping()
        await client.close()
        task.cancel()
        try await task.value
    }

    @Test("a non-socket file at the path is never replaced")
    func regularFileKept() async throws {
        let directory = try TemporaryDirectory(prefix: "es")
        let path = directory.file("ipc.socket")
        _ = FileManager.default.createFile(atPath: path, contents: Data("keep".utf8))
        await #expect(throws: IPCServerError.pathIsNotASocket(path: path)) { _ = try await Self.bind(path) }
        #expect(FileManager.default.contents(atPath: path) == Data("keep".utf8))
    }

    @Test("a missing directory is a bind error naming the path")
    func missingDirectory() async throws {
        let directory = try TemporaryDirectory(prefix: "es")
        let path = directory.file("no/such/ipc.socket")
        do {
            _ = try await Self.bind(path)
            Issue.record("bind succeeded on a missing directory")
        } catch {
            guard case .bindFailed(let failedPath, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(failedPath == path)
        }
    }

    @Test("cancelling run() closes connections and removes the socket file")
    func shutdownCleansUp() async throws {
        let server = try await RunningServer()
        let client = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)
        #expect(server.server.connectionCount == 1)
        try await server.stop()
        #expect(!FileManager.default.fileExists(atPath: server.socketPath))
        await #expect(throws: IPCClientError.self) { try await client.ping() }
        await #expect(throws: IPCClientError.self) {
            _ = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)
        }
    }

    @Test("connections beyond the limit are refused; the others keep working")
    func connectionLimit() async throws {
        let server = try await RunningServer { $0.maxConnections = 2 }
        let first = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)
        let second = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)
        await #expect(throws: IPCClientError.self) {
            _ = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token, timeout: .seconds(5))
        }
        try await first.ping()
        await second.close()
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(10)) { server.server.connectionCount == 1 })
        let third = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)
        try await third.ping()
        await first.close()
        await third.close()
        try await server.stop()
    }

    @Test("a connection that never sends Connect is closed after the connect timeout")
    func connectTimeout() async throws {
        let server = try await RunningServer { $0.connectTimeout = .milliseconds(200) }
        let silent = try await RawConnection(socketPath: server.socketPath)
        #expect(await silent.serverCloses())
        try await server.stop()
    }
}
}

extension EventStreamRPCSuites {
@Suite("IPC server lifecycle and test support", .serialized)
struct IPCServerLifecycleTests {
    @Test("in a ServiceGroup, graceful shutdown stops the server, closes connections and removes the socket")
    func gracefulShutdown() async throws {
        let directory = try TemporaryDirectory(prefix: "es")
        let path = directory.file("ipc.socket")
        let server = try await IPCServer.bind(
            configuration: IPCServerConfiguration(socketPath: path), authenticator: FixedTokenAuthenticator(),
            handler: conformanceRouter(), logger: Logger(label: "test"))
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        let client = try await IPCClient.connect(socketPath: path, authToken: Conformance.token)
        try await client.ping()
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!FileManager.default.fileExists(atPath: path))
        await #expect(throws: IPCClientError.connectionClosed(socketPath: path)) { try await client.ping() }
    }

    @Test("ChildProcess reports output and exit code, and kills a process at its timeout")
    func childProcess() async throws {
        let done = try await ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], timeout: .seconds(30))
        #expect(done.exitCode == 3 && done.stdout == "out\n" && done.stderr == "err\n" && !done.timedOut)
        let started = ContinuousClock.now
        let hung = try await ChildProcess.run("sleep", ["60"], timeout: .milliseconds(300))
        #expect(hung.timedOut)
        #expect(hung.exitCode == -SIGKILL)
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
}

import EventStreamRPCClient
import Foundation
import GreengrassDeployment
import GreengrassIPCModel
import GreengrassNucleus
import GreengrassTestSupport
import NIOCore
import NIOPosix
import SystemdNotify
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The composition root as a function: a nucleus built from its dependencies and run inside the test process,
/// reached through its IPC socket as `greengrass-cli` reaches it, and stopped as SIGTERM stops it.
@Suite("Nucleus built and run in-process", .serialized)
struct InProcessNucleusTests {
    /// What `greengrass-cli` reads to authenticate: the token file the nucleus wrote for this user.
    static func cliAuthentication(root: String) throws -> CLIAuthenticationInfo {
        let file = "\(root)/\(CLIAuthenticationInfo.directoryName)/user-\(geteuid())"
        return try JSONDecoder().decode(CLIAuthenticationInfo.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
    }

    static func call(_ client: IPCClient, _ operation: String, _ json: String = "{}") async throws(IPCClientError) -> IPCResponse {
        try await client.call(operation: operation, requestShape: IPCOperationName.requestShape(of: operation), payload: Array(json.utf8))
    }

    @Test func startsAnswersTheCLIOverIPCAndStopsInOrder() async throws {
        let directory = try TemporaryDirectory(prefix: "ggroot")
        let nucleus = try await Nucleus.build(NucleusDependencies(options: NucleusOptions(root: directory.file("root"), shutdownTimeout: .seconds(20))))
        let running = Task { try await nucleus.run() }

        let authentication = try Self.cliAuthentication(root: nucleus.paths.root)
        #expect(authentication.domainSocketPath == nucleus.paths.ipcSocket)
        let client = try await IPCClient.connect(socketPath: authentication.domainSocketPath, authToken: authentication.cliAuthToken)

        // A CLI operation the CLI identity is granted: the nucleus lists itself.
        let listed = try await Self.call(client, GreengrassOperation.listComponents.operationName)
        #expect(listed.shape == GreengrassOperation.listComponents.responseShape)
        let components = try JSONDecoder().decode(ListComponentsResponse.self, from: Data(listed.payload)).components ?? []
        #expect(components.map(\.componentName) == ["aws.greengrass.Nucleus"])

        // One the CLI identity is not granted (no lifecycle policy): refused by the same authorization engine.
        do {
            _ = try await Self.call(client, IPCOperationName.pauseComponent, #"{"componentName":"com.example.A"}"#)
            Issue.record("PauseComponent was allowed for the CLI identity")
        } catch {
            guard case .remote(let remote) = error else { throw error }
            #expect(remote.name == "UnauthorizedError", "\(remote)")
        }
        await client.close()

        let logPath = nucleus.paths.root + "/logs/greengrass.log"
        let ready = await eventually(timeout: .seconds(20)) {
            ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").contains("Nucleus started")
        }
        #expect(ready)
        await nucleus.stop()
        #expect(try await running.value == .stopped)
        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        let started = try #require(log.range(of: "Nucleus started"), "\(log)")
        let stopped = try #require(log.range(of: "Nucleus stopped"), "\(log)")
        #expect(started.upperBound <= stopped.lowerBound)
    }

    /// The watchdog's liveness check covers the event loops the nucleus is given: one of them blocked, the pings
    /// stop (systemd would then restart the nucleus) while the nucleus itself keeps running.
    @Test func aBlockedEventLoopStopsTheWatchdogPings() async throws {
        let directory = try TemporaryDirectory(prefix: "ggroot")
        let systemd = try NotifyReceiver(path: directory.file("notify"))
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let nucleus = try await Nucleus.build(NucleusDependencies(
            options: NucleusOptions(root: directory.file("root"), shutdownTimeout: .seconds(20)),
            systemd: SystemdNotifier(environment: ["NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "400000"]),
            eventLoops: loops))
        let running = Task { try await nucleus.run() }

        let pinged = await eventually(timeout: .seconds(20)) { systemd.received().filter { $0 == "WATCHDOG=1" }.count >= 2 }
        try #require(pinged, "no pings: \(systemd.received())")
        let release = DispatchSemaphore(value: 0)
        loops.any().execute { release.wait() }
        let failed = "STATUS=Watchdog: liveness check failed; no more keep-alive pings"
        let stoppedPinging = await eventually(timeout: .seconds(20)) { systemd.received().contains(failed) }
        #expect(stoppedPinging, "\(systemd.received())")
        let afterFailure = systemd.received().drop { $0 != failed }
        try await Task.sleep(for: .milliseconds(600))  // three ping periods (200 ms each)
        #expect(!systemd.received().drop { $0 != failed }.contains("WATCHDOG=1"), "\(afterFailure)")

        release.signal()
        await nucleus.stop()
        #expect(try await running.value == .stopped)
        try await loops.shutdownGracefully()
    }
}

/// systemd's side of `sd_notify`: a datagram socket the test reads every notification from, in order.
final class NotifyReceiver: @unchecked Sendable {
    let path: String
    private let descriptor: Int32
    private let lock = NSLock()
    private var messages: [String] = []

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }

    deinit { close(descriptor) }

    /// Every notification so far; each datagram's lines (`STATUS=…`, `READY=1`) are separate entries.
    func received() -> [String] {
        lock.withLock {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                guard count > 0 else { break }
                messages += String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").map(String.init)
            }
            return messages
        }
    }
}

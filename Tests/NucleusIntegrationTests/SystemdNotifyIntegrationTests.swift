import Foundation
import GreengrassTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// systemd's side of `sd_notify`, played by a Python datagram listener that logs every datagram with its arrival time
/// (`time.monotonic()`), one JSON array per line.
private final class NotifyListener: @unchecked Sendable {
    struct Datagram {
        var time: Double
        var text: String
    }

    private static let script = """
        import json, socket, sys, time
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(sys.argv[1])
        print(json.dumps([time.monotonic(), "LISTENING"]), flush=True)
        while True:
            data = listener.recv(65536)
            print(json.dumps([time.monotonic(), data.decode("utf-8", "replace")]), flush=True)
        """

    let socketPath: String
    private let logPath: String
    private let process = Process()

    init(directory: TemporaryDirectory) async throws {
        socketPath = directory.file("notify")
        logPath = directory.file("notify.jsonl")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [RepositoryFiles.python3, "-c", Self.script, socketPath]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
        let listening = await eventually(timeout: .seconds(20)) { self.lines.first == "LISTENING" }
        try #require(listening, "the notify listener did not bind \(socketPath)")
    }

    deinit {
        // SIGKILL: children of Foundation.Process may inherit a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private var lines: [String] { datagrams(includingMarker: true).map(\.text) }

    /// What the nucleus sent so far, in arrival order.
    var datagrams: [Datagram] { datagrams(includingMarker: false) }

    private func datagrams(includingMarker: Bool) -> [Datagram] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let all = text.split(separator: "\n").compactMap { line -> Datagram? in
            guard let array = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Any], array.count == 2,
                let time = array[0] as? Double, let text = array[1] as? String
            else { return nil }
            return Datagram(time: time, text: text)
        }
        return includingMarker ? all : Array(all.dropFirst())
    }

    func indexOfFirst(_ assignment: String) -> Int? {
        datagrams.firstIndex { $0.text.split(separator: "\n").contains(Substring(assignment)) }
    }
}

/// Whether a client can connect to the Unix socket at `path` right now.
private func acceptsConnections(_ path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    } == 0
}

/// The real nucleus under a fake systemd: `NOTIFY_SOCKET`/`WATCHDOG_USEC` point at a socket this test bound.
///
@Suite(
    "Nucleus systemd notifications",
    .serialized
)
struct SystemdNotifyIntegrationTests {
    /// 1 s watchdog, so pings every 500 ms.
    static let watchdogMicroseconds = 1_000_000

    @Test func readyAfterTheSocketAcceptsThenWatchdogPingsThenStoppingOnSigterm() async throws {
        let directory = try TemporaryDirectory(prefix: "ggsd")
        let listener = try await NotifyListener(directory: directory)
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start(environment: ["NOTIFY_SOCKET": listener.socketPath, "WATCHDOG_USEC": "\(Self.watchdogMicroseconds)"])
        defer { nucleus.kill() }

        let ready = await eventually(timeout: .seconds(20)) { listener.indexOfFirst("READY=1") != nil }
        try #require(ready, "no READY=1; got \(listener.datagrams.map(\.text)); console: \(nucleus.consoleOutput())")
        #expect(acceptsConnections(nucleus.socketPath), "READY=1 was sent but the IPC socket does not accept")
        let readyIndex = try #require(listener.indexOfFirst("READY=1"))
        // Before READY=1 only STATUS= progress lines (and watchdog pings) may come.
        for datagram in listener.datagrams[..<readyIndex] {
            #expect(datagram.text.hasPrefix("STATUS=") || datagram.text == "WATCHDOG=1", "before READY=1: \(datagram.text)")
        }
        #expect(listener.datagrams[readyIndex].text.contains("\nSTATUS="), "READY=1 should carry a STATUS= line")

        // Periodic pings at about half the interval.
        let pinged = await eventually(timeout: .seconds(20)) {
            listener.datagrams.filter { $0.text == "WATCHDOG=1" }.count >= 5
        }
        try #require(pinged, "fewer than 5 WATCHDOG=1: \(listener.datagrams.map(\.text))")
        let pings = listener.datagrams.filter { $0.text == "WATCHDOG=1" }.prefix(5)
        if let first = pings.first, let last = pings.last {
            let average = (last.time - first.time) / Double(pings.count - 1)
            #expect(average > 0.3 && average < 0.8, "average gap between pings \(average) s, expected ~0.5 s")
        }

        #expect(nucleus.stop(timeout: .seconds(60)) == 0, "the nucleus must exit 0 on SIGTERM: \(nucleus.consoleOutput())")
        let stoppingIndex = try #require(listener.indexOfFirst("STOPPING=1"), "no STOPPING=1: \(listener.datagrams.map(\.text))")
        #expect(stoppingIndex > readyIndex)
        #expect(listener.datagrams.filter { $0.text.hasPrefix("READY=1") }.count == 1, "READY=1 must be sent once")
    }

    /// `systemctl reload` sends SIGHUP: the nucleus frames the reload with RELOADING=1 … READY=1, applies the new log
    /// level at once, keeps running, and a bad file changes nothing (but still ends the reload with READY=1).
    @Test func sighupReloadsTheConfigurationBetweenReloadingAndReady() async throws {
        let directory = try TemporaryDirectory(prefix: "ggsd")
        let listener = try await NotifyListener(directory: directory)
        let configFile = directory.file("config.yaml")
        let config = { (level: String) in
            "services:\n  aws.greengrass.Nucleus:\n    configuration:\n      logging:\n        level: \(level)\n"
        }
        try config("INFO").write(toFile: configFile, atomically: true, encoding: .utf8)
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start(configFile: configFile, environment: ["NOTIFY_SOCKET": listener.socketPath])
        defer { nucleus.kill() }
        let ready = await eventually(timeout: .seconds(20)) { listener.indexOfFirst("READY=1") != nil }
        try #require(ready, "no READY=1: \(listener.datagrams.map(\.text))")
        #expect(!nucleus.log("greengrass").contains("[DEBUG]"))
        // Components do not inherit the nucleus's NOTIFY_SOCKET: only the nucleus speaks for the service.
        let folder = try ComponentFolder(in: directory)
        let environmentDump = directory.file("component-env.txt")
        try folder.recipe("env.yaml", ComponentFolder.yaml("com.example.Env", run: "env > \(environmentDump) && sleep 600"))
        let (_, deployed) = try await nucleus.deploy(["-r", folder.recipes, "-m", "com.example.Env=1.0.0"])
        #expect(deployed.contains(": SUCCEEDED"), "\(deployed)")
        let dumped = try String(contentsOfFile: environmentDump, encoding: .utf8)
        #expect(dumped.contains("SVCUID="), "the dump is the component's environment")
        #expect(!dumped.contains("NOTIFY_SOCKET"), "\(dumped)")

        try config("DEBUG").write(toFile: configFile, atomically: true, encoding: .utf8)
        let pid = try #require(nucleus.pid)
        kill(pid, SIGHUP)
        let reloaded = await eventually(timeout: .seconds(20)) {
            listener.datagrams.filter { $0.text.hasPrefix("READY=1") }.count == 2
        }
        try #require(reloaded, "no second READY=1 after SIGHUP: \(listener.datagrams.map(\.text))")
        let texts = listener.datagrams.map(\.text)
        let reloading = try #require(texts.firstIndex { $0.hasPrefix("RELOADING=1") }, "no RELOADING=1: \(texts)")
        #expect(texts[reloading].contains("MONOTONIC_USEC="), "RELOADING=1 needs MONOTONIC_USEC (systemd ≥ 253)")
        let secondReady = try #require(texts.lastIndex { $0.hasPrefix("READY=1") })
        #expect(reloading < secondReady)
        #expect(texts[secondReady].contains("STATUS=Configuration reloaded"), "\(texts[secondReady])")
        // The new level applies without a restart: the reload's own DEBUG line is written.
        let debugLogged = await eventually(timeout: .seconds(10)) { nucleus.log("greengrass").contains("[DEBUG]") }
        #expect(debugLogged, "logging.level DEBUG not applied by the reload")
        #expect(try String(contentsOfFile: nucleus.root + "/config/effectiveConfig.yaml", encoding: .utf8).contains("DEBUG"))

        // A broken file: the reload fails, names the file, and the nucleus keeps running with what it had.
        try "services: [unclosed".write(toFile: configFile, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        let failedReload = await eventually(timeout: .seconds(20)) {
            listener.datagrams.filter { $0.text.hasPrefix("READY=1") }.count == 3
        }
        try #require(failedReload, "no READY=1 after the failed reload: \(listener.datagrams.map(\.text))")
        #expect(listener.datagrams.last { $0.text.hasPrefix("READY=1") }?.text.contains("STATUS=Reload failed") == true)
        #expect(nucleus.log("greengrass").contains("config-reload-failed"))
        #expect(nucleus.log("greengrass").contains(configFile))
        #expect(nucleus.isRunning)
        #expect(try await nucleus.cli(["component", "list"]).exitCode == 0)
        #expect(nucleus.stop(timeout: .seconds(60)) == 0, "\(nucleus.consoleOutput())")
    }

    /// A Bootstrap restart re-executes the nucleus in place: systemd must see RELOADING=1 and a second READY=1, never
    /// STOPPING=1 (after which it would wait for an exit that never comes and kill the service).
    @Test func bootstrapRestartInPlaceIsAReloadForSystemd() async throws {
        let directory = try TemporaryDirectory(prefix: "ggsd")
        let listener = try await NotifyListener(directory: directory)
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start(environment: ["NOTIFY_SOCKET": listener.socketPath])
        defer { nucleus.kill() }
        let folder = try ComponentFolder(in: directory)
        try folder.recipe("boot.yaml", NucleusArtifactsBootstrapTests.recipe(version: "1.0.0", bootstrap: "exit 100"))
        try await NucleusArtifactsBootstrapTests.writeArtifacts(folder, version: "1.0.0")
        let (_, status) = try await nucleus.deploy(["-r", folder.recipes, "-a", folder.artifacts, "-m", "com.example.Boot=1.0.0"])
        #expect(status.contains(": SUCCEEDED"), "\(status)")
        let texts = listener.datagrams.map(\.text)
        let readies = texts.indices.filter { texts[$0].hasPrefix("READY=1") }
        #expect(readies.count == 2, "\(texts)")
        let reloading = texts.firstIndex { $0.hasPrefix("RELOADING=1") }
        #expect(reloading.map { readies.count == 2 && readies[0] < $0 && $0 < readies[1] } == true, "\(texts)")
        #expect(!texts.contains { $0.hasPrefix("STOPPING=1") }, "\(texts)")
    }

    @Test func withoutNotifySocketTheNucleusRunsTheSame() async throws {
        let directory = try TemporaryDirectory(prefix: "ggsd")
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start(environment: ["WATCHDOG_USEC": "\(Self.watchdogMicroseconds)"])
        defer { nucleus.kill() }
        #expect(acceptsConnections(nucleus.socketPath))
        #expect(nucleus.stop(timeout: .seconds(60)) == 0, "\(nucleus.consoleOutput())")
    }
}

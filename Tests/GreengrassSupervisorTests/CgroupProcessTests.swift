import Foundation
import GreengrassLifecycle
import GreengrassSupervisor
import GreengrassTestSupport
import Testing

/// This host's cgroups under a group of its own (`greengrass-test-<pid>-<random>`), so concurrent suites never share one;
/// `nil` (not applicable) when the host has none we may write. Running as root where cgroup controllers are
/// mounted writable and still failing to use them is a failure, never a silent pass.
func hostCgroups(sourceLocation: SourceLocation = #_sourceLocation) -> CgroupController? {
    guard case .success(let layout) = CgroupController.detectHost(group: "greengrass-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))") else { return nil }
    let controller = CgroupController(layout: layout)
    let probe = "probe-\(UInt32.random(in: 0...UInt32.max))"
    do {
        _ = try controller.prepare(probe, owner: nil)
        try controller.remove(probe)
        return controller
    } catch {
        let writable = layout.groupDirectories.allSatisfy { access(($0 as NSString).deletingLastPathComponent, W_OK) == 0 }
        if geteuid() == 0 && writable {
            Issue.record("running as root with writable cgroups, yet they cannot be used: \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }
}

/// Removes what a test left under its cgroup group (the supervisor's shutdown already should have).
func removeTestCgroups(_ controller: CgroupController) {
    let left = controller.layout.groupDirectories.filter { access($0, F_OK) == 0 }
    #expect(left.isEmpty, "the supervisor's shutdown left cgroups: \(left)")
    controller.removeAll()
}

/// CPU time (nanoseconds) the component's cgroup used, from `cpuacct.usage` (v1) or `cpu.stat` (v2).
func cpuUsageNanoseconds(_ controller: CgroupController, _ component: String) -> UInt64? {
    switch controller.layout.hierarchy {
    case .v1(let directories):
        guard let cpuacct = directories["cpuacct"] else { return nil }
        let text = try? String(contentsOfFile: "\(cpuacct)/\(controller.layout.group)/\(component)/cpuacct.usage", encoding: .utf8)
        return text.flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    case .v2(let own):
        let text = (try? String(contentsOfFile: "\(own)/\(controller.layout.group)/\(component)/cpu.stat", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("usage_usec ") }
        return line.flatMap { UInt64($0.split(separator: " ")[1]) }.map { $0 * 1000 }
    }
}

/// How many CFS periods throttled the component's cgroup (`nr_throttled` in the cpu controller's `cpu.stat`).
func throttledPeriods(_ controller: CgroupController, _ component: String) -> Int? {
    let directory: String
    switch controller.layout.hierarchy {
    case .v1(let directories):
        guard let cpu = directories["cpu"] else { return nil }
        directory = cpu
    case .v2(let own): directory = own
    }
    let text = (try? String(contentsOfFile: "\(directory)/\(controller.layout.group)/\(component)/cpu.stat", encoding: .utf8)) ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix("nr_throttled ") }
    return line.flatMap { Int($0.split(separator: " ")[1]) }
}

func withLimits(_ spec: ComponentRunSpec, _ limits: ResourceLimits) -> ComponentRunSpec {
    var spec = spec
    spec.resourceLimits = limits
    return spec
}

/// Real processes in real cgroups (v1 on our machines; v2 where the host has it).
@Suite("Supervisor with cgroups", .serialized)
struct CgroupProcessTests {
    static let allocate200MB = #"python3 -c "import time; b = b'\x01' * (200 * 1024 * 1024); print('allocated', flush=True); time.sleep(0.2)""#

    @Test("memory: 51200 KB OOM-kills a 200 MB allocation, reported ERRORED with the reason; no limit runs")
    func memoryLimit() async throws {
        guard let cgroups = hostCgroups() else { return }
        defer { removeTestCgroups(cgroups) }
        try await SupervisorFixture.with(configure: { $0.cgroups = cgroups }) { f in
            f.supervisor.upsert(withLimits(makeSpec("com.example.Hog", [.run: Self.allocate200MB]), ResourceLimits(memoryKilobytes: 51200)))
            f.supervisor.upsert(makeSpec("com.example.Free", [.run: Self.allocate200MB]))
            f.supervisor.start("com.example.Hog")
            f.supervisor.start("com.example.Free")
            await f.reaches("com.example.Hog", .errored)
            await f.reaches("com.example.Free", .finished)
            let logs = f.logs
            let oom = logs.entries.filter { $0.eventType == "shell-runner-oom-killed" && $0.label == "com.example.Hog" }
            #expect(!oom.isEmpty, "no OOM entry in the component log")
            #expect(oom.first?.message.contains("out of memory") == true)
            #expect(oom.first?.metadata["exitCode"] == "137")
            #expect(logs.entries.contains { $0.label == "nucleus" && $0.eventType == "service-oom-killed" && $0.metadata["serviceName"] == "com.example.Hog" })
            #expect(logs.output("com.example.Free").contains("allocated 200MB") || logs.output("com.example.Free").contains("allocated"))
            #expect(!logs.entries.contains { $0.eventType == "shell-runner-oom-killed" && $0.label == "com.example.Free" })
            await f.supervisor.stop("com.example.Hog")
        }
    }

    @Test("cpus: 0.25 holds a busy loop to ≤ 30 % of a core over 3 s; a deployment raising it to 1.0 gives it more")
    func cpuLimitAndLiveChange() async throws {
        guard let cgroups = hostCgroups() else { return }
        defer { removeTestCgroups(cgroups) }
        try await SupervisorFixture.with(configure: { $0.cgroups = cgroups }) { f in
            let spec = makeSpec("com.example.Busy", [.run: "while :; do :; done"])
            f.supervisor.upsert(withLimits(spec, ResourceLimits(cpus: 0.25)))
            f.supervisor.start("com.example.Busy")
            await f.reaches("com.example.Busy", .running)
            try await Task.sleep(for: .milliseconds(300))
            let throttledBefore = try #require(throttledPeriods(cgroups, "com.example.Busy"))
            let limited = try await Self.usage(over: .seconds(3), cgroups, "com.example.Busy")
            let throttledLimited = try #require(throttledPeriods(cgroups, "com.example.Busy")) - throttledBefore
            #expect(limited <= 0.30 * 3, "used \(limited) s of CPU in 3 s with cpus 0.25")
            #expect(limited > 0.05, "the busy loop did not run in its cgroup (\(limited) s)")
            #expect(throttledLimited > 10, "cpus 0.25 throttled only \(throttledLimited) periods in 3 s")

            #expect(f.supervisor.upsert(withLimits(spec, ResourceLimits(cpus: 1.0))) == .updated, "a limit change must not restart")
            try await Task.sleep(for: .milliseconds(300))
            let throttledRaisedBefore = try #require(throttledPeriods(cgroups, "com.example.Busy"))
            let raised = try await Self.usage(over: .seconds(3), cgroups, "com.example.Busy")
            let throttledRaised = try #require(throttledPeriods(cgroups, "com.example.Busy")) - throttledRaisedBefore
            // On a loaded host a single busy thread may not get a whole core, but it gets more and is never throttled.
            #expect(raised > limited, "raised to 1.0: \(raised) s against \(limited) s")
            #expect(throttledRaised == 0, "a single thread under cpus 1.0 was throttled \(throttledRaised) times")
            print("CPU-LIMIT cpus=0.25: \(limited) s/3 s (throttled \(throttledLimited)); cpus=1.0: \(raised) s/3 s (throttled \(throttledRaised))")
            await f.supervisor.stop("com.example.Busy")
        }
    }

    static func usage(over window: Duration, _ cgroups: CgroupController, _ name: String) async throws -> Double {
        let before = try #require(cpuUsageNanoseconds(cgroups, name))
        try await Task.sleep(for: window)
        let after = try #require(cpuUsageNanoseconds(cgroups, name))
        return Double(after - before) / 1e9
    }

    @Test("every process a phase forks is in the component's cgroup, even one that left the session; stop kills it")
    func grandchildrenStayInTheCgroup() async throws {
        guard let cgroups = hostCgroups() else { return }
        defer { removeTestCgroups(cgroups) }
        try await SupervisorFixture.with(configure: { $0.cgroups = cgroups }) { f in
            let marker = f.root.file("escaped.pid")
            f.supervisor.upsert(makeSpec("com.example.Forks", [.run: "setsid sh -c 'echo $$ > \(marker); exec sleep 60' & sh -c 'sleep 60' & wait"]))
            f.supervisor.start("com.example.Forks")
            await f.reaches("com.example.Forks", .running)
            await f.eventually("the setsid grandchild wrote its pid") { FileManager.default.fileExists(atPath: marker) }
            let escaped = try #require(Int32(try String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            await f.eventually("the grandchildren are in the cgroup") { cgroups.processes(of: "com.example.Forks").count >= 4 }
            #expect(cgroups.processes(of: "com.example.Forks").contains(escaped))
            let own = try String(contentsOfFile: "/proc/\(escaped)/cgroup", encoding: .utf8)
            #expect(own.contains("/\(cgroups.layout.group)/com.example.Forks"))
            await f.supervisor.stop("com.example.Forks")
            await f.eventually("the setsid grandchild is gone") { kill(escaped, 0) != 0 }
            #expect(cgroups.processes(of: "com.example.Forks").isEmpty)
            await f.supervisor.remove("com.example.Forks")
            #expect(!cgroups.exists("com.example.Forks"), "the cgroup goes with the component")
        }
    }

    @Test("pause freezes a counter written every 100 ms, resume continues it; errors as Greengrass answers them")
    func pauseAndResume() async throws {
        guard let cgroups = hostCgroups() else { return }
        defer { removeTestCgroups(cgroups) }
        try await SupervisorFixture.with(configure: { $0.cgroups = cgroups }) { f in
            let counter = f.root.file("counter")
            f.supervisor.upsert(makeSpec("com.example.Counter", [.run: "i=0; while :; do i=$((i+1)); echo $i > \(counter); sleep 0.1; done"]))
            #expect(throws: Supervisor<ContinuousClock>.PauseError.notRunning) { try f.supervisor.pause("com.example.Counter") }
            #expect(throws: Supervisor<ContinuousClock>.PauseError.notFound) { try f.supervisor.pause("com.example.Nobody") }
            f.supervisor.start("com.example.Counter")
            await f.reaches("com.example.Counter", .running)
            #expect(throws: Supervisor<ContinuousClock>.PauseError.notPaused) { try f.supervisor.resume("com.example.Counter") }
            func read() -> Int { Int((try? String(contentsOfFile: counter, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 }
            await f.eventually("the counter moves") { read() >= 3 }

            try f.supervisor.pause("com.example.Counter")
            #expect(f.supervisor.isPaused("com.example.Counter"))
            #expect(f.supervisor.state(of: "com.example.Counter") == .running, "a paused component stays RUNNING, as in Greengrass")
            try await Task.sleep(for: .milliseconds(300))
            let frozen = read()
            try await Task.sleep(for: .milliseconds(700))
            #expect(read() == frozen, "the counter moved while paused")

            try f.supervisor.resume("com.example.Counter")
            await f.eventually("the counter moves again after resume") { read() >= frozen + 3 }
            // Stopping a paused component thaws it first, so it ends as usual.
            try f.supervisor.pause("com.example.Counter")
            await f.supervisor.stop("com.example.Counter")
            #expect(f.supervisor.state(of: "com.example.Counter") == .finished)
        }
    }

    @Test("without cgroup permission components run unconfined and greengrass.log says why, once")
    func unconfinedWithoutPermission() async throws {
        let denied = CgroupController(layout: CgroupLayout(hierarchy: .v2("/proc/no-such-cgroup")))
        try await SupervisorFixture.with(configure: { $0.cgroups = denied }) { f in
            for name in ["com.example.One", "com.example.Two"] {
                f.supervisor.upsert(withLimits(makeSpec(name, [.run: "echo ran"]), ResourceLimits(memoryKilobytes: 51200)))
                f.supervisor.start(name)
                await f.reaches(name, .finished)
            }
            let warnings = f.logs.entries.filter { $0.label == "nucleus" && $0.eventType == "resource-control-unavailable" }
            #expect(warnings.count == 1)
            #expect(warnings.first?.message.contains("/proc/no-such-cgroup") == true)
            #expect(warnings.first?.message.contains("unconfined") == true)
            #expect(throws: Supervisor<ContinuousClock>.PauseError.self) { try f.supervisor.pause("com.example.One") }
        }
    }
}

/// The supervisor's use of a cgroup tree when one limit cannot be written: the v2 writer on a plain directory tree
/// (the entry step's `echo $$ > cgroup.procs` lands in a plain file there).
@Suite("Supervisor with a fake cgroup tree", .serialized)
struct CgroupFakeTreeSupervisorTests {
    @Test("a limit the kernel refuses is logged against the component, which still joins its cgroup; others are unaffected")
    func refusedLimitIsLoggedAndTheComponentStillJoins() async throws {
        let tree = try TemporaryDirectory(prefix: "cgs")
        // memory.max as a directory: every write to it fails, as a refused limit would.
        try FileManager.default.createDirectory(atPath: tree.path + "/greengrass/com.example.Refused/memory.max", withIntermediateDirectories: true)
        let cgroups = CgroupController(layout: CgroupLayout(hierarchy: .v2(tree.path)))
        try await SupervisorFixture.with(configure: { $0.cgroups = cgroups }) { f in
            for name in ["com.example.Refused", "com.example.Fine"] {
                f.supervisor.upsert(withLimits(makeSpec(name, [.run: "echo ran-$$"]), ResourceLimits(memoryKilobytes: 1024)))
                f.supervisor.start(name)
                await f.reaches(name, .finished)
            }
            let errors = f.logs.entries.filter { $0.eventType == "resource-limits-error" }
            #expect(errors.map { $0.metadata["serviceName"] } == ["com.example.Refused"])
            #expect(errors.first?.message.contains("memory.max") == true)
            #expect(!f.logs.entries.contains { $0.eventType == "resource-control-unavailable" })
            for name in ["com.example.Refused", "com.example.Fine"] {
                let joined = try String(contentsOfFile: tree.path + "/greengrass/\(name)/cgroup.procs", encoding: .utf8)
                let ran = f.logs.output(name).first ?? ""
                #expect(ran == "ran-" + joined.trimmingCharacters(in: .whitespacesAndNewlines), "\(name): \(ran) vs \(joined)")
            }
            #expect(try String(contentsOfFile: tree.path + "/greengrass/com.example.Fine/memory.max", encoding: .utf8) == "1048576")
        }
    }
}

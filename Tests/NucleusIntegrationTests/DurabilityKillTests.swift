import Foundation
import GreengrassTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Issue 7: `kill -9` of the nucleus at random points during deployments and under IPC load, then a restart.
@Suite("Durability: kill -9 during deployments and IPC load, then restart", .serialized)
struct DurabilityKillTests {
    /// Kills the nucleus 0–800 ms after `deployment create` (seeded; the seed is in every failure message), for
    /// several deployments alternating between two component sets, and checks after each restart that the store
    /// opens, the interrupted deployment ends (SUCCEEDED, or FAILED and rolled back) instead of staying stuck,
    /// the components running are exactly one of the two sets — never a mix — and no process of the killed run
    /// is left.
    @Test func killNineAtRandomPointsDuringDeploymentsEndsInOneCommittedSet() async throws {
        let seed = durabilitySeed()
        var random = SplitMix64(state: seed)
        let iterations = ProcessInfo.processInfo.environment["GG_DURABILITY_KILLS"].flatMap { Int($0) } ?? 8
        try await withDurableNucleus(prefix: "ggdk") { nucleus, components, _ in
            var committed = DurableComponents.setA
            var outcomes: [String] = []
            let deadline = ContinuousClock.now + .seconds(180)
            for iteration in 0..<iterations {
                try #require(ContinuousClock.now < deadline, "seed \(seed): only \(iteration) of \(iterations) kills fit in the time limit")
                let target = committed == DurableComponents.setA ? DurableComponents.setB : DurableComponents.setA
                let delay = Int(random.next() % 801)
                let context = "seed \(seed), iteration \(iteration), kill \(delay) ms after deployment create"
                let id = try await nucleus.submitDeployment(
                    components.arguments(from: committed, to: target, extra: ["--failure-handling-policy", "ROLLBACK"]))
                try await Task.sleep(for: .milliseconds(delay))
                let killedRun = components.processes
                nucleus.kill()

                try nucleus.start()
                let (ended, status) = try await nucleus.awaitEnd(ofDeployment: id)
                try #require(ended, "\(context): deployment \(id) stuck at \(status ?? "unknown")")
                // SUCCEEDED: the new set; FAILED: rolled back to the previous one. Nothing in between.
                let expected = status == "SUCCEEDED" ? target : committed
                let settled = try await eventually(timeout: .seconds(30)) { try await nucleus.shows(expected) }
                let listed = try await nucleus.listedComponents()
                try #require(settled, "\(context): deployment \(status ?? "?"), expected \(expected), component list shows \(String(describing: listed))")
                let survivors = killedRun.filter(\.isAlive)
                #expect(survivors.isEmpty, "\(context): processes of the killed run still alive: \(survivors)")
                outcomes.append("\(delay)ms→\(status ?? "?")")
                committed = expected
            }
            print("kill -9 during deployments (seed \(seed)): \(outcomes.joined(separator: ", "))")
            #expect(outcomes.count == iterations)
        }
    }

    /// The narrowest window: the nucleus is killed the moment a new component process shows up in `/proc`, i.e.
    /// between spawning it and recording its process group in the store. The next nucleus must still stop it.
    @Test func killNineJustAfterAComponentProcessIsSpawnedLeavesNoOrphan() async throws {
        try await withDurableNucleus(prefix: "ggdw", install: "true") { nucleus, components, _ in
            var committed = DurableComponents.setA
            for iteration in 0..<4 {
                let target = committed == DurableComponents.setA ? DurableComponents.setB : DurableComponents.setA
                let nucleusPid = try #require(nucleus.pid)
                let before = ProcessIdentity.children(of: nucleusPid)
                let id = try await nucleus.submitDeployment(components.arguments(from: committed, to: target))
                // Watch the nucleus's children (only `stat` files: a few milliseconds per scan) and kill as soon as a
                // new one exists, ideally before the nucleus has recorded its process group.
                var spawned: Set<Int32> = []
                let appeared = await eventually(timeout: .seconds(30)) {
                    for _ in 0..<2_000 {
                        spawned = ProcessIdentity.children(of: nucleusPid).subtracting(before)
                        if !spawned.isEmpty { return true }
                    }
                    return false
                }
                try #require(appeared, "iteration \(iteration): no new component process appeared")
                nucleus.kill()
                let killedRun = components.processes
                try nucleus.start()
                let ended = try await nucleus.awaitEnd(ofDeployment: id).ended
                try #require(ended, "iteration \(iteration): deployment \(id) did not end")
                let settled = try await eventually(timeout: .seconds(30)) { try await nucleus.shows(target) }
                if !settled {
                    let listed = try await nucleus.listedComponents()
                    Issue.record("iteration \(iteration): \(String(describing: listed))")
                    return
                }
                let survivors = killedRun.filter(\.isAlive)
                #expect(survivors.isEmpty, "iteration \(iteration): killed right after \(spawned) appeared; still alive: \(survivors)")
                committed = target
            }
        }
    }

    /// The same window made certain: after `kill -9` the recorded process groups are deleted from the store, as if
    /// the nucleus had died between spawning the components and recording them. The next nucleus must find them
    /// anyway (they carry its socket path in their environment) and stop them before starting the set again.
    @Test func unrecordedLeftoversAreStillStoppedAfterKillNine() async throws {
        try await withDurableNucleus(prefix: "ggdu", install: "true") { nucleus, components, _ in
            let killedRun = components.processes
            try #require(killedRun.count >= 3)
            nucleus.kill()
            let forget = try await ChildProcess.run(
                RepositoryFiles.python3, ["-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM processGroup'); c.commit()",
                            nucleus.root + "/config/nucleus.db"],
                timeout: .seconds(30))
            try #require(forget.exitCode == 0, "\(forget.stderr)")

            try nucleus.start()
            let settled = try await eventually(timeout: .seconds(30)) { try await nucleus.shows(DurableComponents.setA) }
            let listed = try await nucleus.listedComponents()
            try #require(settled, "\(String(describing: listed))")
            let survivors = killedRun.filter(\.isAlive)
            #expect(survivors.isEmpty, "unrecorded processes of the killed run still alive: \(survivors)")
            // Where the nucleus has cgroups, their cleanup finds the processes first; elsewhere the environment scan does.
            let log = nucleus.log("greengrass")
            #expect(log.contains("Stopping unrecorded component processes left by the previous nucleus run")
                || log.contains("Killing processes left in the component's cgroup by the previous nucleus run"))
        }
    }

    /// A deployment with ROLLBACK whose new component crashes, killed while the nucleus runs the new (broken) set:
    /// after the restart it must still roll back to the set from before the deployment, not to the broken set the
    /// killed run had already committed.
    @Test func interruptedFailingDeploymentStillRollsBackAfterKillNine() async throws {
        try await withDurableNucleus(prefix: "ggdr") { nucleus, components, _ in

            let id = try await nucleus.submitDeployment(components.arguments(
                from: DurableComponents.setA, to: DurableComponents.setBroken, extra: ["--failure-handling-policy", "ROLLBACK"]))
            // Killed once the broken set is committed and being started (DurApp 3.0.0 listed), before it goes BROKEN.
            let converging = try await eventually(timeout: .seconds(30)) {
                try await nucleus.listedComponents()?[DurableComponents.app]?.version == "3.0.0"
            }
            try #require(converging, "the broken set was never listed")
            try #require(try await nucleus.deploymentStatus(id) == "IN_PROGRESS")
            nucleus.kill()

            try nucleus.start()
            let (ended, status) = try await nucleus.awaitEnd(ofDeployment: id)
            try #require(ended, "deployment \(id) stuck at \(status ?? "unknown")")
            #expect(status == "FAILED")
            let restored = try await eventually(timeout: .seconds(30)) { try await nucleus.shows(DurableComponents.setA) }
            let listed = try await nucleus.listedComponents()
            #expect(restored, "expected the pre-deployment set \(DurableComponents.setA) back, component list shows \(String(describing: listed))")
            let details = try await nucleus.cli(["deployment", "status", "-i", id]).stdout
            #expect(details.contains("FAILED_ROLLBACK_COMPLETE"), "\(details)")
        }
    }

    /// A component calling IPC in a loop (GetConfiguration + PublishToTopic with the real SDK) while the nucleus is
    /// killed at a random moment, three times: each restart stops the old component process and the new one gets
    /// a token, connects and succeeds again.
    @Test func componentUnderIPCLoadReconnectsAfterEachKillNine() async throws {
        let seed = durabilitySeed()
        var random = SplitMix64(state: seed)
        let directory = try TemporaryDirectory(prefix: "ggdi")
        let input = try ComponentFolder(in: directory)
        let marker = "GG_DURABILITY=\(UInt64.random(in: 0...UInt64.max))"
        let calls = directory.file("calls.txt")
        let script = try String(
            contentsOfFile: repositoryRoot + "/Tests/NucleusIntegrationTests/Components/Durability/ipc_loop.py", encoding: .utf8)
        try input.artifact("com.example.DurLoad", "1.0.0", "ipc_loop.py", script)
        try input.recipe("load.yaml", """
            RecipeFormatVersion: "2020-01-25"
            ComponentName: com.example.DurLoad
            ComponentVersion: "1.0.0"
            ComponentConfiguration:
              DefaultConfiguration:
                greeting: hello
                accessControl:
                  aws.greengrass.ipc.pubsub:
                    com.example.DurLoad:pubsub:1:
                      operations: ["aws.greengrass#PublishToTopic"]
                      resources: ["durability/load"]
            Manifests:
              - Lifecycle:
                  Setenv:
                    \(marker.replacingOccurrences(of: "=", with: ": "))
                  Run: python3 -u {artifacts:path}/ipc_loop.py \(calls)
            """)
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start()
        defer {
            nucleus.stop()
            for process in ProcessIdentity.withEnvironment(marker) { kill(process.pid, SIGKILL) }
        }
        let (_, status) = try await nucleus.deploy(["--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "com.example.DurLoad=1.0.0"])
        try #require(status.contains(": SUCCEEDED"), "\(status)")

        /// Successful IPC rounds per component process id.
        func rounds() -> [Int32: Int] {
            let lines = ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").split(separator: "\n")
            var counts: [Int32: Int] = [:]
            for line in lines {
                guard let pid = line.split(separator: " ").first.flatMap({ Int32($0) }) else { continue }
                counts[pid, default: 0] += 1
            }
            return counts
        }
        var seenPids: Set<Int32> = []
        for cycle in 0..<3 {
            let context = "seed \(seed), cycle \(cycle)"
            // A process not seen before has made 20 successful IPC rounds: the component is connected, under load.
            var fresh: Int32?
            let loaded = await eventually(timeout: .seconds(30)) {
                fresh = rounds().first { !seenPids.contains($0.key) && $0.value >= 20 }?.key
                return fresh != nil
            }
            try #require(loaded, "\(context): no new component process made 20 IPC rounds; rounds \(rounds()); log \(nucleus.log("com.example.DurLoad").suffix(2000))")
            seenPids.formUnion(rounds().keys)
            try await Task.sleep(for: .milliseconds(Int(random.next() % 301)))
            let killedRun = ProcessIdentity.withEnvironment(marker)
            #expect(killedRun.contains { $0.pid == fresh }, "\(context): the loaded process \(fresh ?? 0) is not among \(killedRun)")
            nucleus.kill()
            try nucleus.start()
            let cleaned = await eventually(timeout: .seconds(10)) { killedRun.allSatisfy { !$0.isAlive } }
            #expect(cleaned, "\(context): processes of the killed run still alive: \(killedRun.filter(\.isAlive))")
        }
        let reconnected = await eventually(timeout: .seconds(30)) {
            rounds().contains { !seenPids.contains($0.key) && $0.value >= 20 }
        }
        #expect(reconnected, "seed \(seed): the component did not reconnect after the last restart; rounds \(rounds())")
        print("IPC load across kill -9 (seed \(seed)): successful rounds per component process \(rounds().sorted { $0.key < $1.key })")
    }
}

/// Process-group numbers recorded before a reboot (a power cut) may belong to unrelated processes afterwards: the
/// nucleus compares the kernel's boot id with the one the recording run saw and signals nothing from another boot.
@Suite("Durability: recorded process groups across a reboot", .serialized)
struct DurabilityRebootTests {
    /// Starts `sleep 600` in its own session (it leads its own process group) and returns its pid.
    static func unrelatedSessionLeader() async throws -> Int32 {
        let started = try await ChildProcess.run(
            RepositoryFiles.python3, ["-c", "import subprocess; print(subprocess.Popen(['sleep', '600'], start_new_session=True).pid)"],
            timeout: .seconds(30))
        return try #require(Int32(started.stdout.filter { !$0.isWhitespace }), "\(started.stderr)")
    }

    /// Records `pgid` as a component's group in the stopped nucleus's store, with `bootID` as the recording boot.
    static func record(_ pgid: Int32, bootID: String?, in root: String) async throws {
        var statements = ["INSERT OR REPLACE INTO processGroup(pgid, component, startedOn) VALUES (\(pgid), 'com.example.Gone', 0)"]
        if let bootID {
            statements.append(#"INSERT OR REPLACE INTO configuration_document(name, document) VALUES ('nucleusRun', '{"bootId":"\#(bootID)"}')"#)
        }
        let script = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n"
            + statements.map { "c.execute(\"\"\"\($0)\"\"\")\n" }.joined() + "c.commit()\n"
        let result = try await ChildProcess.run(RepositoryFiles.python3, ["-c", script, root + "/config/nucleus.db"], timeout: .seconds(30))
        try #require(result.exitCode == 0, "\(result.stderr)")
    }

    @Test func groupsRecordedBeforeARebootAreNeverSignalled() async throws {
        try await withNucleus { nucleus, _ in
            let unrelated = try await Self.unrelatedSessionLeader()
            defer { kill(unrelated, SIGKILL) }
            nucleus.kill()
            try await Self.record(unrelated, bootID: "an-earlier-boot", in: nucleus.root)
            try nucleus.start()
            _ = try await nucleus.cli(["component", "list"])
            #expect(ProcessIdentity.of(unrelated) != nil, "a process from after the reboot was signalled")
            #expect(nucleus.log("greengrass").contains("orphan-cleanup-skipped"))
        }
    }

    @Test func groupsRecordedInThisBootAreStillStopped() async throws {
        try await withNucleus { nucleus, _ in
            let leftover = try await Self.unrelatedSessionLeader()
            defer { kill(leftover, SIGKILL) }
            nucleus.kill()
            // The run that just died recorded the current boot id itself; this group stands for one of its components.
            try await Self.record(leftover, bootID: nil, in: nucleus.root)
            try nucleus.start()
            let stopped = await eventually(timeout: .seconds(10)) {
                ProcessIdentity.of(leftover) == nil
            }
            #expect(stopped, "a group recorded in this boot must be stopped")
        }
    }
}

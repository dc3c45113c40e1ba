import Foundation
import GreengrassLifecycle
import GreengrassLogging
import GreengrassSupervisor
import GreengrassTestSupport
import ServiceLifecycle
import Testing

/// Dependencies, shutdown, spec changes, removal, users and Skipif, with real `/bin/sh` children.
@Suite("Supervisor orchestration", .serialized)
struct SupervisorOrchestrationTests {
    @Test("a HARD dependent starts only after its dependency is RUNNING, and stops first")
    func dependencyOrder() async throws {
        try await SupervisorFixture.with { f in
            let gate = f.root.file("base-may-install")
            f.supervisor.upsert(makeSpec("App", [.run: "sleep 300"], hardDependencies: ["Base"]))
            f.supervisor.upsert(
                makeSpec("Base", [.install: "while [ ! -e '\(gate)' ]; do sleep 0.05; done", .run: "sleep 300"]))
            f.supervisor.start("App")
            f.supervisor.start("Base")
            let logs = f.logs
            await f.eventually("Base is installing") { logs.entries.contains { $0.label == "Base" && $0.eventType == "shell-runner-start" } }
            #expect(f.supervisor.state(of: "App") == .installed, "App waits for Base")
            touch(gate)
            await f.reaches("App", .running)
            let order = f.changes.map { "\($0.name):\($0.to)" }
            let baseRunning = try #require(order.firstIndex(of: "Base:RUNNING"))
            let appStarting = try #require(order.firstIndex(of: "App:STARTING"))
            #expect(baseRunning < appStarting)

            await f.supervisor.stop("Base")
            #expect(f.supervisor.state(of: "App") == .finished)
            #expect(f.supervisor.state(of: "Base") == .finished)
            let stops = f.changes.map { "\($0.name):\($0.to)" }
            let appFinished = try #require(stops.lastIndex(of: "App:FINISHED"))
            let baseStopping = try #require(stops.lastIndex(of: "Base:STOPPING"))
            #expect(appFinished < baseStopping, "dependents stop first")
        }
    }

    @Test("a dependency that is restarted makes its RUNNING dependent restart and wait for it")
    func dependencyRestart() async throws {
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(makeSpec("Base", [.run: "sleep 300"]))
            f.supervisor.upsert(makeSpec("App", [.run: "echo app-run; sleep 300"], hardDependencies: ["Base"]))
            f.supervisor.start("Base")
            f.supervisor.start("App")
            await f.reaches("App", .running)
            #expect(f.supervisor.restart("Base"))
            let logs = f.logs
            await f.eventually("App ran twice") { logs.output("App").filter { $0 == "app-run" }.count == 2 }
            await f.eventually("App RUNNING twice") { f.states(of: "App").filter { $0 == .running }.count == 2 }
            let order = f.changes.map { "\($0.name):\($0.to)" }
            let baseBack = try #require(order.lastIndex(of: "Base:RUNNING"))
            let appBack = try #require(order.lastIndex(of: "App:STARTING"))
            #expect(baseBack < appBack, "App waited for Base to be RUNNING again")
        }
    }

    @Test("a dependency whose Run exits 0 (STOPPING, FINISHED) keeps its dependent running")
    func dependencyFinishes() async throws {
        try await SupervisorFixture.with { f in
            let gate = f.root.file("base-may-exit")
            f.supervisor.upsert(makeSpec("Base", [.run: "while [ ! -e '\(gate)' ]; do sleep 0.05; done"]))
            f.supervisor.upsert(makeSpec("App", [.run: "echo app-run; sleep 300"], hardDependencies: ["Base"]))
            f.supervisor.start("App")
            f.supervisor.start("Base")
            await f.reaches("App", .running)
            touch(gate)
            await f.reaches("Base", .finished)
            #expect(f.states(of: "App") == [.installed, .starting, .running])
            #expect(f.supervisor.state(of: "App") == .running)
            let order = f.changes.map { "\($0.name):\($0.to)" }
            #expect(order.firstIndex(of: "Base:RUNNING")! < order.firstIndex(of: "App:STARTING")!)
        }
    }

    @Test("a stop that races with a phase launch never leaves the launched process behind")
    func stopRacesLaunch() async throws {
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(makeSpec("Racy", [.install: "sleep 300", .run: "sleep 300"]))
            for _ in 0..<15 {
                f.supervisor.start("Racy")
                await f.supervisor.stop("Racy")
                #expect(f.supervisor.processGroups(of: "Racy").isEmpty)
                #expect(processes(under: f.root.path).isEmpty)
            }
            for group in f.processGroups(of: "Racy") {
                #expect(liveProcesses(inGroup: group).isEmpty)
            }
        }
    }

    @Test("shutdown stops everything in reverse dependency order and leaves no process")
    func shutdownOrder() async throws {
        var groups: [Int32] = []
        var changes: [String] = []
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(makeSpec("Base", [.run: "sleep 300 & sleep 300"]))
            f.supervisor.upsert(makeSpec("Mid", [.run: "sleep 300"], hardDependencies: ["Base"]))
            f.supervisor.upsert(makeSpec("Top", [.run: "sleep 300"], hardDependencies: ["Mid"]))
            for name in ["Top", "Mid", "Base"] { f.supervisor.start(name) }
            await f.reaches("Top", .running)
            await f.supervisor.shutdown()
            groups = ["Base", "Mid", "Top"].flatMap { f.processGroups(of: $0) }
            changes = f.changes.filter { $0.to == .stopping }.map(\.name)
            #expect(!f.supervisor.start("Top"), "no start after shutdown")
            #expect(f.supervisor.snapshot().values.allSatisfy { $0.state == .finished })
        }
        #expect(changes == ["Top", "Mid", "Base"])
        #expect(groups.count == 3)
        for group in groups {
            #expect(liveProcesses(inGroup: group).isEmpty)
        }
    }

    @Test("spec changes: version reinstalls, script change restarts, Shutdown-only change applies silently")
    func upsertReactions() async throws {
        try await SupervisorFixture.with { f in
            let install = "echo installing"
            f.supervisor.upsert(makeSpec("Comp", [.install: install, .run: "echo run-1; sleep 300"]))
            f.supervisor.start("Comp")
            let logs = f.logs
            await f.eventually("first run") { logs.output("Comp").contains("run-1") }

            #expect(f.supervisor.upsert(makeSpec("Comp", [.install: install, .run: "echo run-1; sleep 300"])) == .unchanged)
            #expect(
                f.supervisor.upsert(makeSpec("Comp", [.install: install, .run: "echo run-1; sleep 300", .shutdown: "true"])) == .updated)
            #expect(f.supervisor.upsert(makeSpec("Comp", [.install: install, .run: "echo run-2; sleep 300"])) == .restarting)
            await f.eventually("restarted") { logs.output("Comp").contains("run-2") }
            #expect(logs.output("Comp").filter { $0 == "installing" }.count == 1, "a restart does not reinstall")

            #expect(
                f.supervisor.upsert(makeSpec("Comp", version: "2.0.0", [.install: install, .run: "echo run-3; sleep 300"]))
                    == .reinstalling)
            await f.eventually("reinstalled") { logs.output("Comp").contains("run-3") }
            #expect(logs.output("Comp").filter { $0 == "installing" }.count == 2)
            #expect(f.supervisor.snapshot()["Comp"]?.version == "2.0.0")
        }
    }

    @Test("reinstall takes a component out of BROKEN")
    func reinstallFromBroken() async throws {
        try await SupervisorFixture.with { f in
            let fixed = f.root.file("fixed")
            f.supervisor.upsert(makeSpec("Flaky", [.run: "[ -e '\(fixed)' ] || exit 1; sleep 300"]))
            f.supervisor.start("Flaky")
            await f.reaches("Flaky", .broken)
            #expect(f.supervisor.restart("Flaky"))
            #expect(f.supervisor.state(of: "Flaky") == .broken, "restart does not clear BROKEN")
            touch(fixed)
            #expect(f.supervisor.reinstall("Flaky"))
            // The recorded transitions arrive through the change stream, a moment after the state itself.
            await f.eventually("running again") {
                f.supervisor.state(of: "Flaky") == .running && f.states(of: "Flaky").last == .running
            }
            #expect(f.states(of: "Flaky").suffix(4) == [.new, .installed, .starting, .running])
        }
    }

    @Test("remove stops the component, runs Uninstall with the version, and forgets it")
    func removeRunsUninstall() async throws {
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(
                makeSpec("Gone", version: "1.2.3", [.run: "sleep 300", .uninstall: #"echo "uninstall $GREENGRASS_COMPONENT_VERSION""#]))
            f.supervisor.start("Gone")
            await f.reaches("Gone", .running)
            let group = try #require(f.processGroups(of: "Gone").first)
            await f.supervisor.remove("Gone")
            #expect(f.supervisor.state(of: "Gone") == nil)
            #expect(f.supervisor.snapshot()["Gone"] == nil)
            #expect(f.logs.output("Gone").contains("uninstall 1.2.3"))
            #expect(liveProcesses(inGroup: group).isEmpty)
            #expect(!f.supervisor.start("Gone"))
        }
    }

    @Test("processes an Install left in the background die with stop and with removal")
    func installLeftovers() async throws {
        try await SupervisorFixture.with { f in
            for name in ["Stopped", "Removed"] {
                f.supervisor.upsert(makeSpec(name, [.install: "sleep 300 & echo installed"]))
                f.supervisor.start(name)
                await f.reaches(name, .finished)
                #expect(f.supervisor.processGroups(of: name).count == 1, "the Install session is still alive")
            }
            let stoppedGroup = try #require(f.processGroups(of: "Stopped").first)
            let removedGroup = try #require(f.processGroups(of: "Removed").first)
            await f.supervisor.stop("Stopped")
            #expect(liveProcesses(inGroup: stoppedGroup).isEmpty)
            #expect(f.supervisor.processGroups(of: "Stopped").isEmpty)
            await f.supervisor.remove("Removed")
            #expect(liveProcesses(inGroup: removedGroup).isEmpty)
        }
    }

    @Test("IPC UpdateState: RUNNING ends STARTING early, ERRORED recovers and retries")
    func reportedStates() async throws {
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(makeSpec("Reporter", [.startup: "echo starting; sleep 300", .recover: "echo recovering"]))
            f.supervisor.start("Reporter")
            await f.eventually("Startup launched") { f.supervisor.state(of: "Reporter") == .starting && !f.processGroups(of: "Reporter").isEmpty }
            #expect(f.supervisor.reportState("Reporter", .running))
            #expect(f.supervisor.state(of: "Reporter") == .running)
            #expect(f.supervisor.reportState("Reporter", .errored))
            await f.eventually("recovered and starting again") { f.states(of: "Reporter").filter { $0 == .starting }.count == 2 }
            #expect(f.states(of: "Reporter").prefix(6) == [.installed, .starting, .running, .errored, .stopping, .installed])
            #expect(f.changes.first { $0.to == .errored }?.statusCode == .runError)
            let logs = f.logs
            await f.eventually("Recover ran") { logs.output("Reporter").contains("recovering") }
            #expect(!f.supervisor.reportState("Unknown", .running))
        }
    }

    @Test("Skipif: a phase whose condition holds does not run")
    func skipIf() async throws {
        try await SupervisorFixture.with { f in
            let marker = f.root.file("present")
            touch(marker)
            var spec = makeSpec("Skip", [.install: "echo install-ran", .run: "echo run-ran"])
            spec.phases[.install]?.skipIf = SkipCondition(check: .exists, argument: marker)
            spec.phases[.run]?.skipIf = SkipCondition(check: .onPath, argument: "no-such-program-anywhere", negated: true)
            f.supervisor.upsert(spec)
            f.supervisor.start("Skip")
            await f.reaches("Skip", .finished)
            #expect(f.logs.output("Skip").isEmpty)
            #expect(f.states(of: "Skip") == [.installed, .starting, .finished])
            #expect(f.logs.entries.filter { $0.label == "Skip" && $0.eventType == "shell-runner-skip" }.count == 2)
        }
    }

    @Test("Skipif on Bootstrap: a holding condition runs nothing (so its exit 100 cannot ask for a restart)")
    func skipIfOnBootstrap() async throws {
        try await SupervisorFixture.with { f in
            let marker = f.root.file("bootstrapped")
            let ran = f.root.file("bootstrap-ran")
            var spec = makeSpec("Boot", [.bootstrap: "touch '\(ran)'; exit 100"])
            spec.phases[.bootstrap]?.skipIf = SkipCondition(check: .exists, argument: marker)
            #expect(await f.supervisor.runOnce(.bootstrap, of: spec) == .exited(100), "condition false: it runs")
            #expect(FileManager.default.fileExists(atPath: ran))
            try FileManager.default.removeItem(atPath: ran)
            touch(marker)
            #expect(await f.supervisor.runOnce(.bootstrap, of: spec) == .skipped)
            #expect(!FileManager.default.fileExists(atPath: ran))
            #expect(f.logs.entries.contains { $0.label == "Boot" && $0.eventType == "shell-runner-skip" })
        }
    }

    @Test("as root: phases run as runWith.posixUser, RequiresPrivilege phases as root")
    func posixUser() async throws {
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(
                makeSpec(
                    "User", [.install: "echo install-uid=$(id -u)", .run: "echo run-user=$(id -un) home=$HOME; touch owned"],
                    posixUser: "nobody", privileged: [.install]))
            f.supervisor.start("User")
            await f.reaches("User", .finished)
            let logs = f.logs
            await f.eventually("two lines") { logs.output("User").count == 2 }
            let myName = String(cString: getpwuid(geteuid()).pointee.pw_name)
            let expectedUser = geteuid() == 0 ? "nobody" : myName
            #expect(logs.output("User").first == "install-uid=\(geteuid())")
            #expect(logs.output("User").last?.hasPrefix("run-user=\(expectedUser) ") == true)
            var info = stat()
            #expect(stat(f.workDirectory("User") + "/owned", &info) == 0, "the work directory belongs to the run-as user")
        }
    }

    @Test("an unknown posixUser or shell fails the phase with an I/O status and a named error")
    func launchFailures() async throws {
        try await SupervisorFixture.with(configure: { $0.shell = "/nonexistent/shell" }) { f in
            f.supervisor.upsert(makeSpec("NoShell", [.run: "echo hi"]))
            f.supervisor.start("NoShell")
            await f.reaches("NoShell", .errored)
            #expect(f.changes.first { $0.name == "NoShell" && $0.to == .errored }?.statusCode == .runIOError)
            #expect(f.logs.entries.contains { $0.eventType == "shell-runner-error" && $0.label == "NoShell" })
        }
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(makeSpec("NoUser", [.install: "echo hi"], posixUser: "no-such-user-xyz:nogroup"))
            f.supervisor.start("NoUser")
            if geteuid() == 0 {
                await f.reaches("NoUser", .errored)
                #expect(f.changes.first { $0.to == .errored }?.statusCode == .installIOError)
                #expect(f.logs.entries.contains { $0.message.contains("no such user \"no-such-user-xyz\"") })
            } else {
                // Not root: posixUser does not apply and the phase runs as the nucleus's user.
                await f.reaches("NoUser", .finished)
            }
        }
    }
}

@Suite("Supervisor as a Service", .serialized)
struct SupervisorServiceTests {
    @Test("graceful shutdown of the ServiceGroup stops the components and ends run()")
    func gracefulShutdown() async throws {
        let f = try SupervisorFixture()
        f.supervisor.upsert(makeSpec("Svc", [.run: "echo up; sleep 300"]))
        f.supervisor.start("Svc")
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [f.supervisor], logger: f.logs.logger("group")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let logs = f.logs
            await f.eventually("component running") { logs.output("Svc").contains("up") }
            let pgid = try await f.firstProcessGroup(of: "Svc")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(f.supervisor.state(of: "Svc") == .finished)
            #expect(liveProcesses(inGroup: pgid).isEmpty)
        }
        f.expectNoLeftoverProcesses()
    }

    @Test("cancelling run() without a shutdown still kills every component process")
    func cancellationKillsEverything() async throws {
        let f = try SupervisorFixture()
        f.supervisor.upsert(makeSpec("Orphan", [.run: "sleep 300 & sleep 300 & echo up; wait"]))
        f.supervisor.start("Orphan")
        let runner = Task { try await f.supervisor.run() }
        let logs = f.logs
        await f.eventually("component running") { logs.output("Orphan").contains("up") }
        let pgid = try await f.firstProcessGroup(of: "Orphan")
        #expect(liveProcesses(inGroup: pgid).count >= 3)
        runner.cancel()
        _ = await runner.result
        await f.eventually("no process left") { liveProcesses(inGroup: pgid).isEmpty }
        await #expect(throws: SupervisorError.self) { try await f.supervisor.run() }
        f.expectNoLeftoverProcesses()
    }
}

@Suite("Supervisor with the Greengrass log files", .serialized)
struct SupervisorLogFileTests {
    @Test("component and nucleus lines come out in the Greengrass TEXT format")
    func realLogFiles() async throws {
        let logRoot = try TemporaryDirectory(prefix: "lg")
        let files = GreengrassLogFiles(configuration: GreengrassLogConfiguration(rootPath: logRoot.path))
        let configure: (inout SupervisorConfiguration) -> Void = {
            $0.componentLogger = { files.componentLogger(name: $0) }
            $0.nucleusLogger = files.nucleusLogger(label: "com.aws.greengrass.lifecyclemanager.GenericExternalService")
        }
        try await SupervisorFixture.with(configure: configure) { f in
            let gate = f.root.file("say-hello")
            f.supervisor.upsert(makeSpec("com.example.Hello", [.run: "while [ ! -e '\(gate)' ]; do sleep 0.05; done; echo hello"]))
            f.supervisor.start("com.example.Hello")
            await f.reaches("com.example.Hello", .running)
            touch(gate)
            await f.reaches("com.example.Hello", .finished)
            let componentLog = files.logFilePath(baseName: "com.example.Hello")
            await f.eventually("stdout line written") {
                ((try? String(contentsOfFile: componentLog, encoding: .utf8)) ?? "").contains("stdout. hello.")
            }
            let component = try String(contentsOfFile: componentLog, encoding: .utf8)
            #expect(
                component.contains(
                    "[INFO] (Copier) com.example.Hello: stdout. hello. {scriptName=services.com.example.Hello.lifecycle.Run, serviceName=com.example.Hello, currentState=RUNNING}"
                ), "\(component)")
            #expect(component.contains("com.example.Hello: shell-runner-start. {scriptName=services.com.example.Hello.lifecycle.Run"))
            #expect(component.contains("command=[\"while [ ! -e"))
            #expect(component.contains("com.example.Hello: Run script exited. {"))
            #expect(component.contains("exitCode=0"))
            let nucleus = try String(contentsOfFile: files.nucleusLogPath, encoding: .utf8)
            // Context order is the logging module's business (Java HashMap order); check the parts.
            let stopping = nucleus.split(separator: "\n").filter {
                $0.contains("(com.example.Hello-lifecycle) com.aws.greengrass.lifecyclemanager.GenericExternalService: service-set-state. {")
                    && $0.contains("serviceName=com.example.Hello") && $0.contains("currentState=RUNNING")
                    && $0.contains("newState=STOPPING")
            }
            #expect(stopping.count == 1, "\(nucleus)")
        }
    }
}

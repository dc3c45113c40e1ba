import Foundation
import GreengrassLifecycle
import GreengrassSupervisor
import GreengrassTestSupport
import Logging
import Testing

/// Real `/bin/sh` children: lifecycle semantics, logs and environment.
@Suite("Supervisor with real processes", .serialized)
struct SupervisorProcessTests {
    @Test("Run exits 0: states in order, stdout/stderr lines, exit and start events in the component log")
    func runExitsZero() async throws {
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(
                makeSpec(
                    "com.example.Hello",
                    [.run: "echo hello; echo '  padded  '; echo oops >&2; printf 'tail-without-newline' # a long script"]))
            #expect(f.supervisor.state(of: "com.example.Hello") == .new)
            #expect(f.supervisor.start("com.example.Hello"))
            await f.reaches("com.example.Hello", .finished)
            #expect(f.states(of: "com.example.Hello") == [.installed, .starting, .running, .stopping, .finished])

            let logs = f.logs
            await f.eventually("partial last line logged") { logs.output("com.example.Hello").contains("tail-without-newline") }
            #expect(logs.output("com.example.Hello") == ["hello", "padded", "tail-without-newline"])
            #expect(logs.output("com.example.Hello", stream: "stderr") == ["oops"])

            let hello = try #require(logs.entries.first { $0.eventType == "stdout" && $0.message == "hello" })
            #expect(hello.level == .info)
            #expect(hello.metadata["thread"] == "Copier")
            #expect(hello.metadata["scriptName"] == "services.com.example.Hello.lifecycle.Run")
            #expect(hello.metadata["serviceName"] == "com.example.Hello")
            #expect(hello.metadata["currentState"] != nil)
            let oops = try #require(logs.entries.first { $0.eventType == "stderr" })
            #expect(oops.level == .warning)

            let start = try #require(logs.entries.first { $0.eventType == "shell-runner-start" })
            #expect(start.label == "com.example.Hello")
            #expect(start.metadata["command"]?.hasPrefix("[\"echo hello;") == true)
            #expect(start.metadata["command"]?.hasSuffix("...\"]") == true, "long scripts are cut to 90 characters")
            let exited = try #require(logs.entries.first { $0.message == "Run script exited" })
            #expect(exited.metadata["exitCode"] == "0")

            let setState = logs.entries.filter { $0.label == "nucleus" && $0.eventType == "service-set-state" }
            #expect(setState.map { $0.metadata["newState"] ?? "" } == ["INSTALLED", "STARTING", "RUNNING", "STOPPING", "FINISHED"])
            #expect(setState.first?.metadata["currentState"] == "NEW")
        }
    }

    @Test("environment: nucleus-provided variables, work directory, PATH")
    func environment() async throws {
        try await SupervisorFixture.with { f in
            let env = [
                "SVCUID": "ABCDEFGH01234567", "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": "/gg/ipc.socket",
                "AWS_IOT_THING_NAME": "thing-1", "GG_ROOT_CA_PATH": "/gg/rootCA.pem",
            ]
            let script = #"""
                echo "svcuid=$SVCUID"; echo "socket=$AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"
                echo "thing=$AWS_IOT_THING_NAME"; echo "ca=$GG_ROOT_CA_PATH"; echo "cwd=$(pwd)"
                case ":$PATH:" in *:/usr/sbin:*) echo path-ok;; esac
                """#
            f.supervisor.upsert(makeSpec("Env", [.run: script], environment: env))
            f.supervisor.start("Env")
            await f.reaches("Env", .finished)
            let logs = f.logs
            await f.eventually("all lines") { logs.output("Env").count == 6 }
            #expect(
                logs.output("Env") == [
                    "svcuid=ABCDEFGH01234567", "socket=/gg/ipc.socket", "thing=thing-1", "ca=/gg/rootCA.pem",
                    "cwd=\(f.workDirectory("Env"))", "path-ok",
                ])
        }
    }

    @Test("components get default signal dispositions: SIGPIPE kills a writer quietly, as in a shell")
    func signalDispositions() async throws {
        // NIO ignores SIGPIPE in this process; an inherited SIG_IGN would make `yes` report EPIPE on stderr.
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(makeSpec("Pipes", [.run: "yes | head -n 1; trap; echo done"]))
            f.supervisor.start("Pipes")
            await f.reaches("Pipes", .finished)
            let logs = f.logs
            await f.eventually("done") { logs.output("Pipes").contains("done") }
            #expect(logs.output("Pipes") == ["y", "done"], "no trap is inherited")
            #expect(logs.output("Pipes", stream: "stderr").isEmpty)
        }
    }

    @Test("Setenv precedence: nucleus environment < lifecycle Setenv < phase Setenv")
    func setenvPrecedence() async throws {
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(
                makeSpec(
                    "Precedence", [.install: #"echo "install $A $B $C""#, .run: #"echo "run $A $B $C""#],
                    environment: ["A": "base", "B": "base", "C": "base"],
                    componentSetenv: ["B": "component", "C": "component"],
                    phaseSetenv: [.run: ["C": "phase"]]))
            f.supervisor.start("Precedence")
            await f.reaches("Precedence", .finished)
            let logs = f.logs
            await f.eventually("both lines") { logs.output("Precedence").count == 2 }
            #expect(logs.output("Precedence") == ["install base component component", "run base component phase"])
        }
    }

    @Test("crash-looping Run goes BROKEN after three errors, running Recover in between")
    func crashLoopBroken() async throws {
        try await SupervisorFixture.with { f in
            f.supervisor.upsert(makeSpec("Crash", [.run: "echo crash; exit 3", .recover: "echo recovering"]))
            f.supervisor.start("Crash")
            await f.reaches("Crash", .broken)
            let states = f.states(of: "Crash")
            #expect(states.filter { $0 == .errored }.count == 2)
            #expect(states.last == .broken)
            #expect(f.changes.last { $0.name == "Crash" }?.statusCode == .runError)
            #expect(f.logs.output("Crash").filter { $0 == "recovering" }.count == 2)
            #expect(f.logs.output("Crash").filter { $0 == "crash" }.count == 3)
            #expect(f.supervisor.start("Crash"), "accepted, but a BROKEN component does not start")
            #expect(f.supervisor.state(of: "Crash") == .broken)
            #expect(f.supervisor.snapshot()["Crash"] == ComponentStatus(version: "1.0.0", state: .broken, statusCode: .runError))
        }
    }

    @Test("slow Install: the component stays NEW while it runs, then starts")
    func slowInstall() async throws {
        try await SupervisorFixture.with { f in
            let marker = f.root.file("install-may-finish")
            let script = "while [ ! -e '\(marker)' ]; do sleep 0.05; done; echo installed"
            f.supervisor.upsert(makeSpec("Slow", [.install: script, .run: "echo run"]))
            f.supervisor.start("Slow")
            let logs = f.logs
            await f.eventually("Install is running") { logs.entries.contains { $0.eventType == "shell-runner-start" } }
            #expect(f.supervisor.state(of: "Slow") == .new)
            touch(marker)
            await f.reaches("Slow", .finished)
            #expect(logs.output("Slow") == ["installed", "run"])
        }
    }

    @Test(
        "a phase that outlives its timeout is killed and reported with the timeout status",
        arguments: [(LifecyclePhase.run, ComponentStatusCode.runTimeout), (.startup, .startupTimeout), (.install, .installTimeout)])
    func timeouts(phase: LifecyclePhase, code: ComponentStatusCode) async throws {
        try await SupervisorFixture.with { f in
            var scripts: [LifecyclePhase: String] = [phase: "echo begin; sleep 300"]
            if phase == .install { scripts[.run] = "echo never" }
            f.supervisor.upsert(makeSpec("Timeout", scripts, timeouts: [phase: .milliseconds(300)]))
            let started = ContinuousClock.now
            f.supervisor.start("Timeout")
            await f.reaches("Timeout", .errored)
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(f.changes.first { $0.to == .errored }?.statusCode == code)
            let group = try #require(f.processGroups(of: "Timeout").first)
            #expect(liveProcesses(inGroup: group).isEmpty, "the timed-out process group was killed")
            #expect(f.logs.entries.contains { $0.message == "\(phase.rawValue) script timed out" })
            #expect(!f.logs.output("Timeout").contains("never"))
        }
    }

    @Test("Startup: STARTING until it exits 0, its background process keeps RUNNING, stop kills it")
    func startupKeepsBackgroundProcess() async throws {
        try await SupervisorFixture.with { f in
            // The daemon keeps stdout open: exit detection must not wait for end-of-file.
            f.supervisor.upsert(makeSpec("Daemon", [.startup: "sleep 300 & echo started"]))
            let started = ContinuousClock.now
            f.supervisor.start("Daemon")
            await f.reaches("Daemon", .running)
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(f.states(of: "Daemon") == [.installed, .starting, .running])
            let group = try #require(f.processGroups(of: "Daemon").first)
            #expect(!liveProcesses(inGroup: group).isEmpty, "the daemon is still alive")
            #expect(f.supervisor.processGroups(of: "Daemon") == [group])
            await f.supervisor.stop("Daemon")
            #expect(f.supervisor.state(of: "Daemon") == .finished)
            #expect(liveProcesses(inGroup: group).isEmpty)
            #expect(f.exitedGroups.contains(group))
            #expect(f.supervisor.processGroups(of: "Daemon").isEmpty)
        }
    }

    @Test("stop: Shutdown script first, then SIGTERM to the group, SIGKILL for what ignores it; no grandchild survives")
    func stopKillsGrandchildren() async throws {
        try await SupervisorFixture.with(configure: { $0.stopGracePeriod = .milliseconds(500) }) { f in
            let run = #"""
                trap 'echo got-term; exit 0' TERM
                sh -c 'trap "" TERM; sleep 300' &
                sh -c 'sleep 300 & sleep 300 & wait' &
                echo ready
                while true; do sleep 0.1; done
                """#
            f.supervisor.upsert(makeSpec("Tree", [.run: run, .shutdown: "echo shutting-down"]))
            f.supervisor.start("Tree")
            let logs = f.logs
            await f.eventually("running with children") { logs.output("Tree").contains("ready") }
            let group = try await f.firstProcessGroup(of: "Tree")
            // sh, the TERM-ignoring subshell and its sleep, the second subshell and its two sleeps.
            await f.eventually("every grandchild started") { liveProcesses(inGroup: group).count >= 6 }
            await f.supervisor.stop("Tree")
            #expect(liveProcesses(inGroup: group).isEmpty, "SIGTERM-ignoring grandchild was SIGKILLed")
            #expect(f.supervisor.state(of: "Tree") == .finished)
            let output = logs.output("Tree")
            let shutdownIndex = try #require(output.firstIndex(of: "shutting-down"))
            if let term = output.firstIndex(of: "got-term") {
                #expect(shutdownIndex < term, "Shutdown ran before the processes were signalled")
            }
        }
    }

    @Test("a component writing a flood of output is logged line by line without stalling")
    func highVolumeOutput() async throws {
        let logs = LogCapture(countOutputOnly: true)
        try await SupervisorFixture.with(logs: logs) { f in
            // ~1.9 MB of short lines plus one 200 KB line without a newline (cut into 64 KiB pieces).
            let script = "seq 1 300000; head -c 200000 /dev/zero | tr '\\0' 'x'"
            f.supervisor.upsert(makeSpec("Flood", [.run: script]))
            let started = ContinuousClock.now
            f.supervisor.start("Flood")
            await f.reaches("Flood", .finished, timeout: .seconds(60))
            await f.eventually("every line logged", timeout: .seconds(30)) { logs.stdoutCount == 300_000 + 4 }
            #expect(logs.stdoutCount == 300_004)
            #expect(logs.lastStdout == String(repeating: "x", count: 200_000 - 3 * 65_536))
            #expect(ContinuousClock.now - started < .seconds(60))
        }
    }

    @Test("an endless flood neither stalls other components nor grows the nucleus's memory")
    func endlessFlood() async throws {
        let logs = LogCapture(countOutputOnly: true)
        try await SupervisorFixture.with(logs: logs) { f in
            f.supervisor.upsert(makeSpec("Firehose", [.run: "yes 'a fairly long line of component output, over and over again'"]))
            f.supervisor.start("Firehose")
            await f.eventually("flooding") { logs.stdoutCount > 10_000 }
            let residentBefore = residentMegabytes()
            let clock = ContinuousClock()
            let countBefore = logs.stdoutCount
            let started = clock.now
            f.supervisor.upsert(makeSpec("Quiet", [.install: "true", .run: "exit 0"]))
            f.supervisor.start("Quiet")
            await f.reaches("Quiet", .finished, timeout: .seconds(30))
            #expect(clock.now - started < .seconds(30), "another component still runs its lifecycle")
            await f.eventually("three more seconds of flood") { clock.now - started > .seconds(3) }
            #expect(logs.stdoutCount > countBefore, "the flood is still being logged")
            let growth = residentMegabytes() - residentBefore
            #expect(growth < 64, "resident memory grew by \(growth) MB while reading the flood")
            await f.supervisor.stop("Firehose")
            #expect(f.supervisor.state(of: "Firehose") == .finished)
        }
    }
}

/// Resident set size of this process from `/proc/self/status`.
private func residentMegabytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    return kilobytes / 1024
}

import GreengrassLifecycle
import Testing

@Suite("LifecycleStateMachine: scenarios")
struct LifecycleScenarioTests {
    @Test("Run component that exits 0: NEW → INSTALLED → STARTING → RUNNING → STOPPING → FINISHED")
    func runExitsZero() {
        var h = Harness()
        #expect(h.send(.startRequested) == ["run:Install"])
        #expect(h.lastRun?.timeout == .seconds(120))
        #expect(h.finish(.exited(0)) == ["state:INSTALLED", "state:STARTING", "run:Run"])
        #expect(h.lastRun?.timeout == nil, "Run has no timeout unless the recipe sets one")
        #expect(h.started() == ["state:RUNNING"])
        #expect(h.finish(.exited(0)) == ["state:STOPPING", "run:Shutdown"])
        #expect(h.finish(.exited(0)) == ["kill"])
        #expect(h.killed() == ["state:FINISHED"])
        #expect(h.machine.isAtRest)
        #expect(h.machine.goal == .stopped)
    }

    @Test("Startup semantics: STARTING until the script exits 0, then RUNNING with processes kept")
    func startupSemantics() {
        var h = Harness(phases: [.startup: .seconds(5), .shutdown: .seconds(15), .run: nil])
        #expect(h.send(.startRequested) == ["state:INSTALLED", "state:STARTING", "run:Startup"])
        #expect(h.lastRun?.timeout == .seconds(5))
        #expect(h.started() == [], "a started Startup process does not make the component RUNNING")
        #expect(h.finish(.exited(0)) == ["state:RUNNING"])
        #expect(h.send(.stopRequested) == ["state:STOPPING", "run:Shutdown"])
        #expect(h.finish(.exited(0)) == ["kill"])
        #expect(h.killed() == ["state:FINISHED"])
    }

    @Test(
        "phase failures map to ERRORED with the Greengrass status code",
        arguments: [
            (LifecyclePhase.install, PhaseOutcome.exited(2), ComponentStatusCode.installError),
            (.install, .timedOut, .installTimeout),
            (.install, .launchFailed, .installIOError),
            (.startup, .exited(1), .startupError),
            (.startup, .timedOut, .startupTimeout),
            (.startup, .launchFailed, .startupIOError),
            (.run, .exited(137), .runError),
            (.run, .timedOut, .runTimeout),
            (.run, .launchFailed, .runIOError),
        ])
    func failureCodes(phase: LifecyclePhase, outcome: PhaseOutcome, code: ComponentStatusCode) {
        var phases: [LifecyclePhase: Duration?] = [.install: .seconds(1)]
        phases[phase] = .seconds(1)
        var h = Harness(phases: phases)
        h.send(.startRequested)
        if phase != .install {
            h.finish(.exited(0))
            if phase == .run, outcome != .launchFailed { h.started() }
        }
        #expect(h.lastRun?.phase == phase)
        let from: ComponentState =
            switch phase {
            case .install: .new
            case .run where outcome != .launchFailed: .running
            default: .starting
            }
        let actions = h.machine.handle(.phaseFinished(runID: h.lastRun!.id, outcome), now: h.now)
        #expect(actions.first == .reportState(StateTransition(from: from, to: .errored, statusCode: code)))
    }

    @Test("install failure goes ERRORED → Recover → NEW, retries after backoff, BROKEN on the third")
    func installFailureLoop() {
        var h = Harness()
        h.send(.startRequested)
        #expect(h.finish(.exited(1)) == ["state:ERRORED", "run:Recover"])
        #expect(h.finish(.exited(0)) == ["state:NEW", "kill"])
        #expect(h.killed() == ["delay"])
        #expect(h.delayElapsed() == ["run:Install"])
        #expect(h.finish(.timedOut) == ["state:ERRORED", "run:Recover"])
        h.finish(.timedOut)  // Recover timing out is only logged by the supervisor
        h.killed()
        h.delayElapsed()
        #expect(h.finish(.exited(1)) == ["state:BROKEN", "kill"], "no Shutdown: nothing was launched")
        #expect(h.killed() == [])
        #expect(h.state == .broken)
        #expect(h.machine.statusCode == .installError)
    }

    @Test("crash-looping Run: ERRORED, Recover, STOPPING, INSTALLED, retry; BROKEN on the third crash")
    func crashLoopBecomesBroken() {
        var h = Harness.inState(.running)
        #expect(h.finish(.exited(1)) == ["state:ERRORED", "run:Recover"])
        #expect(h.finish(.exited(0)) == ["state:STOPPING", "run:Shutdown"])
        #expect(h.finish(.exited(0)) == ["kill"])
        #expect(h.killed() == ["state:INSTALLED", "delay"])
        #expect(h.delayElapsed() == ["state:STARTING", "run:Run"])
        #expect(h.started() == ["state:RUNNING"])
        #expect(h.machine.errorCount(from: .running) == 1)
        h.finish(.exited(1))
        h.recoverAndRestart()
        #expect(h.machine.errorCount(from: .running) == 2)
        #expect(h.finish(.exited(3)) == ["state:BROKEN", "run:Shutdown"])
        #expect(h.finish(.exited(0)) == ["kill"])
        #expect(h.killed() == [])
        #expect(h.send(.startRequested) == ["notice"])
        #expect(h.send(.restartRequested) == ["notice"])
        #expect(h.state == .broken)
    }

    @Test("errors further apart than errorResetTime never make the component BROKEN")
    func errorResetTime() {
        var h = Harness.inState(.running)
        h.machine.policy = RestartPolicy(errorResetTime: .seconds(600))
        for _ in 1...6 {
            h.now = h.now.advanced(by: .seconds(601))
            #expect(h.finish(.exited(1)).first == "state:ERRORED")
            #expect(h.machine.errorCount(from: .running) == 1)
            h.recoverAndRestart()
        }
        #expect(h.state == .running)
    }

    @Test("three errors within errorResetTime, even spread out, make it BROKEN")
    func errorsWithinResetTime() {
        var h = Harness.inState(.running)
        var states: [ComponentState] = []
        for _ in 1...3 {
            h.now = h.now.advanced(by: .seconds(3599))
            h.finish(.exited(1))
            states.append(h.state)
            if h.state == .errored {
                h.recoverAndRestart()
            }
        }
        #expect(states == [.errored, .errored, .broken])
    }

    @Test("a successful Startup ends the STARTING error streak")
    func successClearsStreak() {
        var h = Harness(phases: [.startup: .seconds(5)])
        h.send(.startRequested)
        h.finish(.exited(1))
        h.killed()
        h.delayElapsed()
        #expect(h.machine.errorCount(from: .starting) == 1)
        #expect(h.finish(.exited(0)) == ["state:RUNNING"])
        #expect(h.machine.errorCount(from: .starting) == 0)
    }

    @Test("retry delay grows with consecutive errors")
    func backoffGrows() {
        var h = Harness(phases: [.startup: .seconds(5)], policy: RestartPolicy(maximumErrors: 5, initialBackoff: .milliseconds(100)))
        var delays: [Duration] = []
        h.send(.startRequested)
        for _ in 1...4 {
            h.finish(.exited(1))
            let actions = h.machine.handle(.processesKilled(ticket: h.lastKill!), now: h.now)
            for case .scheduleRestart(let ticket, let delay) in actions {
                delays.append(delay)
                h.lastDelay = ticket
            }
            h.delayElapsed()
        }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800)])
    }

    @Test("no Startup and no Run: Nothing done, FINISHED")
    func nothingToRun() {
        var h = Harness(phases: [.install: .seconds(1)])
        h.send(.startRequested)
        #expect(h.finish(.exited(0)) == ["state:INSTALLED", "state:STARTING", "notice", "state:FINISHED"])
        #expect(h.machine.isAtRest)
    }

    @Test("a skipped Run is Nothing done; a skipped Install counts as installed")
    func skippedPhases() {
        var h = Harness()
        h.send(.startRequested)
        #expect(h.finish(.skipped) == ["state:INSTALLED", "state:STARTING", "run:Run"])
        #expect(h.finish(.skipped) == ["notice", "state:FINISHED"])
    }

    @Test("HARD dependencies gate the start; losing one restarts the dependent")
    func dependencies() {
        var h = Harness()
        h.send(.dependenciesChanged(ready: false))
        h.send(.startRequested)
        #expect(h.finish(.exited(0)) == ["state:INSTALLED"])
        #expect(h.send(.dependenciesChanged(ready: true)) == ["state:STARTING", "run:Run"])
        h.started()
        #expect(h.send(.dependenciesChanged(ready: false)) == ["state:STOPPING", "run:Shutdown"])
        h.finish(.exited(0))
        #expect(h.killed() == ["state:INSTALLED"])
        #expect(h.send(.dependenciesChanged(ready: true)) == ["state:STARTING", "run:Run"])
    }

    @Test("stop during Install kills it and stays NEW; the late exit is ignored")
    func stopDuringInstall() {
        var h = Harness()
        h.send(.startRequested)
        let install = h.lastRun!
        #expect(h.send(.stopRequested) == ["kill"])
        #expect(h.send(.phaseFinished(runID: install.id, .exited(143))) == [])
        #expect(h.killed() == [])
        #expect(h.state == .new)
        #expect(h.machine.isAtRest)
        #expect(h.send(.startRequested) == ["run:Install"])
    }

    @Test("Shutdown runs before the kill; the Run exit it causes is ignored")
    func shutdownBeforeKill() {
        var h = Harness.inState(.running)
        let run = h.lastRun!
        #expect(h.send(.stopRequested) == ["state:STOPPING", "run:Shutdown"])
        #expect(h.send(.phaseFinished(runID: run.id, .exited(0))) == [])
        #expect(h.finish(.timedOut) == ["notice", "kill"])
        #expect(h.killed() == ["state:FINISHED"])
    }

    @Test("restart of a RUNNING component stops and starts again without Install or delay")
    func restartRunning() {
        var h = Harness.inState(.running)
        #expect(h.send(.restartRequested) == ["state:STOPPING", "run:Shutdown"])
        h.finish(.exited(0))
        #expect(h.killed() == ["state:INSTALLED", "state:STARTING", "run:Run"])
    }

    @Test("reinstall leaves BROKEN, forgets errors and runs Install again")
    func reinstallFromBroken() {
        var h = Harness.inState(.broken)
        #expect(h.machine.errorCount(from: .running) == 3)
        #expect(h.send(.reinstallRequested) == ["state:NEW", "run:Install"])
        #expect(h.machine.errorCount(from: .running) == 0)
        #expect(h.finish(.exited(0)) == ["state:INSTALLED", "state:STARTING", "run:Run"])
    }

    @Test("reinstall of a RUNNING component: STOPPING, NEW, Install, start")
    func reinstallRunning() {
        var h = Harness.inState(.running)
        #expect(h.send(.reinstallRequested) == ["state:STOPPING", "run:Shutdown"])
        h.finish(.exited(0))
        #expect(h.killed() == ["state:NEW", "run:Install"])
    }

    @Test("uninstall of a RUNNING component: stop, Uninstall, then nothing more")
    func uninstallRunning() {
        var h = Harness.inState(.running)
        #expect(h.send(.uninstallRequested) == ["state:STOPPING", "run:Shutdown"])
        h.finish(.exited(0))
        #expect(h.killed() == ["state:FINISHED", "run:Uninstall"])
        #expect(h.finish(.exited(1)) == ["uninstalled"])
        #expect(h.machine.hasUninstalled)
        #expect(h.send(.startRequested) == [])
    }

    @Test("a component reporting ERRORED over IPC is recovered and its old Run exit is ignored")
    func reportedError() {
        var h = Harness.inState(.running)
        let run = h.lastRun!
        let actions = h.machine.handle(.componentReported(.errored), now: h.now)
        #expect(actions.first == .reportState(StateTransition(from: .running, to: .errored, statusCode: .runError)))
        h.lastRun = actions.compactMap { if case .runPhase(let r) = $0 { r } else { nil } }.first
        #expect(h.lastRun?.phase == .recover)
        #expect(h.send(.phaseFinished(runID: run.id, .exited(143))) == [])
        #expect(h.finish(.exited(0)) == ["state:STOPPING", "run:Shutdown"])
        #expect(h.machine.errorCount(from: .running) == 1)
    }

    @Test("stop while waiting for the retry delay cancels the retry")
    func stopDuringDelay() {
        var h = Harness.inState(.errored)
        h.finish(.exited(0))
        h.finish(.exited(0))
        #expect(h.killed() == ["state:INSTALLED", "delay"])
        #expect(!h.machine.isAtRest)
        #expect(h.send(.stopRequested) == ["state:FINISHED"])
        #expect(h.delayElapsed() == [])
        #expect(h.machine.isAtRest)
    }

    @Test("stop requested during Recover: the component ends FINISHED instead of retrying")
    func stopDuringRecover() {
        var h = Harness.inState(.errored)
        #expect(h.send(.stopRequested) == [])
        #expect(h.finish(.exited(0)) == ["state:STOPPING", "run:Shutdown"])
        h.finish(.exited(0))
        #expect(h.killed() == ["state:INSTALLED", "state:FINISHED"])
        #expect(h.machine.isAtRest)
    }
}

@Suite("RestartPolicy and ErrorHistory")
struct RestartPolicyTests {
    @Test(arguments: [(1, 1), (2, 2), (3, 4), (4, 8), (6, 32), (7, 60), (50, 60)])
    func backoff(errors: Int, seconds: Int) {
        #expect(RestartPolicy().backoff(afterErrors: errors) == .seconds(seconds))
    }

    @Test func defaults() {
        let policy = RestartPolicy()
        #expect(policy.maximumErrors == 3)
        #expect(policy.errorResetTime == .seconds(3600))
        #expect(RestartPolicy(maximumErrors: 0).maximumErrors == 1)
    }

    @Test func historyCountsPerOriginAndResets() {
        var history = ErrorHistory<TestInstant>()
        let t0 = TestInstant.zero
        #expect(history.record(from: .running, at: t0, resetTime: .seconds(10)) == 1)
        #expect(history.record(from: .starting, at: t0, resetTime: .seconds(10)) == 1)
        #expect(history.record(from: .running, at: t0.advanced(by: .seconds(10)), resetTime: .seconds(10)) == 2)
        #expect(history.record(from: .running, at: t0.advanced(by: .seconds(21)), resetTime: .seconds(10)) == 1)
        history.clear(.running)
        #expect(history.count(for: .running) == 0)
        #expect(history.count(for: .starting) == 1)
        history.clearAll()
        #expect(history.count(for: .starting) == 0)
    }
}

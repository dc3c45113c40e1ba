import GreengrassLifecycle

/// A manual instant: tests move time by adding durations, nothing sleeps.
struct TestInstant: InstantProtocol {
    var offset: Duration

    static let zero = TestInstant(offset: .zero)

    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
}

/// Drives a machine like the supervisor would, remembering the last phase run, kill and delay tickets.
struct Harness {
    static let standardPhases: [LifecyclePhase: Duration?] = [
        .install: .seconds(120), .run: nil, .shutdown: .seconds(15), .recover: .seconds(60), .uninstall: .seconds(120),
    ]

    var machine: LifecycleStateMachine<TestInstant>
    var now = TestInstant.zero
    var lastRun: PhaseRun?
    var lastKill: Int?
    var lastDelay: Int?

    init(phases: [LifecyclePhase: Duration?] = Harness.standardPhases, policy: RestartPolicy = RestartPolicy()) {
        machine = LifecycleStateMachine(phases: phases, policy: policy)
    }

    var state: ComponentState { machine.state }

    /// Sends an event and returns the actions as short strings (`run:Install`, `kill`, `delay`, `state:RUNNING`, …).
    @discardableResult
    mutating func send(_ event: LifecycleEvent) -> [String] {
        let actions = machine.handle(event, now: now)
        return actions.map { action in
            switch action {
            case .runPhase(let run):
                lastRun = run
                return "run:\(run.phase)"
            case .killProcesses(let ticket):
                lastKill = ticket
                return "kill"
            case .scheduleRestart(let ticket, _):
                lastDelay = ticket
                return "delay"
            case .reportState(let transition):
                return "state:\(transition.to)"
            case .notice:
                return "notice"
            case .uninstalled:
                return "uninstalled"
            }
        }
    }

    /// Finishes the most recent phase run with `outcome`.
    @discardableResult
    mutating func finish(_ outcome: PhaseOutcome) -> [String] {
        send(.phaseFinished(runID: lastRun!.id, outcome))
    }

    @discardableResult
    mutating func started() -> [String] { send(.phaseStarted(runID: lastRun!.id)) }

    @discardableResult
    mutating func killed() -> [String] { send(.processesKilled(ticket: lastKill!)) }

    @discardableResult
    mutating func delayElapsed() -> [String] { send(.restartDelayElapsed(ticket: lastDelay!)) }

    /// From ERRORED after a Run crash (standard phases): Recover and Shutdown succeed, the processes are
    /// killed, the retry delay elapses and Run starts again; ends RUNNING.
    mutating func recoverAndRestart() {
        finish(.exited(0))  // Recover
        finish(.exited(0))  // Shutdown
        killed()
        delayElapsed()
        started()
    }

    /// A machine brought into `state` through the normal event sequence (standard phases).
    static func inState(_ state: ComponentState) -> Harness {
        var h = Harness()
        switch state {
        case .new:
            break
        case .installed:
            h.send(.dependenciesChanged(ready: false))
            h.send(.startRequested)
            h.finish(.exited(0))
        case .starting:
            h.send(.startRequested)
            h.finish(.exited(0))
        case .running:
            h = inState(.starting)
            h.started()
        case .stopping:
            h = inState(.running)
            h.send(.stopRequested)
        case .finished:
            h = inState(.running)
            h.finish(.exited(0))
            h.finish(.exited(0))
            h.killed()
        case .errored:
            h = inState(.running)
            h.finish(.exited(1))
        case .broken:
            h = inState(.running)
            for attempt in 1...3 {
                h.finish(.exited(1))
                guard attempt < 3 else { break }
                h.recoverAndRestart()
            }
            h.finish(.exited(0))  // Shutdown
            h.killed()
        }
        precondition(h.state == state, "harness reached \(h.state), wanted \(state)")
        return h
    }
}

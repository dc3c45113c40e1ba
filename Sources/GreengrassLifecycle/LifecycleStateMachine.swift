/// One launch of a lifecycle phase requested by the state machine.
///
/// The `id` ties the later ``LifecycleEvent/phaseStarted(runID:)`` and
/// ``LifecycleEvent/phaseFinished(runID:_:)`` events to this launch, so the exit of a process the
/// machine has already given up on (for example a Run process killed by a stop) is ignored.
public struct PhaseRun: Sendable, Hashable {
    public var id: Int
    public var phase: LifecyclePhase
    /// Kill the process group and report ``PhaseOutcome/timedOut`` after this long; `nil` = no limit.
    public var timeout: Duration?

    public init(id: Int, phase: LifecyclePhase, timeout: Duration?) {
        self.id = id
        self.phase = phase
        self.timeout = timeout
    }
}

/// How a phase process ended, as seen by the supervisor.
public enum PhaseOutcome: Sendable, Hashable {
    /// The `sh -c` process exited with this code (a signal `n` is reported as `128 + n`).
    case exited(Int32)
    /// The timeout elapsed; the supervisor has already killed the phase's process group.
    case timedOut
    /// The process could not be started (missing shell, bad user, unreadable work directory …).
    case launchFailed
    /// The phase's `Skipif` condition held, so nothing ran; counts as success.
    case skipped

    /// Exit 0 or skipped.
    public var succeeded: Bool {
        self == .exited(0) || self == .skipped
    }
}

/// An input to ``LifecycleStateMachine``.
public enum LifecycleEvent: Sendable, Hashable {
    /// Desired state RUNNING (deployment, `greengrass-cli component restart` of a stopped one, nucleus start).
    case startRequested
    /// Desired state FINISHED: run Shutdown, kill the processes.
    case stopRequested
    /// Desired INSTALLED then RUNNING: stop if running, start again without reinstalling.
    case restartRequested
    /// Desired NEW then RUNNING: stop, Install again, start. The only way out of BROKEN besides removal.
    case reinstallRequested
    /// The component is being removed: stop, run Uninstall, then report ``LifecycleAction/uninstalled``.
    case uninstallRequested
    /// Whether every HARD dependency is RUNNING or FINISHED now.
    case dependenciesChanged(ready: Bool)
    /// The phases present in the (new) recipe and their effective timeouts (`nil` = none).
    case phasesChanged([LifecyclePhase: Duration?])
    /// The process for this run was spawned.
    case phaseStarted(runID: Int)
    /// The process for this run ended (or was skipped, timed out, failed to launch).
    case phaseFinished(runID: Int, PhaseOutcome)
    /// Every process group of the component is gone.
    case processesKilled(ticket: Int)
    /// The retry delay requested by ``LifecycleAction/scheduleRestart(ticket:after:)`` has elapsed.
    case restartDelayElapsed(ticket: Int)
    /// The component reported its own state over IPC (`UpdateState`): RUNNING while STARTING, or ERRORED
    /// while STARTING or RUNNING. Anything else is refused with a notice.
    case componentReported(ComponentState)
}

/// Work the supervisor must do after an event. Performed in order.
public enum LifecycleAction: Sendable, Hashable {
    /// Spawn the phase's script (Install, Startup, Run, Shutdown, Recover, Uninstall).
    case runPhase(PhaseRun)
    /// Stop every process group of the component (SIGTERM, grace period, SIGKILL), then send
    /// ``LifecycleEvent/processesKilled(ticket:)``.
    case killProcesses(ticket: Int)
    /// Wait, then send ``LifecycleEvent/restartDelayElapsed(ticket:)``.
    case scheduleRestart(ticket: Int, after: Duration)
    /// Log `service-set-state` and publish the change (a transition to BROKEN is the "mark broken" signal).
    case reportState(StateTransition)
    /// Log a lifecycle message (for example "Nothing done." or a refused restart of a BROKEN component).
    case notice(String)
    /// Uninstall is done; the component can be forgotten.
    case uninstalled
}

/// The lifecycle of one component as a pure value: events in, actions out.
///
/// Models the Greengrass lifecycle loop: Install (NEW → INSTALLED), waiting for HARD dependencies,
/// Startup or Run (STARTING → RUNNING), exits (0 → FINISHED, otherwise ERRORED), Recover, retries with
/// backoff, the BROKEN rule (see ``RestartPolicy``) and the stop sequence (Shutdown script first, then
/// the process groups). Only one operation (a phase, a kill, a retry delay) is in flight at a time,
/// which is what makes stale process exits easy to recognise.
///
/// Time is an explicit `now` so tests can drive the BROKEN rule without sleeping.
public struct LifecycleStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// What the component should end up doing.
    public enum Goal: Sendable, Hashable {
        case stopped
        case running
        case removed
    }

    private enum Pending: Hashable {
        case idle
        case phase(PhaseRun)
        case killing(Int)
        case restartDelay(Int)
    }

    /// The state to enter once a teardown (Shutdown script, then kill) is done.
    private enum AfterTeardown: Hashable {
        case finished
        case installed
        case new
        case unchanged
        case retry(origin: ComponentState)
    }

    /// The current state.
    public private(set) var state: ComponentState = .new
    /// Why the component is in its state.
    public private(set) var statusCode: ComponentStatusCode = .none
    /// What the component is heading for.
    public private(set) var goal: Goal = .stopped
    /// Retry and BROKEN settings.
    public var policy: RestartPolicy

    private var phases: [LifecyclePhase: Duration?]
    private var errors = ErrorHistory<Instant>()
    private var pending: Pending = .idle
    private var afterTeardown: AfterTeardown?
    private var errorOrigin: ComponentState?
    private var launched = false
    private var dependenciesReady = true
    private var needsReinstall = false
    private var isUninstalled = false
    private var nextTicket = 1
    private var emitted: [LifecycleAction] = []

    /// Creates a machine in state NEW.
    ///
    /// - Parameters:
    ///   - phases: the phases the recipe defines, with effective timeouts (`nil` = no limit).
    ///   - policy: retry and BROKEN settings.
    public init(phases: [LifecyclePhase: Duration?], policy: RestartPolicy = RestartPolicy()) {
        self.phases = phases
        self.policy = policy
    }

    /// The phase run whose process the machine is waiting for, if any.
    ///
    /// The supervisor launches a ``PhaseRun`` only while it is still active: a stop that came in between
    /// makes the machine forget it, and launching it anyway would leave a process nobody kills.
    public var activeRun: PhaseRun? {
        if case .phase(let run) = pending { return run }
        return nil
    }

    /// The phase whose process the machine is waiting for, if any.
    public var activePhase: LifecyclePhase? { activeRun?.phase }

    /// Nothing is in flight and the component is not heading for RUNNING: a stop or removal is complete.
    public var isAtRest: Bool {
        pending == .idle && afterTeardown == nil && state != .errored && goal != .running
    }

    /// Whether Uninstall has completed.
    public var hasUninstalled: Bool { isUninstalled }

    /// Errors currently counted towards BROKEN for `origin`.
    public func errorCount(from origin: ComponentState) -> Int {
        errors.count(for: origin)
    }

    /// Feeds one event; returns what the supervisor must do, in order.
    public mutating func handle(_ event: LifecycleEvent, now: Instant) -> [LifecycleAction] {
        emitted = []
        guard !isUninstalled else { return [] }
        switch event {
        case .startRequested:
            if refuseWhileBroken() { break }
            goal = .running
            reconcile()
        case .stopRequested:
            goal = .stopped
            interrupt(then: .finished)
            reconcile()
        case .restartRequested:
            if refuseWhileBroken() { break }
            goal = .running
            interrupt(then: .installed)
            reconcile()
        case .reinstallRequested:
            goal = .running
            needsReinstall = true
            interrupt(then: .new)
            reconcile()
        case .uninstallRequested:
            goal = .removed
            needsReinstall = false
            interrupt(then: .finished)
            reconcile()
        case .dependenciesChanged(let ready):
            dependenciesReady = ready
            if !ready, goal == .running, state == .starting || state == .running {
                // A HARD dependency went away: restart and wait for it again (Greengrass `service-restart`).
                interrupt(then: .installed)
            }
            reconcile()
        case .phasesChanged(let newPhases):
            phases = newPhases
        case .phaseStarted(let runID):
            if case .phase(let run) = pending, run.id == runID, run.phase == .run, state == .starting {
                setState(.running)
            }
        case .phaseFinished(let runID, let outcome):
            guard case .phase(let run) = pending, run.id == runID else { break }
            pending = .idle
            phaseFinished(run.phase, outcome, now: now)
        case .processesKilled(let ticket):
            guard pending == .killing(ticket), let then = afterTeardown else { break }
            pending = .idle
            afterTeardown = nil
            launched = false
            teardownFinished(then)
        case .restartDelayElapsed(let ticket):
            guard pending == .restartDelay(ticket) else { break }
            pending = .idle
            reconcile()
        case .componentReported(let reported):
            componentReported(reported, now: now)
        }
        return emitted
    }

    // MARK: - Transitions

    private mutating func phaseFinished(_ phase: LifecyclePhase, _ outcome: PhaseOutcome, now: Instant) {
        switch phase {
        case .bootstrap:
            // Deployments run Bootstrap before handing a component over; the machine never launches it.
            break
        case .install:
            if outcome.succeeded {
                setState(.installed)
                reconcile()
            } else {
                enterError(from: .new, code: code(for: phase, outcome), now: now)
            }
        case .startup:
            if outcome.succeeded {
                setState(.running)
                reconcile()
            } else {
                enterError(from: .starting, code: code(for: phase, outcome), now: now)
            }
        case .run:
            if outcome == .skipped {
                launched = false
                finishedByItself()
            } else if outcome.succeeded {
                // Run exited 0: the component is done. Greengrass reports STOPPING, then FINISHED,
                // and the stop sequence also reaps anything the script left behind.
                goal = goal == .removed ? .removed : .stopped
                setState(.stopping)
                beginTeardown(then: .finished)
            } else {
                enterError(from: state == .running ? .running : .starting, code: code(for: phase, outcome), now: now)
            }
        case .recover:
            continueAfterRecovery()
        case .shutdown:
            if outcome == .timedOut {
                emit(.notice("Shutdown script timed out; killing the component's processes."))
            }
            startKill()
        case .uninstall:
            isUninstalled = true
            emit(.uninstalled)
        }
    }

    /// IPC `UpdateState`: only STARTING → RUNNING and STARTING/RUNNING → ERRORED are accepted (the
    /// transitions Greengrass lets a component report); a teardown in progress wins.
    private mutating func componentReported(_ reported: ComponentState, now: Instant) {
        let active = state == .starting || state == .running
        switch reported {
        case .running where state == .starting && afterTeardown == nil:
            setState(.running)
        case .errored where active && afterTeardown == nil:
            // The machine forgets the running phase: its later exit is stale, the teardown kills it.
            pending = .idle
            enterError(from: state, code: state == .starting ? .startupError : .runError, now: now)
        default:
            emit(.notice("Ignoring reported state \(reported) while \(state)."))
        }
    }

    private func code(for phase: LifecyclePhase, _ outcome: PhaseOutcome) -> ComponentStatusCode {
        switch outcome {
        case .timedOut: phase.timeoutCode
        case .launchFailed: phase.ioErrorCode
        case .exited, .skipped: phase.errorCode
        }
    }

    /// Records the error; ERRORED (then Recover) or, at the limit, BROKEN.
    private mutating func enterError(from origin: ComponentState, code: ComponentStatusCode, now: Instant) {
        let count = errors.record(from: origin, at: now, resetTime: policy.errorResetTime)
        if count >= policy.maximumErrors {
            setState(.broken, code)
            beginTeardown(then: .unchanged)
            return
        }
        errorOrigin = origin
        setState(.errored, code)
        if phases.keys.contains(.recover) {
            startPhase(.recover)
        } else {
            continueAfterRecovery()
        }
    }

    /// After Recover (whatever its result): back to NEW for an install error, otherwise stop and retry.
    private mutating func continueAfterRecovery() {
        let origin = errorOrigin ?? .new
        errorOrigin = nil
        if origin == .new {
            setState(.new)
        } else {
            setState(.stopping)
        }
        beginTeardown(then: .retry(origin: origin))
    }

    private mutating func teardownFinished(_ then: AfterTeardown) {
        switch then {
        case .finished:
            setState(.finished)
        case .installed:
            setState(.installed)
        case .new:
            setState(.new)
        case .unchanged:
            break
        case .retry(let origin):
            if origin != .new {
                setState(.installed)
            }
            if goal == .running, !needsReinstall {
                let ticket = takeTicket()
                pending = .restartDelay(ticket)
                emit(.scheduleRestart(ticket: ticket, after: policy.backoff(afterErrors: errors.count(for: origin))))
                return
            }
        }
        reconcile()
    }

    /// Picks the next step toward the goal when nothing is in flight.
    private mutating func reconcile() {
        guard pending == .idle, afterTeardown == nil, state != .errored else { return }
        if needsReinstall {
            switch state {
            case .starting, .running:
                setState(.stopping)
                beginTeardown(then: .new)
                return
            default:
                needsReinstall = false
                errors.clearAll()
                setState(.new)
            }
        }
        switch goal {
        case .running:
            switch state {
            case .new:
                if phases.keys.contains(.install) {
                    startPhase(.install)
                } else {
                    setState(.installed)
                    reconcile()
                }
            case .finished:
                setState(.installed)
                reconcile()
            case .installed:
                tryStart()
            case .starting, .running, .stopping, .errored, .broken:
                break
            }
        case .stopped:
            switch state {
            case .starting, .running:
                setState(.stopping)
                beginTeardown(then: .finished)
            case .installed:
                setState(.finished)
            case .new, .finished, .broken, .stopping, .errored:
                break
            }
        case .removed:
            switch state {
            case .starting, .running:
                setState(.stopping)
                beginTeardown(then: .finished)
            case .new, .installed, .finished, .broken:
                if phases.keys.contains(.uninstall) {
                    startPhase(.uninstall)
                } else {
                    isUninstalled = true
                    emit(.uninstalled)
                }
            case .stopping, .errored:
                break
            }
        }
    }

    /// INSTALLED and wanted RUNNING: start once every HARD dependency is ready.
    private mutating func tryStart() {
        guard dependenciesReady else { return }
        setState(.starting)
        if phases.keys.contains(.startup) {
            launched = true
            startPhase(.startup)
        } else if phases.keys.contains(.run) {
            launched = true
            startPhase(.run)
        } else {
            finishedByItself()
        }
    }

    /// No Startup and no Run (or Run skipped): Greengrass logs "Nothing done." and reports FINISHED.
    private mutating func finishedByItself() {
        emit(.notice("Nothing done."))
        if goal == .running { goal = .stopped }
        setState(.finished)
        reconcile()
    }

    /// Abandons the in-flight phase or retry delay so a stop, restart, reinstall or removal can proceed;
    /// a STARTING or RUNNING component goes to STOPPING and tears down, then enters `then`.
    private mutating func interrupt(then: AfterTeardown) {
        cancelRestartDelay()
        guard afterTeardown == nil else { return }
        switch pending {
        case .phase(let run) where run.phase == .install:
            beginTeardown(then: .unchanged)
        case .phase(let run) where run.phase != .startup && run.phase != .run:
            // Recover and Shutdown are bounded and lead to a teardown anyway; Uninstall is final.
            break
        case .killing, .restartDelay:
            break
        case .idle, .phase:
            if state == .starting || state == .running {
                setState(.stopping)
                beginTeardown(then: then)
            }
        }
    }

    private mutating func cancelRestartDelay() {
        if case .restartDelay = pending { pending = .idle }
    }

    private mutating func refuseWhileBroken() -> Bool {
        guard state == .broken else { return false }
        emit(.notice("Service is broken. Deployment is needed."))
        return true
    }

    // MARK: - Primitives

    /// Shutdown script (only if Startup or Run was launched), then kill every process group.
    private mutating func beginTeardown(then: AfterTeardown) {
        afterTeardown = then
        if launched, phases.keys.contains(.shutdown) {
            startPhase(.shutdown)
        } else {
            startKill()
        }
    }

    private mutating func startKill() {
        let ticket = takeTicket()
        pending = .killing(ticket)
        emit(.killProcesses(ticket: ticket))
    }

    private mutating func startPhase(_ phase: LifecyclePhase) {
        let run = PhaseRun(id: takeTicket(), phase: phase, timeout: phases[phase] ?? phase.defaultTimeout)
        pending = .phase(run)
        emit(.runPhase(run))
    }

    private mutating func setState(_ new: ComponentState, _ code: ComponentStatusCode = .none) {
        guard new != state else { return }
        if new != .errored, new != .broken {
            // A non-error state reported from `state` ends that state's error streak.
            errors.clear(state)
        }
        emit(.reportState(StateTransition(from: state, to: new, statusCode: code)))
        state = new
        statusCode = code
    }

    private mutating func takeTicket() -> Int {
        defer { nextTicket += 1 }
        return nextTicket
    }

    private mutating func emit(_ action: LifecycleAction) {
        emitted.append(action)
    }
}

import GreengrassLifecycle
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

/// Runs components' lifecycles: one ``LifecycleStateMachine`` per component, driven by real processes.
///
/// Every state-machine event goes through ``send(_:to:)``, which updates the machine under a lock and then
/// performs the returned actions; the actions that take time (phase processes, kills, retry delays) run as
/// jobs in ``run()``'s task group, so the supervisor owns no unstructured tasks. ``run()`` must be running
/// (normally as a `Service` in the nucleus's `ServiceGroup`) for anything to happen.
///
/// Process model: each phase is `<shell> -c <script>` in `<workRoot>/<name>`, in a new session, as the
/// component user (or root for `RequiresPrivilege`). Stopping a component runs its Shutdown script, then
/// SIGTERMs every process of its sessions, then SIGKILLs what is left after the grace period.
public final class Supervisor<C: Clock>: Sendable where C.Duration == Duration {
    typealias Machine = LifecycleStateMachine<C.Instant>
    typealias Job = @Sendable () async -> Void

    private enum WaitCondition: Sendable {
        case atRest
        case removed
    }

    private struct Waiter: Sendable {
        var condition: WaitCondition
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct Record: Sendable {
        var spec: ComponentRunSpec
        var machine: Machine
        var logger: Logger
        /// Live sessions (= process group ids) started for this component.
        var sessions: Set<Int32> = []
        /// The spec at the time Startup/Run launched: Greengrass runs the Shutdown script captured then.
        var launchedSpec: ComponentRunSpec?
        var dependenciesReady: Bool
        var waiters: [Waiter] = []
        /// The state before the current one: a STOPPING that follows RUNNING still satisfies dependents.
        var previousState: ComponentState = .new
        /// Phase launches between "still active, go" and "session registered (or launch failed)". A kill
        /// waits for these so that a process being spawned while the component stops is not missed.
        var launchesInFlight = 0
        /// Frozen by PauseComponent; cleared by ResumeComponent and whenever the processes stop.
        var isPaused = false
    }

    private struct State: Sendable {
        var components: [String: Record] = [:]
        var subscribers: [Int: AsyncStream<ComponentStateChange>.Continuation] = [:]
        var nextSubscriber = 0
        var isRunning = false
        var isShuttingDown = false
        var isShutDown = false
    }

    /// The settings this supervisor was created with.
    public let configuration: SupervisorConfiguration
    /// The clock of every timer the supervisor runs; the deployment health wait shares it.
    public let clock: C
    private let state = Mutex(State())
    private let jobs: AsyncStream<Job>
    private let jobQueue: AsyncStream<Job>.Continuation
    private let isRoot: Bool
    /// Set once cgroups failed and components run unconfined: the reason is logged once, not per phase.
    private let cgroupsFailed = Mutex(false)

    /// Creates a supervisor; nothing runs until ``run()`` is called.
    ///
    /// - Parameters:
    ///   - configuration: work directory root, users, loggers, hooks.
    ///   - clock: drives phase timeouts, retry delays and stop grace periods.
    public init(configuration: SupervisorConfiguration, clock: C) {
        self.configuration = configuration
        self.clock = clock
        (jobs, jobQueue) = AsyncStream.makeStream(of: Job.self)
        isRoot = geteuid() == 0
    }

    // MARK: - Public API

    /// Adds a component, or applies a changed spec the way Greengrass reacts to a config change.
    ///
    /// A new component stays NEW until ``start(_:)``. For an existing one, a version, Install or user change
    /// reinstalls it (stop, Install, start), another lifecycle or environment change restarts it (a BROKEN
    /// component reinstalls instead), and a Shutdown-only change is just recorded.
    @discardableResult
    public func upsert(_ spec: ComponentRunSpec) -> UpsertOutcome {
        let now = clock.now
        let policy = policy(for: spec)
        var limitsChanged = false
        let (outcome, event): (UpsertOutcome, LifecycleEvent?) = state.withLock { st in
            if var record = st.components[spec.name] {
                let outcome = record.spec.reaction(to: spec)
                limitsChanged = record.spec.resourceLimits != spec.resourceLimits
                record.spec = spec
                record.machine.policy = policy
                _ = record.machine.handle(.phasesChanged(spec.phaseTimeouts), now: now)
                let isBroken = record.machine.state == .broken
                st.components[spec.name] = record
                switch outcome {
                case .reinstalling: return (outcome, .reinstallRequested)
                case .restarting: return (outcome, isBroken ? .reinstallRequested : .restartRequested)
                case .added, .unchanged, .updated: return (outcome, nil)
                }
            }
            var machine = Machine(phases: spec.phaseTimeouts, policy: policy)
            let ready = Self.dependenciesReady(spec, in: st)
            _ = machine.handle(.dependenciesChanged(ready: ready), now: now)
            var logger = configuration.componentLogger(spec.name)
            logger[metadataKey: "serviceName"] = .string(spec.name)
            st.components[spec.name] = Record(spec: spec, machine: machine, logger: logger, dependenciesReady: ready)
            return (.added, nil)
        }
        if let event { send(event, to: spec.name) }
        if limitsChanged, let cgroups = configuration.cgroups, cgroups.exists(spec.name) {
            do { try cgroups.apply(spec.resourceLimits, to: spec.name) } catch {
                configuration.nucleusLogger.error(
                    "Cannot apply the new resource limits: \(error)",
                    metadata: ["eventType": "resource-limits-error", "serviceName": .string(spec.name)])
            }
        }
        refreshReadiness(of: [spec.name])
        return outcome
    }

    /// Asks the component to run (Install first if it has not been installed in this nucleus run).
    ///
    /// It starts once its HARD dependencies are RUNNING or FINISHED. A BROKEN component does not start:
    /// only a reinstall (deployment) or removal leaves BROKEN. Returns `false` for an unknown component
    /// or during shutdown.
    @discardableResult
    public func start(_ name: String) -> Bool {
        guard acceptsRequests(for: name) else { return false }
        send(.startRequested, to: name)
        return true
    }

    /// Stops the component and, first, every component that HARD-depends on it (directly or not).
    ///
    /// Returns when they are all at rest: Shutdown script done, processes gone (FINISHED, or NEW when
    /// stopped during Install, or BROKEN).
    public func stop(_ name: String) async {
        let order = state.withLock { st in
            DependencyOrder.dependents(of: name, in: Self.hardGraph(st))
        }
        for component in order + [name] {
            await stopOne(component)
        }
    }

    /// Stops (if running) and starts the component again without reinstalling (`greengrass-cli component
    /// restart`). Returns `false` for an unknown component or during shutdown; a BROKEN component logs
    /// that a deployment is needed.
    @discardableResult
    public func restart(_ name: String) -> Bool {
        guard acceptsRequests(for: name) else { return false }
        send(.restartRequested, to: name)
        return true
    }

    /// Stops, runs Install again and starts the component; the way out of BROKEN.
    @discardableResult
    public func reinstall(_ name: String) -> Bool {
        guard acceptsRequests(for: name) else { return false }
        send(.reinstallRequested, to: name)
        return true
    }

    /// A component's own report over IPC `UpdateState` (`ReportedLifecycleState`: RUNNING or ERRORED).
    ///
    /// RUNNING is accepted while STARTING (a Startup-style component that is up before its script
    /// exits); ERRORED while STARTING or RUNNING, and leads to Recover and a retry like a crash. Other
    /// reports are logged and ignored. Returns `false` for an unknown component.
    @discardableResult
    public func reportState(_ name: String, _ reported: ComponentState) -> Bool {
        guard state(of: name) != nil else { return false }
        send(.componentReported(reported), to: name)
        return true
    }

    /// Stops the component, runs its Uninstall script and forgets it. Returns when it is gone.
    public func remove(_ name: String) async {
        send(.uninstallRequested, to: name)
        await wait(for: name, .removed)
        if let cgroups = configuration.cgroups, cgroups.exists(name) {
            do { try cgroups.remove(name) } catch {
                configuration.nucleusLogger.warning(
                    "Cannot remove the component's cgroup: \(error)", metadata: ["eventType": "cgroup-remove-error", "serviceName": .string(name)])
            }
        }
    }

    /// Why ``pause(_:)`` or ``resume(_:)`` did nothing.
    public enum PauseError: Error, Sendable, Hashable {
        case notFound
        /// Pause: the component is not RUNNING.
        case notRunning
        /// Resume: the component is not paused.
        case notPaused
        /// The freezer could not be used (no cgroup for the component, no permission).
        case failed(String)
    }

    /// Freezes every process of a RUNNING component (IPC PauseComponent); its state stays RUNNING, as in Greengrass.
    public func pause(_ name: String) throws(PauseError) {
        guard let state = state(of: name) else { throw .notFound }
        guard state == .running else { throw .notRunning }
        guard let cgroups = configuration.cgroups else { throw .failed("resource control (cgroups) is not available") }
        do { try cgroups.setFrozen(name, true) } catch { throw .failed(error.description) }
        self.state.withLock { $0.components[name]?.isPaused = true }
    }

    /// Thaws a paused component (IPC ResumeComponent).
    public func resume(_ name: String) throws(PauseError) {
        guard let paused = state.withLock({ $0.components[name]?.isPaused }) else { throw .notFound }
        guard paused else { throw .notPaused }
        guard let cgroups = configuration.cgroups else { throw .failed("resource control (cgroups) is not available") }
        do { try cgroups.setFrozen(name, false) } catch { throw .failed(error.description) }
        state.withLock { $0.components[name]?.isPaused = false }
    }

    /// Whether the component is paused.
    public func isPaused(_ name: String) -> Bool {
        state.withLock { $0.components[name]?.isPaused ?? false }
    }

    /// The component's current state, or `nil` if unknown.
    public func state(of name: String) -> ComponentState? {
        state.withLock { $0.components[name]?.machine.state }
    }

    /// Version and state of every component.
    public func snapshot() -> [String: ComponentStatus] {
        state.withLock { st in
            st.components.mapValues {
                ComponentStatus(version: $0.spec.version, state: $0.machine.state, statusCode: $0.machine.statusCode)
            }
        }
    }

    /// The live process groups (session ids) of a component.
    public func processGroups(of name: String) -> Set<Int32> {
        state.withLock { $0.components[name]?.sessions ?? [] }
    }

    /// Every state change from now on, in order, until ``shutdown()`` completes.
    ///
    /// Lets a deployment wait for RUNNING, FINISHED or BROKEN. Buffering is unbounded, so a slow reader
    /// never blocks the supervisor; stop iterating to unsubscribe.
    public func stateChanges() -> AsyncStream<ComponentStateChange> {
        let (stream, continuation) = AsyncStream.makeStream(of: ComponentStateChange.self)
        let id: Int? = state.withLock { st in
            guard !st.isShutDown else { return nil }
            let id = st.nextSubscriber
            st.nextSubscriber += 1
            st.subscribers[id] = continuation
            return id
        }
        if let id {
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
            }
        } else {
            continuation.finish()
        }
        return stream
    }

    /// Stops every component in reverse dependency order, kills whatever process is left, and ends
    /// ``run()``. Each stop is bounded (Shutdown timeout, then the grace period, then SIGKILL); later
    /// start requests are refused. A second call returns immediately.
    public func shutdown() async {
        let order: [String]? = state.withLock { st in
            guard !st.isShuttingDown else { return nil }
            st.isShuttingDown = true
            return DependencyOrder.stopOrder(Self.hardGraph(st))
        }
        guard let order else { return }
        for name in order {
            await stopOne(name)
        }
        for name in order {
            await killProcesses(of: name)
        }
        // Every component is stopped: its empty cgroups go too (the next start recreates them).
        configuration.cgroups?.removeAll()
        let subscribers = state.withLock { st in
            st.isShutDown = true
            defer { st.subscribers.removeAll() }
            return Array(st.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
        jobQueue.finish()
    }

    // MARK: - Event loop of the state machines

    /// Feeds `event` to the component's machine and performs the resulting actions.
    private func send(_ event: LifecycleEvent, to name: String) {
        let now = clock.now
        let (actions, changed): ([LifecycleAction], Bool) = state.withLock { st in
            guard var record = st.components[name] else { return ([], false) }
            let actions = record.machine.handle(event, now: now)
            var changed = false
            for case .reportState(let transition) in actions {
                changed = true
                record.previousState = transition.from
                publish(transition, of: record, to: st.subscribers.values)
            }
            if record.machine.isAtRest {
                record.waiters.removeAll { waiter in
                    guard waiter.condition == .atRest else { return false }
                    waiter.continuation.resume()
                    return true
                }
            }
            st.components[name] = record
            return (actions, changed)
        }
        for action in actions {
            perform(action, for: name)
        }
        if changed {
            refreshReadiness(of: dependents(of: name))
        }
    }

    /// The single place where lifecycle actions turn into I/O.
    private func perform(_ action: LifecycleAction, for name: String) {
        switch action {
        case .runPhase(let run):
            enqueue { await self.runPhase(run, of: name) }
        case .killProcesses(let ticket):
            enqueue {
                await self.killProcesses(of: name)
                self.send(.processesKilled(ticket: ticket), to: name)
            }
        case .scheduleRestart(let ticket, let delay):
            configuration.nucleusLogger.info(
                "Restarting after a delay",
                metadata: ["eventType": "service-restart-delay", "serviceName": .string(name), "delay": "\(delay)"])
            enqueue {
                do {
                    try await self.clock.sleep(for: delay)
                } catch {
                    return  // cancelled: the supervisor is going away
                }
                self.send(.restartDelayElapsed(ticket: ticket), to: name)
            }
        case .reportState:
            break  // published in order under the lock by `send`
        case .notice(let message):
            configuration.nucleusLogger.info(
                "\(message)", metadata: ["eventType": "service-lifecycle", "serviceName": .string(name)])
        case .uninstalled:
            enqueue {
                // Whatever Install or Uninstall left running goes with the component.
                await self.killProcesses(of: name)
                let waiters = self.state.withLock { st in st.components.removeValue(forKey: name)?.waiters ?? [] }
                for waiter in waiters { waiter.continuation.resume() }
                self.refreshReadiness(of: self.dependents(of: name))
            }
        }
    }

    private func publish(
        _ transition: StateTransition, of record: Record,
        to subscribers: Dictionary<Int, AsyncStream<ComponentStateChange>.Continuation>.Values
    ) {
        var metadata: Logger.Metadata = [
            "eventType": "service-set-state",
            "thread": .string("\(record.spec.name)-lifecycle"),
            "serviceName": .string(record.spec.name),
            "currentState": .string(transition.from.rawValue),
            "newState": .string(transition.to.rawValue),
        ]
        if transition.statusCode != .none {
            metadata["statusCode"] = .string(transition.statusCode.rawValue)
        }
        configuration.nucleusLogger.info("", metadata: metadata)
        let change = ComponentStateChange(
            name: record.spec.name, version: record.spec.version,
            from: transition.from, to: transition.to, statusCode: transition.statusCode)
        for subscriber in subscribers { subscriber.yield(change) }
    }

    private func enqueue(_ job: @escaping Job) {
        jobQueue.yield(job)
    }

    // MARK: - Dependencies

    private static func hardGraph(_ st: State) -> [String: [String]] {
        st.components.mapValues(\.spec.hardDependencies)
    }

    private static func dependenciesReady(_ spec: ComponentRunSpec, in st: State) -> Bool {
        spec.hardDependencies.allSatisfy { name in st.components[name].map(satisfiesDependents) ?? false }
    }

    /// RUNNING or FINISHED, or STOPPING straight from RUNNING (Greengrass: "STOPPING without an error"),
    /// so a dependency whose Run exits 0 does not bounce its dependents on the way to FINISHED.
    private static func satisfiesDependents(_ record: Record) -> Bool {
        let state = record.machine.state
        return state.satisfiesHardDependency || (state == .stopping && record.previousState == .running)
    }

    private func dependents(of name: String) -> [String] {
        state.withLock { st in
            st.components.values.filter { $0.spec.hardDependencies.contains(name) }.map(\.spec.name).sorted()
        }
    }

    /// Tells each named component when the readiness of its HARD dependencies changed.
    private func refreshReadiness(of names: [String]) {
        for name in names {
            let changed: Bool? = state.withLock { st in
                guard var record = st.components[name] else { return nil }
                let ready = Self.dependenciesReady(record.spec, in: st)
                guard ready != record.dependenciesReady else { return nil }
                record.dependenciesReady = ready
                st.components[name] = record
                return ready
            }
            if let changed { send(.dependenciesChanged(ready: changed), to: name) }
        }
    }

    // MARK: - Helpers

    private func policy(for spec: ComponentRunSpec) -> RestartPolicy {
        var policy = configuration.restartPolicy
        policy.errorResetTime = spec.errorResetTime
        return policy
    }

    private func acceptsRequests(for name: String) -> Bool {
        state.withLock { !$0.isShuttingDown && $0.components[name] != nil }
    }

    private func stopOne(_ name: String) async {
        send(.stopRequested, to: name)
        await wait(for: name, .atRest)
        // A stopped component keeps no process: also reap what an Install left in the background.
        await killProcesses(of: name)
    }

    private func wait(for name: String, _ condition: WaitCondition) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { st -> Bool in
                guard var record = st.components[name] else { return true }
                if condition == .atRest, record.machine.isAtRest { return true }
                record.waiters.append(Waiter(condition: condition, continuation: continuation))
                st.components[name] = record
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Terminates every session of the component and forgets those that are empty.
    private func killProcesses(of name: String) async {
        // A launch decided before the stop may still be spawning: wait (bounded) until its session is
        // registered, so it is part of what gets killed.
        let deadline = clock.now.advanced(by: .seconds(10))
        while state.withLock({ $0.components[name]?.launchesInFlight ?? 0 }) > 0, clock.now < deadline {
            do {
                try await clock.sleep(for: .milliseconds(5))
            } catch {
                break
            }
        }
        // A frozen process cannot act on SIGTERM: thaw first so the component stops as it would have.
        if state.withLock({ $0.components[name]?.isPaused }) == true {
            try? configuration.cgroups?.setFrozen(name, false)
            state.withLock { $0.components[name]?.isPaused = false }
        }
        let sessions = processGroups(of: name)
        guard !sessions.isEmpty else {
            await killCgroupStragglers(of: name)
            return
        }
        if await ProcessTable.terminate(sessions, gracePeriod: configuration.stopGracePeriod, clock: clock) {
            // A component that ignores SIGTERM is the usual cause of a slow stop: say so where operators look.
            configuration.nucleusLogger.warning(
                "Processes still running \(configuration.stopGracePeriod) after SIGTERM: killed with SIGKILL",
                metadata: ["eventType": "service-kill", "serviceName": .string(name), "processGroups": "\(sessions.sorted())"])
        }
        let survivors = Set(ProcessTable.members(of: sessions).flatMap { [$0.session, $0.processGroup] })
        for session in sessions where !survivors.contains(session) {
            releaseSession(session, of: name)
        }
        await killCgroupStragglers(of: name)
    }

    /// Every process still in the component's cgroup once its sessions are gone (one that left its session with
    /// `setsid`, say) is killed: nothing the component started outlives its stop. Waits (bounded) until the
    /// cgroup is empty, so it can be removed right after.
    private func killCgroupStragglers(of name: String) async {
        guard let cgroups = configuration.cgroups else { return }
        let stragglers = cgroups.processes(of: name)
        guard !stragglers.isEmpty else { return }
        configuration.nucleusLogger.warning(
            "Processes left in the component's cgroup after its stop: killed with SIGKILL",
            metadata: ["eventType": "service-kill", "serviceName": .string(name), "pids": "\(stragglers.sorted())"])
        for pid in stragglers { kill(pid, SIGKILL) }
        for _ in 0..<200 where !cgroups.processes(of: name).isEmpty {
            do { try await clock.sleep(for: .milliseconds(10)) } catch { return }
        }
    }

    /// The `cgroup.procs` files a phase of `spec` joins before its command runs, its limits written; empty
    /// (unconfined) without cgroups, and when they cannot be created: the reason is logged once in `greengrass.log`.
    /// A limit the kernel refuses (a memory limit below what the component already uses, say) is logged against
    /// the component, which still runs in its cgroup.
    func cgroupProcsFiles(for spec: ComponentRunSpec, identity: PosixIdentity?) -> [String] {
        guard let cgroups = configuration.cgroups, !cgroupsFailed.withLock({ $0 }) else { return [] }
        do {
            let files = try cgroups.prepare(spec.name, owner: identity.map { ($0.userID, $0.groupID) })
            do { try cgroups.apply(spec.resourceLimits, to: spec.name) } catch {
                configuration.nucleusLogger.error(
                    "Cannot apply the resource limits: \(error)",
                    metadata: ["eventType": "resource-limits-error", "serviceName": .string(spec.name)])
            }
            return files
        } catch {
            cgroupsFailed.withLock { $0 = true }
            configuration.nucleusLogger.warning(
                "Cannot manage cgroups (\(error)): components run unconfined; systemResourceLimits, PauseComponent and ResumeComponent have no effect",
                metadata: ["eventType": "resource-control-unavailable"])
            return []
        }
    }

    func sessionStarted(_ session: Int32, of name: String) {
        state.withLock { _ = $0.components[name]?.sessions.insert(session) }
        configuration.onProcessGroupStarted(name, session)
    }

    func releaseSession(_ session: Int32, of name: String) {
        let removed = state.withLock { $0.components[name]?.sessions.remove(session) != nil }
        if removed { configuration.onProcessGroupExited(name, session) }
    }

    /// Starts launching `run` if the machine still wants it: returns the spec to use (Shutdown uses the
    /// one captured when Startup/Run launched) and the component logger, and counts the launch as in
    /// flight until ``endLaunch(of:)``. `nil` when the run was abandoned (stop, restart) meanwhile.
    func beginLaunch(_ run: PhaseRun, of name: String) -> (ComponentRunSpec, Logger)? {
        state.withLock { st in
            guard var record = st.components[name], record.machine.activeRun?.id == run.id else { return nil }
            if run.phase == .startup || run.phase == .run { record.launchedSpec = record.spec }
            let spec = run.phase == .shutdown ? (record.launchedSpec ?? record.spec) : record.spec
            record.launchesInFlight += 1
            st.components[name] = record
            return (spec, record.logger)
        }
    }

    /// The launch begun by ``beginLaunch(_:of:)`` has registered its session or failed.
    func endLaunch(of name: String) {
        state.withLock { st in
            if let count = st.components[name]?.launchesInFlight, count > 0 {
                st.components[name]?.launchesInFlight = count - 1
            }
        }
    }

    func componentLogger(of name: String) -> Logger {
        state.withLock { $0.components[name]?.logger } ?? configuration.componentLogger(name)
    }

    func currentState(of name: String) -> String {
        state.withLock { $0.components[name]?.machine.state.rawValue ?? "UNKNOWN" }
    }

    func phaseFinished(_ run: PhaseRun, _ outcome: PhaseOutcome, of name: String) {
        send(.phaseFinished(runID: run.id, outcome), to: name)
    }

    func phaseStarted(_ run: PhaseRun, of name: String) {
        send(.phaseStarted(runID: run.id), to: name)
    }

    var runsAsRoot: Bool { isRoot }
    var supervisorClock: C { clock }

    /// Best-effort SIGKILL of every known session: the last resort when ``run()`` ends without a
    /// ``shutdown()`` (cancellation), so no component outlives the nucleus.
    private func killEverythingNow() {
        let sessions = state.withLock { st in st.components.values.reduce(into: Set<Int32>()) { $0.formUnion($1.sessions) } }
        ProcessTable.signal(sessions, SIGKILL)
    }
}

extension Supervisor where C == ContinuousClock {
    /// Creates a supervisor on the real clock.
    public convenience init(configuration: SupervisorConfiguration) {
        self.init(configuration: configuration, clock: ContinuousClock())
    }
}

extension Supervisor: Service {
    /// Runs the supervisor's jobs (phase processes, kills, retry delays) until ``shutdown()`` completes.
    ///
    /// On graceful shutdown of the service group it calls ``shutdown()``. If the task is cancelled instead,
    /// every remaining process is SIGKILLed before returning. Can be called once.
    public func run() async throws {
        let first = state.withLock { st in
            defer { st.isRunning = true }
            return !st.isRunning
        }
        guard first else {
            throw SupervisorError(.alreadyRunning, "Supervisor.run() was called twice")
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await job in jobs {
                    group.addTask { await job() }
                }
                // Shutdown finished the queue; whatever still waits (retry delays) can go.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.enqueue { await self.shutdown() }
        }
        if !state.withLock({ $0.isShutDown }) {
            killEverythingNow()
        }
    }
}

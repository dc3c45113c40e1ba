import GreengrassLifecycle
import Logging
import NIOCore
import Synchronization
import SystemPackage

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

extension Supervisor {
    /// Runs one phase process to its end and reports the outcome to the state machine.
    func runPhase(_ run: PhaseRun, of name: String) async {
        guard let (spec, baseLogger) = beginLaunch(run, of: name) else { return }
        let launching = LaunchGuard { self.endLaunch(of: name) }
        defer { launching.end() }
        guard let phaseSpec = spec.phases[run.phase] else {
            phaseFinished(run, .skipped, of: name)
            return
        }
        let scriptName = spec.scriptName(run.phase)
        var logger = baseLogger
        logger[metadataKey: "scriptName"] = .string(scriptName)
        logger[metadataKey: "thread"] = .string("\(name)-lifecycle")

        let identity: PosixIdentity?
        let launch: PhaseLaunch
        do {
            identity = try runAsIdentity(spec, phaseSpec)
            let workDirectory = try prepareWorkDirectory(for: name, owner: identity)
            let environment = PhaseEnvironment.overrides(
                spec: spec, phase: run.phase, inheritedPath: Self.inheritedPath, identity: identity)
            launch = PhaseLaunch(
                shell: configuration.shell, script: phaseSpec.script, environment: environment,
                workingDirectory: workDirectory, identity: identity,
                cgroupProcsFiles: cgroupProcsFiles(for: spec, identity: identity))
        } catch {
            logger.error(
                "\(error.message)",
                metadata: ["eventType": "shell-runner-error", "currentState": .string(currentState(of: name))])
            phaseFinished(run, .launchFailed, of: name)
            return
        }

        if let skipIf = phaseSpec.skipIf, skipIf.skips(checkHolds: Self.check(skipIf, environment: launch.environment)) {
            logger.info(
                "Skipping \(run.phase) because of Skipif \"\(skipIf)\"",
                metadata: ["eventType": "shell-runner-skip", "currentState": .string(currentState(of: name))])
            phaseFinished(run, .skipped, of: name)
            return
        }

        logger.info(
            "",
            metadata: [
                "eventType": "shell-runner-start",
                "currentState": .string(currentState(of: name)),
                "command": .string(Self.renderCommand(phaseSpec.script)),
            ])
        let outcome = await execute(
            launch, phase: run.phase, timeout: run.timeout, of: name, scriptName: scriptName, logger: logger,
            onStarted: { pid in
                self.sessionStarted(pid, of: name)
                launching.end()
                self.phaseStarted(run, of: name)
            })
        phaseFinished(run, outcome, of: name)
    }

    /// Runs one phase of `spec` to its end outside the state machine, logging to the component's log as any
    /// phase does; deployments use it for `Bootstrap`. The process group is recorded while it runs (so a nucleus
    /// crash leaves nothing the next start does not stop). `Skipif` is honoured where the phase allows it.
    ///
    /// - Returns: the outcome; `nil` when `spec` has no such phase.
    public func runOnce(_ phase: LifecyclePhase, of spec: ComponentRunSpec) async -> PhaseOutcome? {
        guard let phaseSpec = spec.phases[phase] else { return nil }
        let name = spec.name
        let scriptName = spec.scriptName(phase)
        var logger = componentLogger(of: name)
        logger[metadataKey: "scriptName"] = .string(scriptName)
        logger[metadataKey: "thread"] = .string("\(name)-lifecycle")
        let launch: PhaseLaunch
        do {
            let identity = try runAsIdentity(spec, phaseSpec)
            launch = PhaseLaunch(
                shell: configuration.shell, script: phaseSpec.script,
                environment: PhaseEnvironment.overrides(spec: spec, phase: phase, inheritedPath: Self.inheritedPath, identity: identity),
                workingDirectory: try prepareWorkDirectory(for: name, owner: identity), identity: identity,
                cgroupProcsFiles: cgroupProcsFiles(for: spec, identity: identity))
        } catch {
            logger.error("\(error.message)", metadata: ["eventType": "shell-runner-error"])
            return .launchFailed
        }
        if let skipIf = phaseSpec.skipIf,
            skipIf.skips(checkHolds: Self.check(skipIf, environment: launch.environment))
        {
            logger.info("Skipping \(phase) because of Skipif \"\(skipIf)\"", metadata: ["eventType": "shell-runner-skip"])
            return .skipped
        }
        logger.info("", metadata: ["eventType": "shell-runner-start", "command": .string(Self.renderCommand(phaseSpec.script))])
        let group = Mutex<Int32?>(nil)
        let outcome = await execute(
            launch, phase: phase, timeout: phaseSpec.timeout ?? phase.defaultTimeout, of: name, scriptName: scriptName,
            logger: logger,
            onStarted: { pid in
                group.withLock { $0 = pid }
                self.configuration.onProcessGroupStarted(name, pid)
            })
        if let pid = group.withLock({ $0 }) { configuration.onProcessGroupExited(name, pid) }
        return outcome
    }

    /// Spawns `launch`, copies its output into the component log and waits for its end; `onStarted` gets the
    /// process (and process group) id as soon as it exists.
    private func execute(
        _ launch: PhaseLaunch, phase: LifecyclePhase, timeout: Duration?, of name: String, scriptName: String,
        logger: Logger, onStarted: @escaping @Sendable (Int32) -> Void
    ) async -> PhaseOutcome {
        let stdout: (writeEnd: SystemPackage.FileDescriptor, endOfFile: EventLoopFuture<Void>)
        let stderr: (writeEnd: SystemPackage.FileDescriptor, endOfFile: EventLoopFuture<Void>)
        do throws(SupervisorError) {
            stdout = try await outputPipe(name: name, scriptName: scriptName, isError: false)
            do throws(SupervisorError) {
                stderr = try await outputPipe(name: name, scriptName: scriptName, isError: true)
            } catch {
                _ = try? stdout.writeEnd.close()
                throw error
            }
        } catch {
            logger.error("\(error.message)", metadata: ["eventType": "shell-runner-error"])
            return .launchFailed
        }

        let session = SpawnedProcess()
        let oomKillsBefore = launch.cgroupProcsFiles.isEmpty ? nil : configuration.cgroups?.oomKills(of: name)
        let result = await PhaseProcess.run(
            launch, stdout: stdout.writeEnd, stderr: stderr.writeEnd, timeout: timeout,
            gracePeriod: configuration.stopGracePeriod, clock: supervisorClock
        ) { pid in
            session.set(pid)
            logger.debug("Created process with pid \(pid)", metadata: ["eventType": "shell-runner-pid"])
            onStarted(pid)
        }
        // Let the readers drain what the script wrote before exiting, so the exit line follows its output.
        // Bounded: a grandchild that keeps the pipe open must not delay the exit report.
        await Self.awaitAny([stdout.endOfFile, stderr.endOfFile], orAfter: .milliseconds(200))

        var metadata: Logger.Metadata = ["currentState": .string(currentState(of: name))]
        let outcome: PhaseOutcome
        switch result {
        case .exited(let code):
            metadata["exitCode"] = .string("\(code)")
            if let oomKillsBefore, let cgroups = configuration.cgroups, cgroups.oomKills(of: name) > oomKillsBefore {
                // The kernel's OOM killer sends SIGKILL: without this the exit reads as a mystery 137.
                metadata["eventType"] = "shell-runner-oom-killed"
                let reason = "\(phase.rawValue) script killed by the kernel: out of memory (systemResourceLimits memory)"
                logger.error("\(reason)", metadata: metadata)
                configuration.nucleusLogger.error(
                    "\(reason)", metadata: ["eventType": "service-oom-killed", "serviceName": .string(name), "exitCode": .string("\(code)")])
            } else {
                logger.info("\(phase.rawValue) script exited", metadata: metadata)
            }
            outcome = .exited(code)
        case .timedOut:
            metadata["timeout"] = .string("\(timeout ?? .zero)")
            logger.warning("\(phase.rawValue) script timed out", metadata: metadata)
            outcome = .timedOut
        case .launchFailed(let reason):
            metadata["eventType"] = "shell-runner-error"
            logger.error("Cannot start \(phase.rawValue) script: \(reason)", metadata: metadata)
            outcome = .launchFailed
        }
        if let pid = session.pid, ProcessTable.members(of: [pid]).isEmpty {
            releaseSession(pid, of: name)
        }
        return outcome
    }

    private func outputPipe(
        name: String, scriptName: String, isError: Bool
    ) async throws(SupervisorError) -> (writeEnd: SystemPackage.FileDescriptor, endOfFile: EventLoopFuture<Void>) {
        let componentLogger = componentLogger(of: name)
        let pipe = try await PhaseProcess.outputPipe(
            group: configuration.eventLoopGroup, maximumLineLength: configuration.maximumLineLength
        ) { [weak self] line in
            let state = self?.currentState(of: name) ?? "UNKNOWN"
            componentLogger.log(
                level: isError ? .warning : .info, "\(line)",
                metadata: [
                    "eventType": isError ? "stderr" : "stdout", "thread": "Copier",
                    "scriptName": .string(scriptName), "currentState": .string(state),
                ])
        }
        return pipe
    }

    /// Who runs the phase: root for `RequiresPrivilege`, else the component's or default posix user;
    /// `nil` (the nucleus's own user) when the nucleus is not root or no user is configured.
    private func runAsIdentity(_ spec: ComponentRunSpec, _ phase: PhaseSpec) throws(SupervisorError) -> PosixIdentity? {
        guard runsAsRoot, !phase.requiresPrivilege, let user = spec.posixUser ?? configuration.defaultPosixUser else {
            return nil
        }
        return try PosixIdentity.resolve(user)
    }

    /// Creates `<workRoot>/<name>` and hands it to the run-as user.
    private func prepareWorkDirectory(for name: String, owner: PosixIdentity?) throws(SupervisorError) -> String {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else {
            throw SupervisorError(.workDirectory, "component name \"\(name)\" cannot be a directory name")
        }
        let root = configuration.workRoot
        let path = root.hasSuffix("/") ? root + name : root + "/" + name
        for (directory, mode) in [(root, mode_t(0o755)), (path, mode_t(0o700))] {
            if mkdir(directory, mode) != 0, errno != EEXIST {
                throw SupervisorError(.workDirectory, "cannot create \(directory): errno \(errno)")
            }
        }
        if let owner, chown(path, owner.userID, owner.groupID) != 0 {
            throw SupervisorError(.workDirectory, "cannot give \(path) to uid \(owner.userID): errno \(errno)")
        }
        return path
    }

    /// The nucleus's own `PATH`.
    static var inheritedPath: String? {
        getenv("PATH").map { String(cString: $0) }
    }

    /// Evaluates a `Skipif` check against the file system and the phase's `PATH`.
    static func check(_ condition: SkipCondition, environment: [String: String]) -> Bool {
        switch condition.check {
        case .exists:
            var path = condition.argument
            if path == "~" || path.hasPrefix("~/"), let home = environment["HOME"] ?? getenv("HOME").map({ String(cString: $0) }) {
                path = home + path.dropFirst()
            }
            return access(path, F_OK) == 0
        case .onPath:
            let program = condition.argument
            if program.contains("/") { return access(program, X_OK) == 0 }
            let path = environment["PATH"] ?? PhaseEnvironment.systemPath
            return path.split(separator: ":").contains { access("\($0)/\(program)", X_OK) == 0 }
        }
    }

    /// `command=["…"]` as Greengrass logs it: the script, cut to 90 characters with `...`.
    static func renderCommand(_ script: String) -> String {
        let shown = script.count > 90 ? script.prefix(90) + "..." : Substring(script)
        return "[\"\(shown)\"]"
    }

    /// Waits for all futures or until `limit` on their event loop, whichever comes first.
    static func awaitAny(_ futures: [EventLoopFuture<Void>], orAfter limit: Duration) async {
        guard let loop = futures.first?.eventLoop else { return }
        let promise = loop.makePromise(of: Void.self)
        let once = OneShot()
        let nanoseconds = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
        let timer = loop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            if once.claim() { promise.succeed(()) }
        }
        EventLoopFuture.whenAllComplete(futures, on: loop).whenComplete { _ in
            timer.cancel()
            if once.claim() { promise.succeed(()) }
        }
        try? await promise.futureResult.get()
    }
}

/// Ends a phase launch exactly once: when its session is registered, or when the launch gives up.
final class LaunchGuard: Sendable {
    private let once = OneShot()
    private let action: @Sendable () -> Void

    init(_ action: @escaping @Sendable () -> Void) {
        self.action = action
    }

    func end() {
        if once.claim() { action() }
    }
}

/// A flag that can be claimed once, from any thread.
final class OneShot: Sendable {
    private let claimed = Mutex(false)

    /// `true` for the first caller only.
    func claim() -> Bool {
        claimed.withLock { value in
            defer { value = true }
            return !value
        }
    }
}

import GreengrassLifecycle
import GreengrassLogFormat
import NIOCore
import NIOPosix
import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

/// Builds a phase's environment: Greengrass order, later wins.
enum PhaseEnvironment {
    /// Variables of the nucleus's own environment that components must not inherit.
    static let nucleusOnlyVariables = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"]

    /// Appended to the nucleus's `PATH`, as the Java nucleus does.
    static let systemPath = "/bin:/usr/bin:/sbin:/usr/sbin"

    /// The variables set on top of the inherited nucleus environment: `PATH`, then the run-as user's
    /// `HOME`/`USER`/`LOGNAME`, then the nucleus-provided ``ComponentRunSpec/environment``, then lifecycle
    /// `Setenv`, then the phase's `Setenv`.
    static func overrides(
        spec: ComponentRunSpec, phase: LifecyclePhase, inheritedPath: String?, identity: PosixIdentity?
    ) -> [String: String] {
        var env: [String: String] = [:]
        env["PATH"] = [inheritedPath ?? "", systemPath].filter { !$0.isEmpty }.joined(separator: ":")
        if let identity {
            if let home = identity.homeDirectory { env["HOME"] = home }
            if let name = identity.userName {
                env["USER"] = name
                env["LOGNAME"] = name
            }
        }
        if phase == .uninstall {
            env["GREENGRASS_COMPONENT_VERSION"] = spec.version
        }
        env.merge(spec.environment) { $1 }
        env.merge(spec.componentSetenv) { $1 }
        env.merge(spec.phases[phase]?.setenv ?? [:]) { $1 }
        return env
    }
}

/// How a phase process ended, before the state machine's view of it.
enum PhaseProcessResult: Sendable, Hashable {
    case exited(Int32)
    case timedOut
    case launchFailed(String)
}

/// What to spawn for one phase.
struct PhaseLaunch: Sendable {
    var shell: String
    var script: String
    var environment: [String: String]
    var workingDirectory: String
    /// `nil`: run as the nucleus's own user.
    var identity: PosixIdentity?
    /// The component's `cgroup.procs` files; empty when cgroups are not used.
    var cgroupProcsFiles: [String] = []

    /// The program and arguments spawned: `shell -c script`, behind ``CgroupEntry`` when the phase has cgroups.
    var command: (executable: String, arguments: [String]) {
        guard !cgroupProcsFiles.isEmpty else { return (shell, ["-c", script]) }
        return (CgroupEntry.shell, CgroupEntry.arguments(procsFiles: cgroupProcsFiles, then: [shell, "-c", script]))
    }
}

/// The step between spawn and the phase's command that joins the component's cgroups: the spawned `/bin/sh`
/// writes its own pid (`$$`) to each `cgroup.procs`, then `exec`s the phase's shell. The pid stays the same, so
/// the command and everything it forks start inside the cgroup: nothing escapes a limit, even briefly, and no
/// rescan is needed (the Java nucleus writes the pid after start and looks for children again after 1 s).
/// swift-subprocess offers no pre-exec hook on Linux, and `clone3(CLONE_INTO_CGROUP)` exists for v2 only; this
/// works for v1 and v2, as the component's user too (its `cgroup.procs` files are given to it). A failed join
/// exits 125 before the command runs, rather than running it unconfined.
enum CgroupEntry {
    static let shell = "/bin/sh"
    static let script = #"for f do [ "$f" = -- ] && break; echo $$ > "$f" || { echo "cannot join cgroup $f" >&2; exit 125; }; shift; done; shift; exec "$@""#

    static func arguments(procsFiles: [String], then command: [String]) -> [String] {
        ["-c", script, "greengrass-cgroup-entry"] + procsFiles + ["--"] + command
    }
}

/// Spawning one `sh -c` phase process in its own session, with output pipes and a timeout.
enum PhaseProcess {
    /// Creates a close-on-exec pipe and reads its read end on `group`, splitting lines into `onLine`.
    ///
    /// Returns the write end for the child and a future that completes at end-of-file, which is when
    /// every process holding the write end (grandchildren included) has closed it. Exit detection never
    /// waits for it.
    static func outputPipe(
        group: any EventLoopGroup, maximumLineLength: Int, onLine: @escaping @Sendable (String) -> Void
    ) async throws(SupervisorError) -> (writeEnd: SystemPackage.FileDescriptor, endOfFile: EventLoopFuture<Void>) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw SupervisorError(.launch, "cannot create an output pipe: errno \(errno)")
        }
        // Close-on-exec so no other child inherits the pipe and delays end-of-file; the spawn path
        // dup2s the write end onto the child's stdout/stderr, which clears the flag there only.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        do {
            let endOfFile = try await NIOPipeBootstrap(group: group).takingOwnershipOfDescriptor(input: fds[0]) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        OutputLineHandler(maximumLineLength: maximumLineLength, onLine: onLine))
                    return channel.closeFuture
                }
            }
            return (SystemPackage.FileDescriptor(rawValue: fds[1]), endOfFile)
        } catch {
            close(fds[1])
            throw SupervisorError(.launch, "cannot read an output pipe: \(error)")
        }
    }

    private enum Race: Sendable {
        case finished(PhaseProcessResult)
        case timer
        case cancelled
    }

    /// Runs `launch` to completion. `onSpawn` receives the session id (= pid) as soon as the process
    /// exists. On timeout the whole session is terminated and the result is ``PhaseProcessResult/timedOut``.
    static func run<C: Clock>(
        _ launch: PhaseLaunch,
        stdout: SystemPackage.FileDescriptor,
        stderr: SystemPackage.FileDescriptor,
        timeout: Duration?,
        gracePeriod: Duration,
        clock: C,
        onSpawn: @escaping @Sendable (Int32) -> Void
    ) async -> PhaseProcessResult where C.Duration == Duration {
        var options = PlatformOptions()
        // Own session: the component can be stopped as a whole and never receives the nucleus's signals.
        options.createSession = true
        if let identity = launch.identity {
            options.userID = identity.userID
            options.groupID = identity.groupID
            options.supplementaryGroups = identity.supplementaryGroups
        }
        var variables: [Environment.Key: String?] = [:]
        // systemd's notification and socket-activation variables address the nucleus alone; a component that
        // inherited them could send READY=1/WATCHDOG=1 on its behalf (NotifyAccess=main would drop it, but only
        // under systemd) or claim the nucleus's sockets.
        for name in PhaseEnvironment.nucleusOnlyVariables {
            if let key = Environment.Key(rawValue: name) { variables[key] = .some(nil) }
        }
        for (key, value) in launch.environment {
            if let key = Environment.Key(rawValue: key) { variables[key] = value }
        }
        let command = launch.command
        let configuration = Configuration(
            executable: command.executable.contains("/") ? .path(FilePath(command.executable)) : .name(command.executable),
            arguments: Arguments(command.arguments),
            environment: .inherit.updating(variables),
            workingDirectory: FilePath(launch.workingDirectory),
            platformOptions: options
        )
        let spawned = SpawnedProcess()

        return await withTaskGroup(of: Race.self) { group in
            group.addTask {
                do {
                    let result = try await Subprocess.run(
                        configuration,
                        input: .none,
                        output: .fileDescriptor(stdout, closeAfterSpawningProcess: true),
                        error: .fileDescriptor(stderr, closeAfterSpawningProcess: true)
                    ) { execution in
                        let pid = execution.processIdentifier.value
                        spawned.set(pid)
                        onSpawn(pid)
                    }
                    return .finished(.exited(exitCode(result.terminationStatus)))
                } catch {
                    return .finished(.launchFailed("\(error)"))
                }
            }
            if let timeout {
                group.addTask {
                    do {
                        try await clock.sleep(for: timeout)
                        // The spawn itself may still be in flight; give it a bounded moment to report the pid.
                        for _ in 0..<500 where spawned.pid == nil {
                            try await clock.sleep(for: .milliseconds(10))
                        }
                        return .timer
                    } catch {
                        return .cancelled
                    }
                }
            }
            var timedOut = false
            while let event = await group.next() {
                switch event {
                case .finished(let result):
                    group.cancelAll()
                    if timedOut, case .exited = result { return .timedOut }
                    return result
                case .timer:
                    timedOut = true
                    if let pid = spawned.pid {
                        await ProcessTable.terminate([pid], gracePeriod: gracePeriod, clock: clock)
                    }
                case .cancelled:
                    continue
                }
            }
            return .launchFailed("phase process task ended without a result")
        }
    }

    /// Exit code as a shell reports it: a signal `n` becomes `128 + n`.
    static func exitCode(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }
}

/// Splits a pipe's bytes into lines on its event loop and hands each line over; never buffers more
/// than one capped line.
final class OutputLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var splitter: OutputLineSplitter
    private let onLine: @Sendable (String) -> Void

    init(maximumLineLength: Int, onLine: @escaping @Sendable (String) -> Void) {
        splitter = OutputLineSplitter(maxLineBytes: maximumLineLength)
        self.onLine = onLine
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let lines = buffer.withUnsafeReadableBytes { splitter.feed($0) }
        for line in lines { onLine(line) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for line in splitter.finish() { onLine(line) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// The pid of a phase process once spawned, shared between the spawning task and its timeout.
final class SpawnedProcess: Sendable {
    private let value = Mutex<Int32?>(nil)

    var pid: Int32? { value.withLock { $0 } }

    func set(_ pid: Int32) {
        value.withLock { $0 = pid }
    }
}

import Dispatch

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Nucleus {
    /// The whole life of the `greengrass-nucleus` process: runs the nucleus on the concurrency pool while the calling
    /// (main) thread waits, and replaces the process with a fresh nucleus when a deployment's Bootstrap asked for a
    /// restart. Returns when the nucleus stopped; throws ``NucleusStartupError`` when it could not start.
    public static func runProcess(options: NucleusOptions) throws {
        let exit = try waitFor { try await run(options: options) }
        if exit == .restartRequested { restartInPlace() }
    }

    /// Runs `operation` on the global concurrent executor and blocks the calling thread until it finishes. Nothing
    /// in the nucleus runs on the main actor, so blocking the main thread cannot deadlock it.
    static func waitFor<Value: Sendable>(_ operation: @escaping @Sendable () async throws -> Value) throws -> Value {
        let outcome = TaskOutcome<Value>()
        let finished = DispatchSemaphore(value: 0)
        Task {
            do { outcome.result = .success(try await operation()) } catch { outcome.result = .failure(error) }
            finished.signal()
        }
        finished.wait()
        return try outcome.result!.get()
    }

    /// Replaces this process with a fresh nucleus (same binary, same arguments, same pid, so systemd's
    /// `Type=notify` main-PID tracking and any supervisor watching the pid stay valid). The new process resumes
    /// the deployment that asked for the restart. Falls back to exit code 100 — Greengrass's "restart me" code,
    /// which `Restart=on-failure` in our unit also restarts — if exec fails.
    static func restartInPlace() -> Never {
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        let message = Array("greengrass-nucleus: cannot restart itself (errno \(errno)); exiting with 100\n".utf8)
        _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        Glibc.exit(100)
    }
}

/// What the task in ``Nucleus/waitFor(_:)`` produced: written once by the task before it signals the semaphore,
/// read by the waiting thread after it, so the semaphore orders the two accesses.
private final class TaskOutcome<Value>: @unchecked Sendable {
    var result: Result<Value, any Error>?
}

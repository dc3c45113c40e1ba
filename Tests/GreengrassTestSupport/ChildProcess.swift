import Foundation

/// Runs a program to completion for tests (python3 scripts, our own binaries), with a hard time limit.
public enum ChildProcess {
    /// What the process did.
    public struct Result: Sendable {
        /// Exit status, or the negated signal number when a signal ended it.
        public var exitCode: Int32
        /// Everything written to standard output.
        public var stdout: String
        /// Everything written to standard error.
        public var stderr: String
        /// Whether the process was killed because it ran past the time limit.
        public var timedOut: Bool
    }

    /// Why the process could not be run.
    public struct LaunchError: Error, CustomStringConvertible {
        /// The program that failed to start.
        public var executable: String
        /// The underlying error.
        public var reason: String
        public var description: String { "cannot run \(executable): \(reason)" }
    }

    /// Runs `executable` with `arguments` and waits for it, killing it (SIGKILL) once `timeout` has passed.
    ///
    /// Output goes to temporary files rather than pipes, so a chatty child never blocks on a full pipe.
    /// - Parameter executable: an absolute path, or a bare name looked up in `PATH`.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        currentDirectory: String? = nil,
        timeout: Duration
    ) async throws -> Result {
        let scratch = try TemporaryDirectory(prefix: "cp")
        let outPath = scratch.file("stdout")
        let errPath = scratch.file("stderr")

        // The shell redirects the child's output to the files, so no file descriptor of ours is handed to
        // Foundation: closing one twice (Process closes what it is given) could close an unrelated descriptor
        // another thread reopened meanwhile, e.g. an event loop's wake-up fd.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"out="$1"; err="$2"; shift 2; exec "$@" >"$out" 2>"$err""#, "sh", outPath, errPath,
                             executable] + arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }

        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { finished in
            let code = finished.terminationReason == .uncaughtSignal ? -finished.terminationStatus : finished.terminationStatus
            exited.continuation.yield(code)
            exited.continuation.finish()
        }
        do {
            try process.run()
        } catch {
            throw LaunchError(executable: executable, reason: "\(error)")
        }
        let pid = process.processIdentifier
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            kill(pid, SIGKILL)
            return true
        }
        var exitCode: Int32 = -1
        for await code in exited.stream { exitCode = code }
        watchdog.cancel()
        let timedOut = (try? await watchdog.value) ?? false
        return Result(
            exitCode: exitCode,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "",
            timedOut: timedOut
        )
    }
}

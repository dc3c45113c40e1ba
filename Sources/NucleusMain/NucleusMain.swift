import ArgumentParser
import Dispatch
import GreengrassNucleus

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `greengrass-nucleus`: parses the command line and runs the nucleus in the foreground.
///
/// A synchronous entry point that blocks the main thread while the nucleus runs on the concurrency pool: an async
/// `@main` (`AsyncParsableCommand`) measured 0.9 MB more resident memory (issue 16).
@main
struct NucleusMain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "greengrass-nucleus",
        abstract: "Runs the Greengrass nucleus: components, IPC socket, local deployments.",
        version: NucleusVersion.current)

    @Option(name: [.customLong("root"), .customShort("r")], help: "Greengrass root directory (default: $GGC_ROOT_PATH, else /greengrass/v2).")
    var root: String?

    @Option(
        name: [.customLong("config"), .customShort("i"), .customLong("init-config")],
        help: "Initial configuration (config.yaml shape, YAML or JSON), merged into the persisted configuration.")
    var config: String?

    func run() throws {
        let environmentRoot = ProcessInfo.processInfo.environment["GGC_ROOT_PATH"].flatMap { $0.isEmpty ? nil : $0 }
        let options = NucleusOptions(root: root ?? environmentRoot ?? "/greengrass/v2", configFile: config)
        let exit: NucleusExit
        do {
            exit = try Self.waitFor { try await Nucleus.run(options: options) }
        } catch let error as NucleusStartupError {
            throw ValidationErrorWithoutUsage(message: error.description)
        }
        if exit == .restartRequested { Self.restartInPlace() }
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

/// What the task in ``NucleusMain/waitFor(_:)`` produced: written once by the task before it signals the semaphore,
/// read by the waiting thread after it, so the semaphore orders the two accesses.
private final class TaskOutcome<Value>: @unchecked Sendable {
    var result: Result<Value, any Error>?
}

/// Start-up failures are one line on stderr and exit code 1, without the usage text.
struct ValidationErrorWithoutUsage: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

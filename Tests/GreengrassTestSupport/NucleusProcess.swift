import Foundation

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A real `greengrass-nucleus` process in a temporary root, driven by tests through the real `greengrass-cli`.
public final class NucleusProcess: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The folder holding the built executables (the test bundle's build folder, or `GG_BIN_DIR`).
    public static var binaryDirectory: String {
        if let explicit = ProcessInfo.processInfo.environment["GG_BIN_DIR"], !explicit.isEmpty { return explicit }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // swift-testing runs the tests from `<build>/debug/<Package>PackageTests.xctest`.
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("greengrass-nucleus").path),
            directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory.path
    }

    public static var nucleusExecutable: String { binaryDirectory + "/greengrass-nucleus" }
    public static var cliExecutable: String { binaryDirectory + "/greengrass-cli" }

    public let root: String
    public private(set) var process: Process?
    private let outputPath: String
    private let lock = NSLock()

    /// Creates (but does not start) a nucleus with its root in `root`.
    public init(root: String) {
        self.root = root
        self.outputPath = root + ".stdout"
    }

    deinit {
        if let process, process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    public var pid: Int32? { lock.withLock { process?.processIdentifier } }
    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }
    public var socketPath: String { root + "/ipc.socket" }

    /// Starts the nucleus and returns once the CLI token file and the socket exist (bounded by `timeout`).
    public func start(configFile: String? = nil, environment: [String: String] = [:], timeout: Duration = .seconds(20)) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.nucleusExecutable)
        process.arguments = ["--root", root] + (configFile.map { ["--config", $0] } ?? [])
        var env = ProcessInfo.processInfo.environment
        // Components' `python3` is the project's venv (with awsiotsdk), as a device's is a device-wide venv.
        env["PATH"] = RepositoryFiles.searchPath(env["PATH"])
        env.merge(environment) { $1 }
        process.environment = env
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        output.seekToEndOfFile()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try? FileManager.default.removeItem(atPath: root + "/cli_ipc_info/user-\(geteuid())")
        try process.run()
        lock.withLock { self.process = process }
        let deadline = ContinuousClock.now + timeout
        while !(FileManager.default.fileExists(atPath: root + "/cli_ipc_info/user-\(geteuid())")
            && FileManager.default.fileExists(atPath: socketPath))
        {
            guard process.isRunning else {
                throw Failure(description: "nucleus exited with status \(process.terminationStatus): \(consoleOutput())")
            }
            guard ContinuousClock.now < deadline else {
                throw Failure(description: "nucleus did not open its socket within \(timeout): \(consoleOutput())")
            }
            usleep(10_000)
        }
    }

    /// SIGTERM, then waits for the exit (bounded); returns the exit status.
    @discardableResult
    public func stop(timeout: Duration = .seconds(60)) -> Int32? {
        signalAndWait(SIGTERM, timeout: timeout)
    }

    /// SIGKILL, as a crash or power cut would end it.
    public func kill() {
        _ = signalAndWait(SIGKILL, timeout: .seconds(10))
    }

    private func signalAndWait(_ signal: Int32, timeout: Duration) -> Int32? {
        guard let process = lock.withLock({ self.process }), process.isRunning else { return process?.terminationStatus }
        Glibc.kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    /// What the nucleus printed on stdout/stderr (start-up errors).
    public func consoleOutput() -> String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Runs `greengrass-cli --root <root> <arguments>`.
    public func cli(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ChildProcess.Result {
        try await ChildProcess.run(Self.cliExecutable, ["--root", root] + arguments, timeout: timeout)
    }

    /// The text of `<root>/logs/<name>.log` (empty when missing).
    public func log(_ name: String) -> String {
        (try? String(contentsOfFile: "\(root)/logs/\(name).log", encoding: .utf8)) ?? ""
    }
}

import Foundation
import GreengrassLifecycle
import GreengrassSupervisor
import GreengrassTestSupport
import Logging
import Synchronization
import Testing

/// One captured log call.
struct LogEntry: Sendable {
    var label: String
    var level: Logger.Level
    var message: String
    var metadata: [String: String]

    var eventType: String? { metadata["eventType"] }
}

/// Collects log entries from every logger it makes. With `countOutputOnly`, stdout lines are only counted
/// (a volume test would otherwise hold millions of entries).
final class LogCapture: Sendable {
    private struct Storage {
        var entries: [LogEntry] = []
        var stdoutCount = 0
        var lastStdout: String?
    }

    private let storage = Mutex(Storage())
    let countOutputOnly: Bool

    init(countOutputOnly: Bool = false) {
        self.countOutputOnly = countOutputOnly
    }

    func logger(_ label: String) -> Logger {
        Logger(label: label) { label in CaptureHandler(label: label, capture: self) }
    }

    func append(_ entry: LogEntry) {
        storage.withLock { storage in
            if entry.eventType == "stdout" {
                storage.stdoutCount += 1
                storage.lastStdout = entry.message
                if countOutputOnly { return }
            }
            storage.entries.append(entry)
        }
    }

    var entries: [LogEntry] { storage.withLock { $0.entries } }
    var stdoutCount: Int { storage.withLock { $0.stdoutCount } }
    var lastStdout: String? { storage.withLock { $0.lastStdout } }

    /// Messages of `stdout` (or `stderr`) lines logged for `component`.
    func output(_ component: String, stream: String = "stdout") -> [String] {
        entries.filter { $0.label == component && $0.eventType == stream }.map(\.message)
    }
}

struct CaptureHandler: LogHandler {
    let label: String
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        capture.append(
            LogEntry(
                label: label, level: event.level, message: "\(event.message)",
                metadata: merged.mapValues { "\($0)" }))
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}

/// A supervisor in a temporary root, with its logs, state changes and process-group hooks recorded.
final class SupervisorFixture: Sendable {
    let root: TemporaryDirectory
    let logs: LogCapture
    let supervisor: Supervisor<ContinuousClock>
    private let recorder: Recorder

    init(logs: LogCapture = LogCapture(), configure: (inout SupervisorConfiguration) -> Void = { _ in }) throws {
        root = try TemporaryDirectory(prefix: "sv")
        // mkdtemp makes 0700; a component user other than root must be able to reach its work directory.
        chmod(root.path, 0o755)
        self.logs = logs
        let recorder = Recorder()
        self.recorder = recorder
        var configuration = SupervisorConfiguration(
            workRoot: root.file("work"),
            stopGracePeriod: .seconds(2),
            restartPolicy: RestartPolicy(initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(100)),
            componentLogger: { logs.logger($0) },
            nucleusLogger: logs.logger("nucleus"),
            onProcessGroupStarted: { name, pgid in recorder.recordStart(name, pgid) },
            onProcessGroupExited: { _, pgid in recorder.recordExit(pgid) }
        )
        configure(&configuration)
        supervisor = Supervisor(configuration: configuration)
    }

    /// Every state change so far, in order.
    var changes: [ComponentStateChange] { recorder.state.withLock { $0.changes } }

    /// The states `name` went through, in order (starting after NEW).
    func states(of name: String) -> [ComponentState] {
        changes.filter { $0.name == name }.map(\.to)
    }

    /// Process groups reported started for `name`.
    func processGroups(of name: String) -> [Int32] { recorder.state.withLock { $0.started[name] ?? [] } }

    /// The first process group reported for `name`, waiting for the hook: a child can print before the
    /// supervisor has registered its session.
    func firstProcessGroup(of name: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int32 {
        await eventually("\(name) has a process group", sourceLocation: sourceLocation) { !processGroups(of: name).isEmpty }
        return try #require(processGroups(of: name).first, sourceLocation: sourceLocation)
    }

    /// Process groups reported exited.
    var exitedGroups: [Int32] { recorder.state.withLock { $0.exited } }

    func workDirectory(_ name: String) -> String { root.file("work/\(name)") }

    /// Runs `body` with the supervisor's `run()` going; shuts down afterwards (also on failure).
    static func with(
        logs: LogCapture = LogCapture(),
        configure: (inout SupervisorConfiguration) -> Void = { _ in },
        _ body: (SupervisorFixture) async throws -> Void
    ) async throws {
        let fixture = try SupervisorFixture(logs: logs, configure: configure)
        let changes = fixture.supervisor.stateChanges()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await fixture.supervisor.run() }
            group.addTask {
                for await change in changes { fixture.recorder.record(change) }
            }
            do {
                try await body(fixture)
            } catch {
                await fixture.supervisor.shutdown()
                throw error
            }
            await fixture.supervisor.shutdown()
            try await group.waitForAll()
        }
        fixture.expectNoLeftoverProcesses()
    }

    /// Every test must leave no process behind: anything still running in this fixture's work
    /// directories is recorded as an issue (and killed, so one failure does not pile up).
    func expectNoLeftoverProcesses(sourceLocation: SourceLocation = #_sourceLocation) {
        let leftovers = processes(under: root.path)
        for pid in leftovers { kill(pid, SIGKILL) }
        #expect(leftovers.isEmpty, "processes left running under \(root.path)", sourceLocation: sourceLocation)
    }

    /// Polls `condition` until it holds or `timeout` passes (bounded in count and time).
    @discardableResult
    func eventually(
        _ what: Comment, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () -> Bool
    ) async -> Bool {
        let result = await GreengrassTestSupport.eventually(timeout: timeout, every: .milliseconds(20), condition)
        if !result {
            Issue.record("timed out waiting: \(what); states: \(changes.map { "\($0.name):\($0.to)" })", sourceLocation: sourceLocation)
        }
        return result
    }

    /// Waits until `name` has reached `state` (at any point since the fixture started).
    @discardableResult
    func reaches(
        _ name: String, _ state: ComponentState, timeout: Duration = .seconds(20),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> Bool {
        await eventually("\(name) reaches \(state)", timeout: timeout, sourceLocation: sourceLocation) {
            states(of: name).contains(state)
        }
    }
}

/// What the hooks and the state-change stream reported; shared by the fixture and the hook closures.
private final class Recorder: Sendable {
    let state = Mutex<(changes: [ComponentStateChange], started: [String: [Int32]], exited: [Int32])>(([], [:], []))

    func recordStart(_ name: String, _ pgid: Int32) {
        state.withLock { $0.started[name, default: []].append(pgid) }
    }

    func recordExit(_ pgid: Int32) {
        state.withLock { $0.exited.append(pgid) }
    }

    func record(_ change: ComponentStateChange) {
        state.withLock { $0.changes.append(change) }
    }
}

/// A spec from scripts; phases as plain scripts with optional timeouts.
func makeSpec(
    _ name: String,
    version: String = "1.0.0",
    _ scripts: [LifecyclePhase: String],
    timeouts: [LifecyclePhase: Duration] = [:],
    environment: [String: String] = [:],
    componentSetenv: [String: String] = [:],
    phaseSetenv: [LifecyclePhase: [String: String]] = [:],
    hardDependencies: [String] = [],
    posixUser: String? = nil,
    privileged: Set<LifecyclePhase> = []
) -> ComponentRunSpec {
    var phases: [LifecyclePhase: PhaseSpec] = [:]
    for (phase, script) in scripts {
        phases[phase] = PhaseSpec(
            script: script, timeout: timeouts[phase], requiresPrivilege: privileged.contains(phase),
            setenv: phaseSetenv[phase] ?? [:])
    }
    return ComponentRunSpec(
        name: name, version: version, phases: phases, componentSetenv: componentSetenv,
        environment: environment, hardDependencies: hardDependencies, posixUser: posixUser)
}

/// Live (non-zombie) processes whose session or process group is `id`, read straight from `/proc`.
func liveProcesses(inGroup id: Int32) -> [Int32] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return names.compactMap(Int32.init).filter { pid in
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 3, fields[0] != "Z" else { return false }
        return Int32(fields[2]) == id || Int32(fields[3]) == id
    }
}

/// Creates an empty file (a gate a test script waits for).
func touch(_ path: String) {
    let created = FileManager.default.createFile(atPath: path, contents: nil)
    precondition(created, "cannot create \(path)")
}

/// Live processes whose working directory is inside `directory`.
func processes(under directory: String) -> [Int32] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return names.compactMap(Int32.init).filter { pid in
        guard let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") else { return false }
        guard cwd.hasPrefix(directory + "/") else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !(stat.split(separator: ")").last?.hasPrefix(" Z") ?? true)
    }
}

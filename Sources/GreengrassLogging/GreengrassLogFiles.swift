import GreengrassLogFormat
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The nucleus's log outputs: `greengrass.log` for nucleus events and `<ComponentName>.log` per component, in the
/// Greengrass TEXT (or JSON) format, size- and hour-rotated with Greengrass's file names.
///
/// ```swift
/// let logs = GreengrassLogFiles(configuration: GreengrassLogConfiguration(rootPath: "/greengrass/v2"))
/// let nucleus = logs.nucleusLogger(label: "com.aws.greengrass.lifecyclemanager.Kernel")
/// nucleus.info("Launch Nucleus", metadata: ["eventType": "system-start"])
///
/// var component = logs.componentLogger(name: "com.example.Foo")   // serviceName preset
/// component[metadataKey: "currentState"] = "RUNNING"
/// component.logComponentOutput("hello", stream: .stdout, scriptName: "services.com.example.Foo.lifecycle.Run")
/// ```
///
/// Metadata conventions of the loggers it makes: the logger label is the logger name; the metadata key
/// `eventType` is the event type; `thread` is the thread name; every other key becomes a context.
///
/// Writing is synchronous and bounded: each event is rendered into one line and written whole with `write(2)`
/// under the lock of its own file (one lock per file, so a component flooding its log never blocks
/// `greengrass.log`). Nothing is queued. Write failures (disk full) are counted in ``writeErrorCount``, the first
/// of a streak is reported on standard error, and logging goes on.
public final class GreengrassLogFiles: Sendable {
    /// The configuration this instance was created with (``level`` may have changed since).
    public let configuration: GreengrassLogConfiguration
    /// The clock used for timestamps and rotation periods (epoch milliseconds).
    public let now: @Sendable () -> Int64

    private let currentLevel: Atomic<Int>
    private let errors = LogErrorRecorder()
    private let sinks = Mutex<[String: LogSink]>([:])
    private let closed = Atomic<Bool>(false)

    /// The base name of the nucleus log (`greengrass.log`).
    public static let nucleusLogName = "greengrass"

    /// - Parameters:
    ///   - configuration: where and how to write.
    ///   - now: wall clock in epoch milliseconds; tests inject a fixed or stepping clock.
    public init(
        configuration: GreengrassLogConfiguration,
        now: @escaping @Sendable () -> Int64 = GreengrassLogFiles.wallClockMilliseconds
    ) {
        self.configuration = configuration
        self.now = now
        self.currentLevel = Atomic(configuration.level.severity)
    }

    /// `CLOCK_REALTIME` in milliseconds.
    @Sendable public static func wallClockMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    // MARK: Level

    /// The minimum level written (`logging.level`).
    public var level: GreengrassLogLevel {
        let severity = currentLevel.load(ordering: .relaxed)
        return GreengrassLogLevel.allCases.first { $0.severity == severity } ?? .info
    }

    /// Changes the minimum level of every logger made by this instance (that has no explicit `logLevel` of its
    /// own), effective for the next event.
    public func setLevel(_ level: GreengrassLogLevel) {
        currentLevel.store(level.severity, ordering: .relaxed)
    }

    /// ``level`` as a swift-log level.
    var swiftLogLevel: Logger.Level { level.swiftLogLevel }

    // MARK: Loggers

    /// A logger writing to `greengrass.log` with logger name `label` and default thread `thread`.
    public func nucleusLogger(label: String, thread: String = "main") -> Logger {
        Logger(label: label) { label in self.nucleusLogHandler(label: label, thread: thread) }
    }

    /// The handler behind ``nucleusLogger(label:thread:)``, for `LoggingSystem.bootstrap` (see
    /// ``GreengrassLoggingSystem``).
    public func nucleusLogHandler(
        label: String, thread: String = "main", metadataProvider: Logger.MetadataProvider? = nil
    ) -> GreengrassLogHandler {
        GreengrassLogHandler(
            files: self, sink: sink(named: Self.nucleusLogName), loggerName: label, defaultThread: thread,
            metadataProvider: metadataProvider)
    }

    /// A logger writing to `<name>.log`: logger name = component name, default thread `<name>-lifecycle`,
    /// metadata `serviceName` preset to `name` (Greengrass's default context; add `currentState` as it changes).
    ///
    /// Names that are not safe file names (empty, `.`, `..`, containing `/` or NUL) are written to a file whose
    /// name has those characters replaced by `_`.
    public func componentLogger(name: String) -> Logger {
        var logger = Logger(label: name) { label in
            GreengrassLogHandler(
                files: self, sink: self.sink(named: Self.safeFileBaseName(label)), loggerName: label,
                defaultThread: label + "-lifecycle", metadataProvider: nil)
        }
        logger[metadataKey: "serviceName"] = .string(name)
        return logger
    }

    /// The path of the active log file for `baseName` (`greengrass` or a component name).
    public func logFilePath(baseName: String) -> String {
        configuration.outputDirectory + "/" + Self.safeFileBaseName(baseName) + ".log"
    }

    /// The path of `greengrass.log`.
    public var nucleusLogPath: String { logFilePath(baseName: Self.nucleusLogName) }

    // MARK: Lifecycle and health

    /// Number of failed writes/opens/renames/deletes so far.
    public var writeErrorCount: Int { errors.errorCount }

    /// Description of the most recent failure, naming the file and the errno.
    public var lastWriteError: String? { errors.lastError }

    /// Asks the kernel to persist every open log file (nothing is buffered in the process).
    public func flush() {
        for sink in sinks.withLock({ Array($0.values) }) { sink.flush() }
    }

    /// Closes a component's log file descriptor (component removed); a later event for it reopens the file.
    public func closeComponentLog(name: String) {
        guard configuration.outputType == .file else { return }
        sinks.withLock { $0[Self.safeFileBaseName(name)] }?.releaseFile()
    }

    /// Closes every file; events logged afterwards are dropped.
    public func close() {
        closed.store(true, ordering: .relaxed)
        for sink in sinks.withLock({ sinks in
            defer { sinks.removeAll() }
            return Array(sinks.values)
        }) {
            sink.closeFile()
        }
    }

    // MARK: Internals

    /// Renders and writes one event.
    func emit(_ line: GreengrassLogLine, to sink: LogSink) {
        var text = ""
        switch configuration.format {
        case .text: line.appendText(to: &text)
        case .json: line.appendJSON(to: &text)
        }
        text.append("\n")
        sink.writeLine(&text, now: line.timestamp)
    }

    /// The sink of `baseName`, created on first use (the file itself opens on the first write).
    /// In CONSOLE mode every name shares one sink on ``GreengrassLogConfiguration/consoleDescriptor``.
    func sink(named baseName: String) -> LogSink {
        let key = configuration.outputType == .console ? "" : baseName
        return sinks.withLock { sinks in
            if let existing = sinks[key] { return existing }
            let destination: LogSink.Destination =
                configuration.outputType == .console
                ? .descriptor(configuration.consoleDescriptor) : .file(directory: configuration.outputDirectory, baseName: baseName)
            let sink = LogSink(
                destination: destination, policy: configuration.rotationPolicy, fileMode: configuration.fileMode,
                errors: errors)
            if closed.load(ordering: .relaxed) { sink.closeFile() }
            sinks[key] = sink
            return sink
        }
    }

    /// Replaces characters that would escape the log directory or break the path.
    static func safeFileBaseName(_ name: String) -> String {
        if name.isEmpty || name == "." || name == ".." { return "_" + name.replacingDots() }
        guard name.contains(where: { $0 == "/" || $0 == "\0" }) else { return name }
        return String(name.map { $0 == "/" || $0 == "\0" ? "_" : $0 })
    }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}

extension GreengrassLogLevel {
    /// The swift-log level with the same threshold.
    public var swiftLogLevel: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        }
    }

    /// The Greengrass level name for a swift-log level (`notice` → INFO, `critical` → ERROR).
    public init(_ level: Logger.Level) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info, .notice: self = .info
        case .warning: self = .warn
        case .error, .critical: self = .error
        }
    }
}

import ArgumentParser
import GreengrassLogFormat

/// `greengrass-cli logs`: reads log files in this process, like the AWS CLI (no nucleus connection needed).
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Read, filter and follow Greengrass log files (TEXT or JSON), without contacting the nucleus.",
        subcommands: [Get.self, ListLogFiles.self, ListKeywords.self]
    )

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print log entries of files and directories, merged in time order.")

        @Option(name: [.customLong("lf", withSingleDash: true), .customLong("log-file")], help: "A log file (repeatable).")
        var logFile: [String] = []
        @Option(name: [.customLong("ld", withSingleDash: true), .customLong("log-dir")], help: "A log directory (repeatable).")
        var logDir: [String] = []
        @Option(name: [.short, .customLong("time-window")], help: "begin,end: absolute or relative times such as -2h (repeatable: any).")
        var timeWindow: [String] = []
        @Option(name: [.short, .customLong("filter")], help: "Terms separated by ',' (any): a regex, level=L or key=value (repeatable: all).")
        var filter: [String] = []
        @Option(name: [.short, .customLong("before")], help: "Lines to show before each match.") var before = 0
        @Option(name: [.short, .customLong("after")], help: "Lines to show after each match.") var after = 0
        @Option(name: [.short, .customLong("max-log-queue-size")], help: "Most entries held per log before printing.")
        var maxLogQueueSize = 100
        @Flag(name: [.customLong("fol", withSingleDash: true), .customLong("follow")], help: "Keep printing new entries.")
        var follow = false
        @Flag(name: [.customLong("nc", withSingleDash: true), .customLong("no-color")], help: "Do not highlight matches.")
        var noColor = false
        @Flag(name: [.short, .long], help: "Print whole lines with thread and full logger name.") var verbose = false
        @Flag(name: [.short, .long], help: "Read syslog files (default /var/log/syslog, /var/log/messages, /var/log/system.log).")
        var syslog = false

        func run() async throws {
            let standardOutput = BufferedDescriptorWriter(descriptor: 1)
            let standardError = BufferedDescriptorWriter(descriptor: 2)
            defer {
                standardOutput.flush()
                standardError.flush()
            }
            try await execute(
                LogsEnvironment(
                    now: LogFileSystem.wallClockMilliseconds,
                    sleep: { try await Task.sleep(for: $0) },
                    standardOutput: standardOutput.writeLine, standardError: standardError.writeLine,
                    flush: {
                        standardOutput.flush()
                        standardError.flush()
                    }))
        }

        /// The whole command against `environment`. Every input is checked before anything is printed.
        func execute(_ environment: LogsEnvironment) async throws {
            guard before >= 0 else { throw ValidationError("--before must be 0 or more, not \(before).") }
            guard after >= 0 else { throw ValidationError("--after must be 0 or more, not \(after).") }
            guard maxLogQueueSize >= 1 else { throw ValidationError("--max-log-queue-size must be 1 or more, not \(maxLogQueueSize).") }
            let startTime = environment.now()
            var warnings: [String] = []
            let query = try LogQueryFilter(timeWindows: timeWindow, filters: filter, now: startTime, warnings: &warnings)
            if syslog, verbose { warnings.append("Syslog does not support verbosity!") }
            var directories = logDir
            var files = logFile
            if syslog {
                if !directories.isEmpty { warnings.append("Syslog does not support directory input!") }
                directories = []
                if files.isEmpty {
                    files = ["/var/log/system.log", "/var/log/syslog", "/var/log/messages"].filter { LogFileSystem.identity(of: $0) != nil }
                }
            }
            guard !files.isEmpty || !directories.isEmpty else {
                throw LogInputError(description: "No valid log input. Please provide a log file or directory.")
            }
            let groups = try LogsCommand.groups(files: files, directories: directories, syslog: syslog)
            for warning in warnings { environment.standardError(warning) }

            let readers = groups.map { group in
                LogGroupReader(
                    paths: group.paths, activePath: group.activePath, filter: query, before: before, after: after, syslog: syslog,
                    follow: follow, now: startTime, report: environment.standardError)
            }
            func emit(_ selection: LogSelection) {
                for output in LogEntryFormatter.format(selection, syslog: syslog, verbose: verbose, color: !noColor) {
                    switch output {
                    case .standardOutput(let text): environment.standardOutput(text)
                    case .standardError(let text): environment.standardError(text)
                    }
                }
            }
            var merged = TimeOrderedMerge(readers.map(LogGroupIterator.init)) { $0.entry.timestamp }
            while let selection = merged.next() { emit(selection) }
            environment.flush()
            guard follow else { return }
            while query.acceptsLaterEntries(now: environment.now()) {
                try await environment.sleep(.milliseconds(100))
                var batch: [LogSelection] = []
                for reader in readers { batch += reader.poll(limit: maxLogQueueSize) }
                // Each log's entries are in order; a stable sort interleaves the logs by time.
                for selection in batch.enumerated().sorted(by: { ($0.element.entry.timestamp, $0.offset) < ($1.element.entry.timestamp, $1.offset) }) {
                    emit(selection.element)
                }
                environment.flush()
            }
        }
    }

    struct ListLogFiles: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list-log-files", abstract: "List the log files in directories.")
        @Option(name: [.customLong("ld", withSingleDash: true), .customLong("log-dir")], help: "A log directory (repeatable).")
        var logDir: [String]

        func run() throws {
            print(try listing(), terminator: "")
        }

        func listing() throws(LogInputError) -> String {
            var paths: [String] = []
            for directory in logDir { paths += try LogsCommand.logFiles(in: directory) }
            guard !paths.isEmpty else { return "No log file found.\n" }
            return paths.map { $0 + "\n" }.joined() + "Total \(paths.count) files found.\n"
        }
    }

    struct ListKeywords: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list-keywords", abstract: "Show the keys filters can use.")
        @Flag(name: [.short, .long], help: "Keywords of the syslog format.") var syslog = false

        func run() {
            print(LogEntryFormatter.suggestedKeywords(syslog: syslog), terminator: "")
        }
    }

    /// The regular files in `directory` whose name contains `log`, as paths.
    static func logFiles(in directory: String) throws(LogInputError) -> [String] {
        guard let info = LogFileSystem.identity(of: directory) else {
            throw LogInputError(description: "Log dir provided invalid: \(directory): \(LogFileSystem.lastError())")
        }
        guard info.isDirectory else { throw LogInputError(description: "Log dir provided invalid: \(directory): not a directory") }
        return try LogFileSystem.fileNames(in: directory).filter(LogFileKey.isLogFileName)
            .map { LogFileSystem.join(directory, $0) }
            .filter { LogFileSystem.identity(of: $0)?.isRegularFile == true }
    }

    struct Group: Equatable {
        var paths: [String]
        var activePath: String?
    }

    /// Groups the inputs by log (directory and log name), each group's files oldest first; syslog files form one group
    /// in the order given. Every file must be readable.
    static func groups(files: [String], directories: [String], syslog: Bool) throws(LogInputError) -> [Group] {
        var paths: [String] = []
        for directory in directories {
            let found = try logFiles(in: directory)
            guard !found.isEmpty else {
                throw LogInputError(description: "Log directory provided contains no valid log files: \(directory)")
            }
            paths += found
        }
        for file in files where !paths.contains(file) {
            guard let info = LogFileSystem.identity(of: file) else {
                throw LogInputError(description: "Cannot read log file \(file): \(LogFileSystem.lastError())")
            }
            guard !info.isDirectory else { throw LogInputError(description: "Cannot read log file \(file): it is a directory") }
            paths.append(file)
        }
        for path in paths where !LogFileSystem.isReadable(path) {
            throw LogInputError(description: "Cannot read log file \(path): \(LogFileSystem.lastError())")
        }
        if syslog { return [Group(paths: paths, activePath: nil)] }
        var byLog: [String: [(key: LogFileKey?, path: String)]] = [:]
        var order: [String] = []
        for path in paths {
            let slash = path.lastIndex(of: "/")
            let directory = slash.map { String(path[...$0]) } ?? ""
            let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
            let key = LogFileKey(fileName: name)
            let groupName = directory + (key?.activeFileName ?? name)
            if byLog[groupName] == nil { order.append(groupName) }
            byLog[groupName, default: []].append((key, path))
        }
        return order.sorted().map { groupName in
            let members = byLog[groupName, default: []].sorted { left, right in
                guard let leftKey = left.key, let rightKey = right.key else { return left.path < right.path }
                return leftKey < rightKey
            }
            return Group(paths: members.map(\.path), activePath: members.contains { $0.key != nil } ? groupName : nil)
        }
    }
}

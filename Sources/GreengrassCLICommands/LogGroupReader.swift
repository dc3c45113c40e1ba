import GreengrassLogFormat

/// What the `logs get` pipeline needs from the outside world; tests pass their own.
struct LogsEnvironment {
    /// Epoch milliseconds.
    var now: () -> Int64
    /// Waits between `--follow` polls.
    var sleep: (Duration) async throws -> Void
    var standardOutput: (String) -> Void
    var standardError: (String) -> Void
    /// Called after each batch of output (the real one flushes stdout, so `--follow` output appears promptly).
    var flush: () -> Void = {}
}

/// Reads the files of one log (oldest rolled file first, the active file last) as one time-ordered stream, selects
/// entries with the filter and the context window, and, with `--follow`, keeps reading the active file across
/// rotations.
final class LogGroupReader {
    let paths: [String]
    /// The active file's path, which `--follow` watches; nil when the log has none (syslog, a lone rolled file).
    let activePath: String?
    private let filter: LogQueryFilter
    private var context: LogContextSelector
    private let syslog: Bool
    private let currentYear: Int
    private let follow: Bool
    private let report: (String) -> Void
    private var nextPathIndex = 0
    private var reader: LogLineReader?
    private var lastTimestamp: Int64
    private var ready: [LogSelection] = []
    private var readyIndex = 0

    init(
        paths: [String], activePath: String?, filter: LogQueryFilter, before: Int, after: Int, syslog: Bool, follow: Bool,
        now: Int64, report: @escaping (String) -> Void
    ) {
        self.paths = paths
        self.activePath = activePath
        self.filter = filter
        self.context = LogContextSelector(before: before, after: after)
        self.syslog = syslog
        self.follow = follow
        self.currentYear = UTCDateTime(epochMilliseconds: now).year
        self.report = report
        self.lastTimestamp = now
    }

    /// The next selected entry of the files as they are now, or nil when they are read to their end.
    func next() -> LogSelection? {
        while true {
            if readyIndex < ready.count {
                defer { readyIndex += 1 }
                return ready[readyIndex]
            }
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
            if reader == nil {
                guard nextPathIndex < paths.count else { return nil }
                let path = paths[nextPathIndex]
                nextPathIndex += 1
                do {
                    reader = try LogLineReader(path: path)
                } catch {
                    report(error.description)
                    continue
                }
            }
            guard let current = reader else { continue }
            let keepsGrowing = follow && current.path == activePath && nextPathIndex == paths.count
            guard let line = readLine(current, flushPartialLine: !keepsGrowing) else {
                if !keepsGrowing { reader = nil }
                if keepsGrowing { return nil }
                continue
            }
            consume(line, from: current.path)
        }
    }

    /// One `--follow` poll: the entries written since the last one, at most `limit`, after handling a rotation
    /// (the active file renamed and a new one created) or a truncation of the active file.
    func poll(limit: Int) -> [LogSelection] {
        guard let activePath else { return [] }
        var selected: [LogSelection] = []
        func drain(_ current: LogLineReader, flushPartialLine: Bool) {
            while selected.count < limit, let line = readLine(current, flushPartialLine: flushPartialLine) {
                consume(line, from: current.path)
                selected += ready
                ready.removeAll(keepingCapacity: true)
            }
        }
        if let current = reader {
            drain(current, flushPartialLine: false)
            guard selected.count < limit else { return selected }
            let onDisk = LogFileSystem.identity(of: activePath)
            if let onDisk, onDisk.device == current.identity.device, onDisk.inode == current.identity.inode {
                if onDisk.size < current.offset {
                    current.rewind()
                    drain(current, flushPartialLine: false)
                }
                return selected
            }
            // Rotated: what remains in the renamed file is complete; then continue with the new active file.
            drain(current, flushPartialLine: true)
            guard selected.count < limit else { return selected }
            reader = nil
        }
        guard LogFileSystem.identity(of: activePath) != nil else { return selected }
        do {
            reader = try LogLineReader(path: activePath)
        } catch {
            report(error.description)
            return selected
        }
        if let current = reader { drain(current, flushPartialLine: false) }
        return selected
    }

    private func readLine(_ current: LogLineReader, flushPartialLine: Bool) -> String? {
        while true {
            do {
                switch try current.nextLine(flushPartialLine: flushPartialLine) {
                case nil: return nil
                case .text(let text):
                    // Like the AWS CLI, blank lines are not entries.
                    if text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                    return text
                case .oversized(let bytes):
                    report("Skipped a line of \(bytes) bytes in \(current.path): longer than \(current.maxLineBytes) bytes.")
                }
            } catch {
                report(error.description)
                return nil
            }
        }
    }

    private func consume(_ line: String, from path: String) {
        let entry = LogQueryEntry(line: line, syslog: syslog, fallbackTimestamp: lastTimestamp, currentYear: currentYear)
        lastTimestamp = entry.timestamp
        ready += context.select(entry, keywords: filter.match(entry))
    }
}

/// Adapts a shared ``LogGroupReader`` to ``TimeOrderedMerge``.
struct LogGroupIterator: IteratorProtocol {
    let group: LogGroupReader
    mutating func next() -> LogSelection? { group.next() }
}

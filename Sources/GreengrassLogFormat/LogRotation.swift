/// The name of a rolled log file: `<base>_<yyyy>_<MM>_<dd>_<HH>_<i>.log` (logback's
/// `%d{yyyy_MM_dd_HH}_%i`, UTC), e.g. `greengrass_2022_08_05_14_0.log`.
public struct RolledLogFileName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `greengrass` or the component name.
    public var baseName: String
    /// Hours since the Unix epoch (UTC) of the period the file covers.
    public var epochHour: Int64
    /// 0, 1, 2, … unique within one `epochHour`.
    public var index: Int

    public init(baseName: String, epochHour: Int64, index: Int) {
        self.baseName = baseName
        self.epochHour = epochHour
        self.index = index
    }

    /// Parses `fileName` as a rolled file of `baseName`, or nil when it is anything else (other logs, the active
    /// file, stray files).
    public init?(parsing fileName: String, baseName: String) {
        let prefix = baseName + "_"
        guard fileName.hasPrefix(prefix), fileName.hasSuffix(".log") else { return nil }
        let middle = fileName.utf8.dropFirst(prefix.utf8.count).dropLast(4)
        var reader = DigitReader(Array(middle))
        guard let year = reader.number(minDigits: 4, maxDigits: 4), reader.consume(UInt8(ascii: "_")),
            let month = reader.number(minDigits: 2, maxDigits: 2), reader.consume(UInt8(ascii: "_")),
            let day = reader.number(minDigits: 2, maxDigits: 2), reader.consume(UInt8(ascii: "_")),
            let hour = reader.number(minDigits: 2, maxDigits: 2), reader.consume(UInt8(ascii: "_")),
            let index = reader.number(minDigits: 1, maxDigits: 9), reader.atEnd,
            let date = UTCDateTime(validatingYear: year, month: month, day: day, hour: hour, minute: 0, second: 0, millisecond: 0)
        else { return nil }
        self.init(baseName: baseName, epochHour: date.epochMilliseconds / 3_600_000, index: index)
    }

    /// The file name, e.g. `com.example.Foo_2024_01_31_23_2.log`.
    public var fileName: String {
        let t = UTCDateTime(epochMilliseconds: epochHour * 3_600_000)
        var out = baseName + "_"
        ISOInstant.appendPadded(t.year, width: 4, to: &out)
        for field in [t.month, t.day, t.hour] {
            out.append("_")
            ISOInstant.appendPadded(field, width: 2, to: &out)
        }
        out.append("_")
        out.append(String(index))
        out.append(".log")
        return out
    }

    public var description: String { fileName }

    /// Chronological: by hour, then index.
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.epochHour, lhs.index) < (rhs.epochHour, rhs.index) }
}

/// Size limits of one log name (`logging.fileSizeKB`, `logging.totalLogsSizeKB`).
public struct LogRotationPolicy: Hashable, Sendable {
    /// The active file is rolled before a write would take it past this many bytes.
    public var maxFileBytes: Int64
    /// Rolled files of one log name are deleted, oldest first, while their sum exceeds this many bytes.
    public var maxTotalBytes: Int64
    /// Also roll when the UTC hour changes, like logback's `SizeAndTimeBasedRollingPolicy` with an hourly pattern.
    public var rollsHourly: Bool

    /// Greengrass defaults: 1024 KB per file, 10240 KB in total, hourly periods.
    public init(fileSizeKB: Int = 1024, totalLogsSizeKB: Int = 10240, rollsHourly: Bool = true) {
        self.maxFileBytes = Int64(max(1, fileSizeKB)) * 1024
        self.maxTotalBytes = Int64(max(0, totalLogsSizeKB)) * 1024
        self.rollsHourly = rollsHourly
    }
}

/// What the file writer must do before the next write, in order.
public enum LogRotationAction: Hashable, Sendable {
    /// Rename the active `<base>.log` to this rolled name, then start a new, empty active file.
    case rollActive(to: RolledLogFileName)
    /// Delete this rolled file (total size cap).
    case delete(RolledLogFileName)
}

/// Rotation bookkeeping of one log name (pure state machine; the writer performs the actions it returns).
///
/// Usage per line: `let actions = state.prepareWrite(byteCount: n, now: ms)`, perform the actions in order,
/// write, then `state.recordWrite(byteCount: written, now: ms)`.
public struct LogRotationState: Sendable {
    /// One rolled file and its size.
    public struct RolledFile: Hashable, Sendable {
        public var name: RolledLogFileName
        public var bytes: Int64

        public init(name: RolledLogFileName, bytes: Int64) {
            self.name = name
            self.bytes = bytes
        }
    }

    public let baseName: String
    public var policy: LogRotationPolicy
    /// Size of the active file.
    public private(set) var activeBytes: Int64
    /// The UTC hour the active file's content belongs to; nil while it is empty.
    public private(set) var activeEpochHour: Int64?
    /// Rolled files, oldest first.
    public private(set) var rolled: [RolledFile]

    /// - Parameters:
    ///   - activeBytes: size of an existing `<base>.log` (0 when absent).
    ///   - activeModifiedAt: its modification time (epoch ms), which decides its hour on an hourly roll.
    ///   - directoryEntries: names and sizes of files in the log directory; entries that are not rolled files of
    ///     `baseName` are ignored.
    public init(
        baseName: String, policy: LogRotationPolicy, activeBytes: Int64 = 0, activeModifiedAt: Int64? = nil,
        directoryEntries: [(name: String, bytes: Int64)] = []
    ) {
        self.baseName = baseName
        self.policy = policy
        self.activeBytes = max(0, activeBytes)
        self.activeEpochHour = activeBytes > 0 ? activeModifiedAt.map { UTCDateTime.floorDivMod($0, 3_600_000).quotient } : nil
        self.rolled = directoryEntries.compactMap { entry in
            RolledLogFileName(parsing: entry.name, baseName: baseName).map { RolledFile(name: $0, bytes: max(0, entry.bytes)) }
        }.sorted { $0.name < $1.name }
    }

    /// Sum of the rolled files' sizes.
    public var rolledBytes: Int64 { rolled.reduce(0) { $0 + $1.bytes } }

    /// Deletions needed to bring the rolled files under the total cap (run once at start: "cleaned on start").
    public mutating func enforceTotalCap() -> [LogRotationAction] {
        var actions: [LogRotationAction] = []
        var total = rolledBytes
        while total > policy.maxTotalBytes, !rolled.isEmpty {
            let oldest = rolled.removeFirst()
            total -= oldest.bytes
            actions.append(.delete(oldest.name))
        }
        return actions
    }

    /// Decides what must happen before `byteCount` bytes are appended at `now` (epoch ms).
    public mutating func prepareWrite(byteCount: Int, now: Int64) -> [LogRotationAction] {
        guard activeBytes > 0 else { return [] }
        let hourNow = UTCDateTime.floorDivMod(now, 3_600_000).quotient
        let rollHour: Int64
        if policy.rollsHourly, let activeHour = activeEpochHour, activeHour != hourNow {
            rollHour = activeHour
        } else if activeBytes + Int64(byteCount) > policy.maxFileBytes {
            rollHour = hourNow
        } else {
            return []
        }
        let index = rolled.filter { $0.name.epochHour == rollHour }.map { $0.name.index + 1 }.max() ?? 0
        let name = RolledLogFileName(baseName: baseName, epochHour: rollHour, index: index)
        rolled.append(RolledFile(name: name, bytes: activeBytes))
        rolled.sort { $0.name < $1.name }
        activeBytes = 0
        activeEpochHour = nil
        return [.rollActive(to: name)] + enforceTotalCap()
    }

    /// Records that `byteCount` bytes were appended to the active file at `now`.
    public mutating func recordWrite(byteCount: Int, now: Int64) {
        guard byteCount > 0 else { return }
        activeBytes += Int64(byteCount)
        if activeEpochHour == nil { activeEpochHour = UTCDateTime.floorDivMod(now, 3_600_000).quotient }
    }

    /// Records that the active file was found missing or replaced and a new empty one was started.
    public mutating func resetActive() {
        activeBytes = 0
        activeEpochHour = nil
    }
}

/// A log file's place among `logs get`'s inputs: files of one log (`greengrass.log` and its rolled
/// `greengrass_2024_01_02_03_0.log`, …) are read oldest first, one after the other, as one time-ordered stream.
public struct LogFileKey: Hashable, Sendable, Comparable {
    /// `greengrass`, or the component name.
    public var logName: String
    /// nil for the active file, which is the newest of its log.
    public var rolled: RolledLogFileName?

    /// Classifies a file name: `<log>.log` is active, `<log>_yyyy_MM_dd_HH_i.log` is rolled, anything else is nil.
    public init?(fileName: String) {
        guard fileName.hasSuffix(".log"), fileName.utf8.count > 4 else { return nil }
        let stem = fileName.dropLast(4)
        // The rolled suffix is the last five '_' fields: yyyy, MM, dd, HH, i.
        let fields = stem.split(separator: "_", omittingEmptySubsequences: false)
        if fields.count > 5 {
            let base = fields.dropLast(5).joined(separator: "_")
            if !base.isEmpty, let rolled = RolledLogFileName(parsing: fileName, baseName: base) {
                self.logName = base
                self.rolled = rolled
                return
            }
        }
        self.logName = String(stem)
        self.rolled = nil
    }

    /// The active file's name of this log.
    public var activeFileName: String { logName + ".log" }

    /// Rolled files by period and index, then the active file.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        switch (lhs.rolled, rhs.rolled) {
        case (let left?, let right?): left < right
        case (.some, nil): true
        default: false
        }
    }

    /// Whether `logs list-log-files` and `logs get -ld` consider the file at all (the AWS CLI: its name contains `log`).
    public static func isLogFileName(_ fileName: String) -> Bool { fileName.contains("log") }
}

/// The level names Greengrass writes between brackets (`[INFO]`) and accepts in `logging.level`.
public enum GreengrassLogLevel: String, CaseIterable, Comparable, Hashable, Sendable {
    case trace = "TRACE"
    case debug = "DEBUG"
    case info = "INFO"
    case warn = "WARN"
    case error = "ERROR"

    /// Parses a configuration value (`logging.level`) case-insensitively; `WARNING` is accepted as `WARN`.
    public init?(configValue: some StringProtocol) {
        let upper = configValue.uppercased()
        if let level = GreengrassLogLevel(rawValue: upper) {
            self = level
        } else if upper == "WARNING" {
            self = .warn
        } else {
            return nil
        }
    }

    /// Severity rank, TRACE lowest.
    public var severity: Int {
        switch self {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .warn: 3
        case .error: 4
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.severity < rhs.severity }
}

/// `logging.format`: how each event is written.
public enum LogLineFormat: String, CaseIterable, Hashable, Sendable {
    /// `2022-08-05T14:07:53.230Z [INFO] (Copier) name: body` (reference §4.1).
    case text = "TEXT"
    /// One JSON object per line (reference §4.2).
    case json = "JSON"

    /// Parses a configuration value case-insensitively.
    public init?(configValue: some StringProtocol) {
        self.init(rawValue: configValue.uppercased())
    }
}

/// `logging.outputType`: where events go.
public enum LogOutputType: String, CaseIterable, Hashable, Sendable {
    /// `<outputDirectory>/greengrass.log` and `<outputDirectory>/<Component>.log`, rotated.
    case file = "FILE"
    /// Everything to the process's standard output, never rotated.
    case console = "CONSOLE"

    /// Parses a configuration value case-insensitively.
    public init?(configValue: some StringProtocol) {
        self.init(rawValue: configValue.uppercased())
    }
}

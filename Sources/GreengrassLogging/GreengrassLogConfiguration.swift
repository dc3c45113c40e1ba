import GreengrassLogFormat

/// The nucleus's `logging` configuration (`services.aws.greengrass.Nucleus.configuration.logging`, reference §3).
public struct GreengrassLogConfiguration: Hashable, Sendable {
    /// How contexts are ordered inside `{…}` / `"contexts":{…}`.
    public enum ContextOrder: Hashable, Sendable {
        /// The order the Java nucleus prints (its `HashMap` iteration order), so lines match real Greengrass
        /// byte for byte, e.g. `{scriptName=…, serviceName=…, currentState=…}`.
        case greengrass
        /// Insertion order of the logger's metadata, then metadata provider values, then per-call metadata
        /// (each of the latter two sorted by key, since `Logger.Metadata` is an unordered dictionary).
        case insertion
    }

    /// `logging.outputDirectory`, default `<root>/logs`.
    public var outputDirectory: String
    /// `logging.level`, default INFO. Changeable at runtime with ``GreengrassLogFiles/setLevel(_:)``.
    public var level: GreengrassLogLevel
    /// `logging.format`, default TEXT.
    public var format: LogLineFormat
    /// `logging.outputType`, default FILE.
    public var outputType: LogOutputType
    /// `logging.fileSizeKB`, default 1024.
    public var fileSizeKB: Int
    /// `logging.totalLogsSizeKB`, default 10240 (per log name: greengrass.log and each component log separately).
    public var totalLogsSizeKB: Int
    /// Default ``ContextOrder/greengrass``.
    public var contextOrder: ContextOrder
    /// Messages longer than this many UTF-8 bytes are cut (and marked) so that one event can never be huge.
    public var maxMessageBytes: Int
    /// File mode of created log files (default 0o640; the directory is created 0o700).
    public var fileMode: UInt32
    /// Where CONSOLE output goes: standard output (1) like Greengrass, or another inherited descriptor.
    public var consoleDescriptor: Int32

    public init(
        outputDirectory: String,
        level: GreengrassLogLevel = .info,
        format: LogLineFormat = .text,
        outputType: LogOutputType = .file,
        fileSizeKB: Int = 1024,
        totalLogsSizeKB: Int = 10240,
        contextOrder: ContextOrder = .greengrass,
        maxMessageBytes: Int = 256 * 1024,
        fileMode: UInt32 = 0o640,
        consoleDescriptor: Int32 = 1
    ) {
        self.outputDirectory = outputDirectory
        self.level = level
        self.format = format
        self.outputType = outputType
        self.fileSizeKB = fileSizeKB
        self.totalLogsSizeKB = totalLogsSizeKB
        self.contextOrder = contextOrder
        self.maxMessageBytes = maxMessageBytes
        self.fileMode = fileMode
        self.consoleDescriptor = consoleDescriptor
    }

    /// The defaults for a Greengrass root: logs in `<rootPath>/logs`.
    public init(rootPath: String) {
        self.init(outputDirectory: rootPath.hasSuffix("/") ? rootPath + "logs" : rootPath + "/logs")
    }

    /// The rotation policy these settings imply.
    public var rotationPolicy: LogRotationPolicy {
        LogRotationPolicy(fileSizeKB: fileSizeKB, totalLogsSizeKB: totalLogsSizeKB)
    }
}

/// A `logging` configuration value that cannot be used; the message names the key, the value and what is allowed.
public struct GreengrassLogConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var key: String
    public var value: String
    public var expected: String

    public var description: String {
        "logging.\(key): '\(value.prefix(64))' is not valid; expected \(expected)"
    }
}

extension GreengrassLogConfiguration {
    /// Applies `services.aws.greengrass.Nucleus.configuration.logging` values given as strings (numbers as their
    /// decimal text). Keys: `level`, `format`, `outputType`, `fileSizeKB`, `totalLogsSizeKB`, `outputDirectory`;
    /// other keys are ignored, like the Java nucleus does. Nothing is changed when any value is invalid.
    public mutating func apply(_ values: [String: String]) throws(GreengrassLogConfigurationError) {
        var updated = self
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            let trimmed = value.trimmingSpaces()
            switch key {
            case "level":
                guard let level = GreengrassLogLevel(configValue: trimmed) else {
                    throw GreengrassLogConfigurationError(key: key, value: value, expected: "one of TRACE, DEBUG, INFO, WARN, ERROR")
                }
                updated.level = level
            case "format":
                guard let format = LogLineFormat(configValue: trimmed) else {
                    throw GreengrassLogConfigurationError(key: key, value: value, expected: "TEXT or JSON")
                }
                updated.format = format
            case "outputType":
                guard let outputType = LogOutputType(configValue: trimmed) else {
                    throw GreengrassLogConfigurationError(key: key, value: value, expected: "FILE or CONSOLE")
                }
                updated.outputType = outputType
            case "fileSizeKB", "totalLogsSizeKB":
                // Bounded so that KB × 1024 cannot overflow.
                guard let kilobytes = Int(trimmed), (1...(1 << 40)).contains(kilobytes) else {
                    throw GreengrassLogConfigurationError(key: key, value: value, expected: "a positive number of kilobytes")
                }
                if key == "fileSizeKB" { updated.fileSizeKB = kilobytes } else { updated.totalLogsSizeKB = kilobytes }
            case "outputDirectory":
                guard !trimmed.isEmpty, !trimmed.contains("\0") else {
                    throw GreengrassLogConfigurationError(key: key, value: value, expected: "a directory path")
                }
                updated.outputDirectory = trimmed
            default:
                continue
            }
        }
        self = updated
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

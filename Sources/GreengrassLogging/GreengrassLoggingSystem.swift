import GreengrassLogFormat
import Logging
import Synchronization

/// Process-wide swift-log bootstrap for the nucleus executable.
///
/// Call once from `main`, before any `Logger(label:)` is created:
/// ```swift
/// let logs = GreengrassLogFiles(configuration: config)
/// GreengrassLoggingSystem.bootstrap(logs)          // every Logger(label:) → greengrass.log
/// ```
/// Every `Logger(label:)` made afterwards (including those inside libraries such as the MQTT client) writes to
/// `greengrass.log` with the label as logger name. Component logs are not routed by label: get them from
/// ``GreengrassLogFiles/componentLogger(name:)``.
///
/// swift-log's `LoggingSystem.bootstrap` traps when called twice; this wrapper makes a second call a no-op that
/// returns `false`. Tests should not bootstrap at all: they build loggers from a ``GreengrassLogFiles`` directly.
public enum GreengrassLoggingSystem {
    private static let bootstrapped = Atomic<Bool>(false)

    /// Routes every `Logger(label:)` to `files`' `greengrass.log` (thread name `main`).
    /// - Returns: `true` if this call bootstrapped swift-log, `false` if it had already been done.
    @discardableResult
    public static func bootstrap(_ files: GreengrassLogFiles, metadataProvider: Logger.MetadataProvider? = nil) -> Bool {
        guard bootstrapped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return false }
        LoggingSystem.bootstrap(
            { label, provider in files.nucleusLogHandler(label: label, metadataProvider: provider) },
            metadataProvider: metadataProvider)
        return true
    }
}

import GreengrassLogFormat
import Logging

/// A swift-log `LogHandler` that writes Greengrass-format lines through a ``GreengrassLogFiles`` sink.
///
/// Metadata conventions:
/// - the logger label is the Greengrass logger name;
/// - metadata key `eventType` is the event type (`stdout`, `service-set-state`, …);
/// - metadata key `thread` is the thread name (default given at creation: `main`, `<Component>-lifecycle`, …);
/// - every other key is a context, in the configured ``GreengrassLogConfiguration/ContextOrder``.
///
/// `logLevel` follows ``GreengrassLogFiles/level`` (changeable at runtime) until this handler's level is set
/// explicitly, which then pins it for this logger only.
public struct GreengrassLogHandler: LogHandler {
    /// Metadata key whose value is the event type instead of a context.
    public static let eventTypeKey = "eventType"
    /// Metadata key whose value is the thread name instead of a context.
    public static let threadKey = "thread"

    let files: GreengrassLogFiles
    let sink: LogSink
    /// The Greengrass logger name.
    public let loggerName: String
    /// Thread name used when no `thread` metadata is present.
    public let defaultThread: String
    public var metadataProvider: Logger.MetadataProvider?

    private var storedMetadata: Logger.Metadata = [:]
    /// Keys of ``metadata`` in insertion order (a dictionary has none, and contexts should read stably).
    private var keyOrder: [String] = []
    private var pinnedLevel: Logger.Level?

    init(
        files: GreengrassLogFiles, sink: LogSink, loggerName: String, defaultThread: String,
        metadataProvider: Logger.MetadataProvider?
    ) {
        self.files = files
        self.sink = sink
        self.loggerName = loggerName
        self.defaultThread = defaultThread
        self.metadataProvider = metadataProvider
    }

    public var logLevel: Logger.Level {
        get { pinnedLevel ?? files.swiftLogLevel }
        set { pinnedLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { storedMetadata }
        set {
            // Keep the order of surviving keys; new keys are appended sorted (the dictionary gives no order).
            keyOrder = keyOrder.filter { newValue[$0] != nil } + newValue.keys.filter { storedMetadata[$0] == nil }.sorted()
            storedMetadata = newValue
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { storedMetadata[key] }
        set {
            if newValue == nil {
                keyOrder.removeAll { $0 == key }
            } else if storedMetadata[key] == nil {
                keyOrder.append(key)
            }
            storedMetadata[key] = newValue
        }
    }

    public func log(event: LogEvent) {
        var eventType: String?
        var thread = defaultThread
        var contexts: [GreengrassLogContext] = []
        contexts.reserveCapacity(keyOrder.count + (event.metadata?.count ?? 0))

        func take(_ key: String, _ value: Logger.MetadataValue) {
            switch key {
            case Self.eventTypeKey: eventType = Self.render(value)
            case Self.threadKey: thread = Self.render(value)
            default: contexts.append(GreengrassLogContext(key, Self.render(value)))
            }
        }
        for key in keyOrder {
            if let value = storedMetadata[key] { take(key, value) }
        }
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            for (key, value) in provided.sorted(by: { $0.key < $1.key }) { take(key, value) }
        }
        if let perCall = event.metadata, !perCall.isEmpty {
            for (key, value) in perCall.sorted(by: { $0.key < $1.key }) { take(key, value) }
        }
        if let error = event.error {
            contexts.append(GreengrassLogContext("error", String(describing: error)))
        }
        switch files.configuration.contextOrder {
        case .greengrass: contexts = GreengrassLogContext.javaHashMapOrdered(contexts)
        case .insertion: contexts = GreengrassLogContext.deduplicated(contexts)
        }

        let line = GreengrassLogLine(
            timestamp: files.now(), level: GreengrassLogLevel(event.level), thread: thread, loggerName: loggerName,
            eventType: eventType, message: Self.bounded(event.message.description, files.configuration.maxMessageBytes),
            contexts: contexts)
        files.emit(line, to: sink)
    }

    /// Cuts `message` to at most `limit` UTF-8 bytes (on a character boundary) and says how much was dropped.
    static func bounded(_ message: String, _ limit: Int) -> String {
        let size = message.utf8.count
        guard size > limit else { return message }
        var end = message.utf8.index(message.utf8.startIndex, offsetBy: max(0, limit))
        while end > message.utf8.startIndex, end.samePosition(in: message.unicodeScalars) == nil {
            end = message.utf8.index(before: end)
        }
        let kept = String(decoding: message.utf8[..<end], as: UTF8.self)
        return kept + "…(\(size - kept.utf8.count) bytes truncated)"
    }

    /// Java-like rendering of metadata values: arrays `[a, b]`, dictionaries `{k=v}` sorted by key.
    static func render(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): "[" + values.map(render).joined(separator: ", ") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.sorted { $0.key < $1.key }.map { "\($0.key)=\(render($0.value))" }.joined(separator: ", ") + "}"
        }
    }
}

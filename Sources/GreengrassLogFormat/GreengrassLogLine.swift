import GreengrassJSON

/// One key/value context of a log event; rendered `key=value` in TEXT and `"key":"value"` in JSON.
public struct GreengrassLogContext: Hashable, Sendable, CustomStringConvertible {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }

    public var description: String { "\(key)=\(value)" }
}

/// One Greengrass log event, as the Java nucleus's `GreengrassLogMessage` models it.
///
/// Pure value: ``renderText()`` and ``renderJSON()`` produce exactly one line (no trailing newline); the
/// I/O layer appends `\n` and writes it.
public struct GreengrassLogLine: Hashable, Sendable {
    /// Milliseconds since the Unix epoch.
    public var timestamp: Int64
    public var level: GreengrassLogLevel
    /// The Java thread name: `main`, `Copier` (component output), `pool-2-thread-45`, `<Component>-lifecycle`, ….
    public var thread: String
    /// The logger name: a component name in a component log, a class-like name in `greengrass.log`.
    public var loggerName: String
    /// Machine-readable event name, e.g. `stdout`, `service-set-state`, `shell-runner-start`.
    public var eventType: String?
    /// Free-form text.
    public var message: String?
    /// Ordered contexts; rendered in this order (see ``GreengrassLogContext/javaHashMapOrdered(_:)`` for the order
    /// the Java nucleus would print).
    public var contexts: [GreengrassLogContext]

    public init(
        timestamp: Int64,
        level: GreengrassLogLevel,
        thread: String,
        loggerName: String,
        eventType: String? = nil,
        message: String? = nil,
        contexts: [GreengrassLogContext] = []
    ) {
        self.timestamp = timestamp
        self.level = level
        self.thread = thread
        self.loggerName = loggerName
        self.eventType = eventType
        self.message = message
        self.contexts = contexts
    }

    // MARK: TEXT

    /// The TEXT rendering (reference §4.1):
    /// `<ISO_INSTANT> [<LEVEL>] (<thread>) <loggerName>: <body>` where body joins the non-empty parts of
    /// `[eventType, message, {contexts}]` with `". "`, and the context map is always present (`{}` when empty).
    ///
    /// Unlike Java, carriage returns and line feeds inside any field are written as the two characters `\r` / `\n`,
    /// so that one event is always one line (`tail`, `grep` and our parser rely on it).
    public func renderText() -> String {
        var out = ""
        out.reserveCapacity(64 + thread.utf8.count + loggerName.utf8.count + (message?.utf8.count ?? 0))
        appendText(to: &out)
        return out
    }

    /// Appends ``renderText()`` to `out` (lets the writer reuse one buffer).
    public func appendText(to out: inout String) {
        ISOInstant.append(epochMilliseconds: timestamp, to: &out)
        out.append(" [")
        out.append(level.rawValue)
        out.append("] (")
        Self.appendSingleLine(thread, to: &out)
        out.append(") ")
        Self.appendSingleLine(loggerName, to: &out)
        out.append(": ")
        if let eventType, !eventType.isEmpty {
            Self.appendSingleLine(eventType, to: &out)
            out.append(". ")
        }
        if let message, !message.isEmpty {
            Self.appendSingleLine(message, to: &out)
            out.append(". ")
        }
        out.append("{")
        for (index, context) in contexts.enumerated() {
            if index > 0 { out.append(", ") }
            Self.appendSingleLine(context.key, to: &out)
            out.append("=")
            Self.appendSingleLine(context.value, to: &out)
        }
        out.append("}")
    }

    /// Appends `text`, replacing CR and LF by the escapes `\r` and `\n`.
    static func appendSingleLine(_ text: String, to out: inout String) {
        let needsEscaping = text.utf8.contains { $0 == 0x0A || $0 == 0x0D }
        guard needsEscaping else {
            out.append(text)
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            default: out.unicodeScalars.append(scalar)
            }
        }
    }

    // MARK: JSON

    /// The JSON rendering (reference §4.2), with the Java nucleus's field order:
    /// `{"thread":…,"level":…,"eventType":null|…,"message":…,"contexts":{…},"loggerName":…,"timestamp":ms,"cause":null}`.
    /// Strings are escaped like Jackson: `"`, `\`, and control characters (`\n`, `\t`, … or `\u00XX`).
    public func renderJSON() -> String {
        var out = ""
        out.reserveCapacity(128 + thread.utf8.count + loggerName.utf8.count + (message?.utf8.count ?? 0))
        appendJSON(to: &out)
        return out
    }

    /// Appends ``renderJSON()`` to `out`.
    public func appendJSON(to out: inout String) {
        out.append("{\"thread\":")
        JSONStringLiteral.append(thread, to: &out)
        out.append(",\"level\":\"")
        out.append(level.rawValue)
        out.append("\",\"eventType\":")
        appendOptionalJSON(eventType, to: &out)
        out.append(",\"message\":")
        appendOptionalJSON(message, to: &out)
        out.append(",\"contexts\":{")
        for (index, context) in contexts.enumerated() {
            if index > 0 { out.append(",") }
            JSONStringLiteral.append(context.key, to: &out)
            out.append(":")
            JSONStringLiteral.append(context.value, to: &out)
        }
        out.append("},\"loggerName\":")
        JSONStringLiteral.append(loggerName, to: &out)
        out.append(",\"timestamp\":")
        out.append(String(timestamp))
        out.append(",\"cause\":null}")
    }

    private func appendOptionalJSON(_ text: String?, to out: inout String) {
        if let text {
            JSONStringLiteral.append(text, to: &out)
        } else {
            out.append("null")
        }
    }
}

extension GreengrassLogContext {
    /// Reorders `contexts` the way the Java nucleus prints them.
    ///
    /// Why: Greengrass renders contexts through a `java.util.HashMap` (`Map.toString`), so real lines read
    /// `{scriptName=…, serviceName=…, currentState=…}` even though `serviceName` was added first. Users and tools
    /// compare our files to real ones; emulating the order makes them identical. The emulation sorts by HashMap
    /// bucket (`String.hashCode` of the UTF-16 key, spread `h ^ (h >>> 16)`, masked by the table size: 16, doubled
    /// while the count exceeds 3/4 of it), keeping insertion order inside a bucket. It reproduces every real line
    /// quoted in the reference; the one approximation is the order of two keys sharing a bucket, which Java's
    /// intermediate `ConcurrentHashMap` can occasionally reverse when it resizes.
    /// Later duplicates of a key replace the earlier value in the earlier position (Java `put` semantics).
    public static func javaHashMapOrdered(_ contexts: [GreengrassLogContext]) -> [GreengrassLogContext] {
        let unique = deduplicated(contexts)
        guard unique.count > 1 else { return unique }
        var capacity = 16
        while unique.count > capacity / 4 * 3 { capacity *= 2 }
        let mask = UInt32(capacity - 1)
        return unique.enumerated()
            .map { (bucket: javaSpreadHash($0.element.key) & mask, offset: $0.offset, context: $0.element) }
            .sorted { ($0.bucket, $0.offset) < ($1.bucket, $1.offset) }
            .map(\.context)
    }

    /// Keeps the first position of each key with the last value given for it.
    public static func deduplicated(_ contexts: [GreengrassLogContext]) -> [GreengrassLogContext] {
        var result: [GreengrassLogContext] = []
        result.reserveCapacity(contexts.count)
        // Events carry a handful of contexts: a linear scan beats hashing; index by key only for many.
        var positions: [String: Int]? = contexts.count > 16 ? [:] : nil
        for context in contexts {
            let existing = positions.map { $0[context.key] } ?? result.firstIndex { $0.key == context.key }
            if let existing {
                result[existing].value = context.value
            } else {
                positions?[context.key] = result.count
                result.append(context)
            }
        }
        return result
    }

    /// Java `HashMap.hash(key)`: `String.hashCode()` with the high half folded into the low half.
    static func javaSpreadHash(_ key: String) -> UInt32 {
        var hash: UInt32 = 0
        for unit in key.utf16 {
            hash = hash &* 31 &+ UInt32(unit)
        }
        return hash ^ (hash >> 16)
    }
}

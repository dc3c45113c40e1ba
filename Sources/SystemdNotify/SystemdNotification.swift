/// One state change the nucleus reports to systemd, as the text of a single `sd_notify(3)` datagram.
///
/// Pure value: building the text never touches a socket, so every message is unit-tested byte for byte.
public enum SystemdNotification: Sendable, Hashable {
    /// Start-up finished: `READY=1` plus a `STATUS=` line.
    case ready(status: String)
    /// A free-form `STATUS=` line shown by `systemctl status`.
    case status(String)
    /// A configuration reload began: `RELOADING=1` with the `MONOTONIC_USEC=` timestamp systemd 253+ requires
    /// for `Type=notify-reload` (older versions ignore the extra field).
    case reloading(monotonicMicroseconds: UInt64)
    /// Shutdown began: `STOPPING=1` plus a `STATUS=` line.
    case stopping(status: String)
    /// A watchdog keep-alive: `WATCHDOG=1`.
    case watchdog

    /// The longest `STATUS=` text we send; longer text is cut (systemd shows one line anyway).
    public static let maximumStatusBytes = 1024

    /// The datagram text: newline-separated `KEY=VALUE` assignments, no trailing newline.
    public var datagram: String {
        switch self {
        case .ready(let status):
            return "READY=1\nSTATUS=" + Self.sanitized(status)
        case .status(let text):
            return "STATUS=" + Self.sanitized(text)
        case .reloading(let microseconds):
            return "RELOADING=1\nMONOTONIC_USEC=\(microseconds)"
        case .stopping(let status):
            return "STOPPING=1\nSTATUS=" + Self.sanitized(status)
        case .watchdog:
            return "WATCHDOG=1"
        }
    }

    /// Makes status text safe to embed as one assignment.
    ///
    /// A newline would start a new assignment (a status saying "x\nREADY=1" must not declare readiness), and a NUL
    /// would end the C string early, so both become spaces; the text is cut at ``maximumStatusBytes`` on a
    /// character boundary.
    static func sanitized(_ text: String) -> String {
        var result = ""
        var bytes = 0
        for character in text {
            let safe: Character = (character.isNewline || character == "\0") ? " " : character
            let size = safe.utf8.count
            guard bytes + size <= maximumStatusBytes else { break }
            result.append(safe)
            bytes += size
        }
        return result
    }
}

/// What systemd asked of this process, read from the environment it set (`sd_notify(3)`, `sd_watchdog_enabled(3)`).
public struct SystemdEnvironment: Sendable, Hashable {
    /// Where notifications go: a file-system path (`/run/systemd/notify`) or an abstract socket (`@name`);
    /// nil when systemd is not listening or the value is unusable.
    public var notifySocket: String?
    /// The watchdog interval (`WATCHDOG_USEC`), nil when the watchdog is off or meant for another process.
    public var watchdogInterval: Duration?

    /// `sun_path` holds 108 bytes including the terminating NUL.
    static let maximumSocketPathBytes = 107

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`.
    ///
    /// - Parameters:
    ///   - environment: the variables to read (hostile text: anything malformed disables the feature it controls).
    ///   - processID: this process's id; a `WATCHDOG_PID` naming another process (a parent that forgot to unset
    ///     it) means the watchdog is not ours.
    public init(environment: [String: String], processID: Int32) {
        notifySocket = environment["NOTIFY_SOCKET"].flatMap(Self.validSocket)
        watchdogInterval = Self.watchdog(environment: environment, processID: processID)
    }

    static func validSocket(_ value: String) -> String? {
        // systemd only uses absolute paths and abstract names ('@' stands for the leading NUL).
        guard value.hasPrefix("/") || value.hasPrefix("@"), value.utf8.count > 1,
            value.utf8.count <= maximumSocketPathBytes, !value.utf8.contains(0)
        else { return nil }
        return value
    }

    static func watchdog(environment: [String: String], processID: Int32) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(decimal: text), microseconds > 0,
            microseconds <= UInt64(Int64.max)
        else { return nil }
        if let pidText = environment["WATCHDOG_PID"] {
            guard let pid = UInt64(decimal: pidText), pid == UInt64(processID) else { return nil }
        }
        return .microseconds(Int64(microseconds))
    }
}

extension UInt64 {
    /// Plain decimal digits only: `UInt64("+5")` would accept a sign systemd never writes.
    init?(decimal text: String) {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        self.init(text)
    }
}

import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

/// Why a notification could not be delivered.
public struct SystemdNotifyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The socket the datagram was meant for.
    public var socket: String
    /// The `errno` value reported by the failing call.
    public var code: Int32
    /// The call that failed (`socket`, `sendto`).
    public var operation: String

    public var description: String {
        "\(operation) to NOTIFY_SOCKET \(socket) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// Tells systemd what the nucleus is doing (`Type=notify` services) and keeps its watchdog fed.
///
/// Every call is a silent no-op when `NOTIFY_SOCKET` is unset, so the nucleus runs the same outside systemd.
/// Each notification is one datagram to `NOTIFY_SOCKET`, which is all `sd_notify(3)` does for the socket kinds
/// systemd hands a service (a path or an abstract name); sending it ourselves keeps libsystemd and the six
/// libraries it loads out of the process (0.6 MB resident, issue 16). The socket comes from the environment given,
/// so tests bind their own socket without touching the process-wide environment.
public final class SystemdNotifier: Sendable {
    /// Where datagrams go; nil when systemd is not listening.
    private let notifySocket: String?
    private let configuration: SystemdEnvironment

    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC` (and `WATCHDOG_PID`) from the environment; when `NOTIFY_SOCKET`
    /// is unset every call is a silent no-op.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        configuration = SystemdEnvironment(environment: environment, processID: getpid())
        notifySocket = configuration.notifySocket
    }

    /// Whether systemd listens for notifications (a usable `NOTIFY_SOCKET` was given).
    public var isEnabled: Bool { notifySocket != nil }

    /// The watchdog interval systemd asked for (`WATCHDOG_USEC`), nil when none.
    public var watchdogInterval: Duration? { configuration.watchdogInterval }

    /// How often ``runWatchdog(isAlive:)`` pings: half the interval, as `sd_watchdog_enabled(3)` recommends.
    public var watchdogPingPeriod: Duration? { watchdogInterval.map { $0 / 2 } }

    /// `READY=1` with a `STATUS=` line: send once the IPC socket accepts connections and components started.
    public func ready(status: String) { try? send(.ready(status: status)) }

    /// A `STATUS=` line saying what the nucleus is doing.
    public func status(_ text: String) { try? send(.status(text)) }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (now, `CLOCK_MONOTONIC`); follow with ``ready(status:)`` when done.
    public func reloading() { try? send(.reloading(monotonicMicroseconds: Self.monotonicMicroseconds())) }

    /// `STOPPING=1` with a `STATUS=` line: send when graceful shutdown begins.
    public func stopping(status: String) { try? send(.stopping(status: status)) }

    /// Sends one notification; does nothing when disabled.
    ///
    /// - Throws: ``SystemdNotifyError`` when the socket refused the datagram (systemd gone, wrong path).
    public func send(_ notification: SystemdNotification) throws(SystemdNotifyError) {
        guard let notifySocket else { return }
        try Self.sendDatagram(notification.datagram, to: notifySocket)
    }

    /// Sends `WATCHDOG=1` every interval/2 while `isAlive()` returns true; stops pinging (so systemd kills and
    /// restarts us) as soon as it returns false; returns when the task is cancelled.
    ///
    /// `isAlive` must prove the event loops and the supervisor respond (for example a round trip through an event
    /// loop with a deadline). A probe that has not answered within one ping period counts as false, so a probe
    /// stuck on a wedged loop also stops the pings. Without a watchdog this just waits for cancellation.
    public func runWatchdog(isAlive: @escaping @Sendable () async -> Bool) async {
        await runWatchdog(clock: ContinuousClock(), isAlive: isAlive)
    }

    /// ``runWatchdog(isAlive:)`` on an explicit clock.
    public func runWatchdog<C: Clock>(clock: C, isAlive: @escaping @Sendable () async -> Bool) async
    where C.Duration == Duration {
        guard isEnabled, let period = watchdogPingPeriod else { return await Self.waitForCancellation() }
        var next = clock.now
        while !Task.isCancelled {
            let alive = await Self.probe(isAlive, within: period, clock: clock)
            guard !Task.isCancelled else { return }
            guard alive else {
                status("Watchdog: liveness check failed; no more keep-alive pings")
                return await Self.waitForCancellation()
            }
            try? send(.watchdog)
            // Fixed-rate schedule; a slow probe makes the next ping follow at once rather than drift later.
            next = next.advanced(by: period)
            if next < clock.now { next = clock.now }
            do { try await clock.sleep(until: next, tolerance: nil) } catch { return }
        }
    }

    // MARK: - I/O helpers

    /// Runs `isAlive` with a deadline; false when it answers false, misses the deadline or the caller is cancelled.
    ///
    /// The probe runs in its own task and is not awaited after the deadline: a probe stuck on a wedged loop must
    /// neither keep the pings going nor keep ``runWatchdog(clock:isAlive:)`` from returning on cancellation.
    static func probe<C: Clock>(
        _ isAlive: @escaping @Sendable () async -> Bool, within limit: Duration, clock: C
    ) async -> Bool where C.Duration == Duration {
        let answer = FirstAnswer()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                answer.install(continuation)
                let probe = Task { answer.resolve(await isAlive()) }
                let timer = Task {
                    try? await clock.sleep(for: limit)
                    answer.resolve(false)
                }
                answer.onResolved {
                    timer.cancel()
                    probe.cancel()
                }
            }
        } onCancel: {
            answer.resolve(false)
        }
    }

    private static func waitForCancellation() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    /// Sends `text` as one datagram to an `AF_UNIX` socket path (`@name` for the abstract namespace), as
    /// `sd_notify` does.
    static func sendDatagram(_ text: String, to socketPath: String) throws(SystemdNotifyError) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemdNotifyError(socket: socketPath, code: errno, operation: "socket") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            throw SystemdNotifyError(socket: socketPath, code: ENAMETOOLONG, operation: "sendto")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
        }
        // Abstract names are length-delimited, so the address ends right after the name; paths include the NUL.
        let length = MemoryLayout<sa_family_t>.size + pathBytes.count + (abstract ? 0 : 1)
        let payload = Array(text.utf8)
        let sent = payload.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, socklen_t(length))
                }
            }
        }
        guard sent >= 0 else { throw SystemdNotifyError(socket: socketPath, code: errno, operation: "sendto") }
    }
}

/// Resumes one continuation with the first answer given, from whichever task gives it first.
private final class FirstAnswer: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Bool, Never>?
        var answer: Bool?
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<Bool, Never>) {
        let early = state.withLock { state -> Bool? in
            if let answer = state.answer { return answer }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    /// Registers work to run once an answer exists (immediately if it already does).
    func onResolved(_ cleanup: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.answer != nil { return true }
            state.cleanup = cleanup
            return false
        }
        if runNow { cleanup() }
    }

    func resolve(_ answer: Bool) {
        let (continuation, cleanup) = state.withLock { state -> (CheckedContinuation<Bool, Never>?, (@Sendable () -> Void)?) in
            guard state.answer == nil else { return (nil, nil) }
            state.answer = answer
            defer {
                state.continuation = nil
                state.cleanup = nil
            }
            return (state.continuation, state.cleanup)
        }
        continuation?.resume(returning: answer)
        cleanup?()
    }
}

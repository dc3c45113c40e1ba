import GreengrassSupervisor
import NIOCore
import NIOPosix
import ServiceLifecycle
import SystemdNotify

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Keeps systemd informed: watchdog pings while the event loops and the supervisor respond, `STOPPING=1` as soon
/// as graceful shutdown begins. Listed last in the service group, so it is the first to hear of a shutdown.
/// Silent when `NOTIFY_SOCKET` is unset.
struct SystemdService: Service {
    let notifier: SystemdNotifier
    let supervisor: Supervisor<ContinuousClock>
    let eventLoops: any EventLoopGroup

    func run() async throws {
        if let wedgeAfter = Self.testWedgeDelay() { wedgeEventLoopForTesting(after: wedgeAfter) }
        await cancelWhenGracefulShutdown {
            await notifier.runWatchdog { await isAlive() }
        }
        notifier.stopping(status: "Stopping components")
    }

    /// Alive = every event loop runs a task, and the supervisor's state lock can be taken.
    func isAlive() async -> Bool {
        for loop in eventLoops.makeIterator() {
            guard (try? await loop.submit({ true }).get()) == true else { return false }
        }
        _ = supervisor.snapshot()
        return true
    }

    /// Test-only: `GG_TEST_WEDGE_AFTER_MS=N` blocks one event loop forever after N ms, so tests can check that
    /// the watchdog pings stop (and systemd would restart the nucleus). Never set in production.
    static func testWedgeDelay() -> Duration? {
        guard let text = ProcessInfo.processInfo.environment["GG_TEST_WEDGE_AFTER_MS"], let milliseconds = Int64(text) else {
            return nil
        }
        return .milliseconds(milliseconds)
    }

    func wedgeEventLoopForTesting(after delay: Duration) {
        let milliseconds = delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000
        eventLoops.next().scheduleTask(in: .milliseconds(milliseconds)) {
            while true { sleep(3600) }
        }
    }
}

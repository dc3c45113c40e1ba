import GreengrassSupervisor
import NIOCore
import ServiceLifecycle
import SystemdNotify
import UnixSignals

/// Keeps systemd informed: watchdog pings while the event loops and the supervisor respond, `STOPPING=1` as soon
/// as graceful shutdown begins. Listed last in the service group, so it is the first to hear of a shutdown.
/// Silent when `NOTIFY_SOCKET` is unset.
struct SystemdService: Service {
    let notifier: SystemdNotifier
    let supervisor: Supervisor<ContinuousClock>
    let eventLoops: any EventLoopGroup
    /// Whether this shutdown is a restart in place (Bootstrap): then systemd hears RELOADING=1, not STOPPING=1 —
    /// after STOPPING=1 it would wait for the main process to exit, which an exec never does, and kill it.
    let isRestarting: @Sendable () async -> Bool

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await notifier.runWatchdog { await isAlive() }
        }
        if await isRestarting() {
            notifier.reloading()
            notifier.status("Restarting the nucleus for a deployment's Bootstrap")
        } else {
            notifier.stopping(status: "Stopping components")
        }
    }

    /// Alive = every event loop runs a task, and the supervisor's state lock can be taken.
    func isAlive() async -> Bool {
        for loop in eventLoops.makeIterator() {
            guard (try? await loop.submit({ true }).get()) == true else { return false }
        }
        _ = supervisor.snapshot()
        return true
    }
}

/// SIGHUP reloads the configuration, framed by `RELOADING=1` and `READY=1` (with the outcome as `STATUS=`), as
/// `systemctl reload greengrass` expects of a `Type=notify` service.
struct ConfigurationReloadService: Service {
    let notifier: SystemdNotifier
    let reload: @Sendable () async -> String

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                notifier.reloading()
                let status = await reload()
                notifier.ready(status: status)
            }
        }
    }
}

import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The process's termination signals before the service group handles them: a start-up step of the process entry
/// point only (a nucleus a test runs in-process leaves the test process's signals alone).
enum TerminationSignals {
    /// Makes SIGTERM/SIGINT/SIGHUP land somewhere from the very start of the process.
    static func prepare() {
        unblock()
        EarlyTermination.install()
    }

    /// A parent may start us with SIGTERM/SIGINT/SIGHUP blocked (children of `Foundation.Process` inherit the
    /// spawning Dispatch thread's mask); then `systemctl stop` or a supervisor's SIGTERM would never reach the
    /// ServiceGroup. Unblock them on this thread so the signals have somewhere to land.
    static func unblock() {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }
}

/// SIGTERM/SIGINT that arrive before the service group installs its signal handling (store opening, socket bind)
/// would otherwise kill the process with the default disposition; record them instead and stop cleanly.
enum EarlyTermination {
    private static let flag = Atomic<Bool>(false)

    static var requested: Bool { flag.load(ordering: .relaxed) }

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in EarlyTermination.flag.store(true, ordering: .relaxed) }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
        // SIGHUP means "reload" once the service group runs; until then it must not kill the process.
        signal(SIGHUP, SIG_IGN)
    }
}

import Logging
import ProcessMemory
import ServiceLifecycle
import Synchronization

/// After start-up, after each deployment and once the upstream connection is up (and again once each has settled,
/// see `IdlePageReturns`), and once traffic that mapped code back has gone quiet: the code pages that work ran, and
/// the kernel mapped around it, go back to the kernel, so the idle nucleus holds what idle runs (issue 16;
/// `ProcessMemory.IdlePages` says why it is safe). As a service, it samples the process while the nucleus runs.
struct IdleMemory: Service {
    private let returns: IdlePageReturns?
    /// How often the process is sampled for quiet after growth: one small /proc read and a clock read.
    static let samplingPeriod: Duration = .seconds(10)

    init(pages: IdlePages?, logger: Logger) {
        let firstLogged = Atomic<Bool>(false)
        returns = pages.map { pages in
            IdlePageReturns(sample: { ProcessActivitySample.current() }) { reason in
                let returned = pages.returnToKernel()
                // The first return at INFO (start-up, or the upstream connection when it comes up first), so an
                // operator sees it happen; the later ones at DEBUG.
                let first = !firstLogged.exchange(true, ordering: .relaxed)
                logger.log(
                    level: first ? .info : .debug, "Returned mapped code pages no longer in use",
                    metadata: [
                        "eventType": "idle-pages-returned", "reason": "\(reason)", "mappings": "\(returned.mappings)",
                        "residentKB": "\(returned.residentKB)", "heapKB": "\(returned.heapKB)",
                    ])
            }
        }
    }

    /// Start-up, a deployment or an upstream connection has just finished its work.
    func workEnded() { returns?.workEnded() }

    func run() async throws {
        guard let returns else { return try await gracefulShutdown() }
        await cancelWhenGracefulShutdown { await returns.watchForQuietAfterGrowth(every: Self.samplingPeriod) }
    }
}

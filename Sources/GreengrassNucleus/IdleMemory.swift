import Logging
import ProcessMemory
import Synchronization

/// After start-up, after each deployment and once the upstream connection is up (and again once each has settled,
/// see `IdlePageReturns`): the code pages that work ran, and the kernel mapped around it, go back to the kernel, so
/// the idle nucleus holds what idle runs (issue 16; `ProcessMemory.IdlePages` says why it is safe).
struct IdleMemory: Sendable {
    private let returns: IdlePageReturns?

    init(pages: IdlePages?, logger: Logger) {
        let firstLogged = Atomic<Bool>(false)
        returns = pages.map { pages in
            IdlePageReturns {
                let returned = pages.returnToKernel()
                // The first return at INFO (start-up, or the upstream connection when it comes up first), so an
                // operator sees it happen; the later ones at DEBUG.
                let first = !firstLogged.exchange(true, ordering: .relaxed)
                logger.log(
                    level: first ? .info : .debug, "Returned mapped code pages no longer in use",
                    metadata: ["eventType": "idle-pages-returned", "mappings": "\(returned.mappings)", "residentKB": "\(returned.residentKB)"])
            }
        }
    }

    /// Start-up, a deployment or an upstream connection has just finished its work.
    func workEnded() { returns?.workEnded() }
}

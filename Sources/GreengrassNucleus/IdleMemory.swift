import Logging
import ProcessMemory

/// After start-up, after each deployment and once the upstream connection is up: the code pages that work ran (and the kernel mapped around it) go back
/// to the kernel, so the idle nucleus holds what idle runs (issue 16; `ProcessMemory.IdlePages` says why it is safe).
struct IdleMemory: Sendable {
    let pages: IdlePages?
    let logger: Logger

    /// After start-up (logged at INFO, once), after each deployment and each upstream connection (DEBUG).
    func returnPages(after work: Work) {
        guard let pages else { return }
        let returned = pages.returnToKernel()
        logger.log(
            level: work == .startup ? .info : .debug, "Returned mapped code pages no longer in use",
            metadata: ["eventType": "idle-pages-returned", "after": "\(work)", "mappings": "\(returned.mappings)", "residentKB": "\(returned.residentKB)"])
    }

    enum Work: Sendable { case startup, deployment, upstreamConnection }
}

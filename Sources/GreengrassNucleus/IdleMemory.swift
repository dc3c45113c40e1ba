import Logging
import ProcessMemory

/// After start-up and after each deployment: the code pages that work ran (and the kernel mapped around it) go back
/// to the kernel, so the idle nucleus holds what idle runs (issue 16; `ProcessMemory.IdlePages` says why it is safe).
struct IdleMemory: Sendable {
    let pages: IdlePages?
    let logger: Logger

    func returnStartupPages() {
        guard let pages else { return }
        let returned = pages.returnToKernel()
        logger.debug(
            "Returned mapped code pages no longer in use",
            metadata: ["eventType": "idle-pages-returned", "mappings": "\(returned.mappings)", "residentKB": "\(returned.residentKB)"])
    }
}

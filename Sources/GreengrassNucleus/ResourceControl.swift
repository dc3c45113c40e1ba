import GreengrassSupervisor
import Logging

/// The host's cgroups for component limits and pause, detected once at start-up.
enum ResourceControl {
    /// The host's cgroups for component limits and pause, or `nil` (components unconfined) with the reason logged
    /// once in `greengrass.log`. A nucleus without permission to write them is found at the first component start
    /// (the supervisor then logs why, once, and runs components unconfined).
    static func detect(root: String, logger: Logger) -> CgroupController? {
        switch CgroupController.detectHost(group: CgroupLayout.groupName(forRoot: root)) {
        case .success(let layout):
            logger.info(
                "Component resource control through cgroups",
                metadata: ["eventType": "resource-control", "groups": "\(layout.groupDirectories)"])
            return CgroupController(layout: layout)
        case .failure(let reason):
            logger.warning(
                "No usable cgroups (\(reason)): components run unconfined; systemResourceLimits, PauseComponent and ResumeComponent have no effect",
                metadata: ["eventType": "resource-control-unavailable"])
            return nil
        }
    }
}

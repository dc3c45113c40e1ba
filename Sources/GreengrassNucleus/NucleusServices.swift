import GreengrassDeployment
import ServiceLifecycle

/// A one-shot start-up step inside the service group (after the services it needs are running), that then
/// stays until shutdown so the group does not treat its return as a failure. When `work` returns false the
/// service returns at once, which ends the group (start-up was interrupted by a termination request).
struct StartupService: Service {
    let work: @Sendable () async -> Bool

    func run() async throws {
        guard await work() else { return }
        try? await gracefulShutdown()
    }
}

/// A restart asked for by a deployment (Bootstrap exit 100/101): shuts the service group down gracefully and
/// remembers why, so `run` returns ``NucleusExit/restartRequested``.
actor RestartRequest {
    private var group: ServiceGroup?
    private(set) var isRequested = false

    func attach(_ group: ServiceGroup) {
        self.group = group
        if isRequested { Task { await group.triggerGracefulShutdown() } }
    }

    func trigger() async {
        isRequested = true
        await group?.triggerGracefulShutdown()
    }
}

/// Runs the deployment queue; on graceful shutdown it stops taking new work.
struct DeploymentService: Service {
    let queue: DeploymentQueue
    let afterEachDeployment: @Sendable () -> Void

    func run() async throws {
        await withGracefulShutdownHandler {
            await queue.run(afterEach: afterEachDeployment)
        } onGracefulShutdown: {
            queue.finish()
        }
    }
}

import Logging
import ServiceLifecycle
@testable import MQTTClient

/// Runs `service` in a ServiceGroup, runs `body`, then triggers graceful shutdown and waits for the group.
func serviceGroupRun(_ service: MQTTClient, _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: testLogger("group"))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

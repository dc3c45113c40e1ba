import Foundation
@testable import GreengrassDeployment
import GreengrassIPCModel
import Logging
import Synchronization
import Testing

@Suite("Deployment component-update policy step")
struct ComponentUpdateNotifierTests {
    final class Calls: Sendable {
        let notified = Mutex<[String]>([])
        let finished = Mutex<[String]>([])
    }

    static func notifier(_ calls: Calls) -> ComponentUpdateNotifier {
        ComponentUpdateNotifier(
            notify: { id, isGgcRestarting, timeout in
                calls.notified.withLock { $0.append("\(id) \(isGgcRestarting) \(timeout)") }
                return "ok"
            },
            finished: { id in calls.finished.withLock { $0.append(id) } })
    }

    @Test func localDeploymentsSkipNotificationAsGreengrass() async {
        let calls = Calls()
        let notified = await Self.notifier(calls).beforeUpdate(
            deploymentID: "d-1", request: CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["A": "1.0.0"]),
            logger: Logger(label: "test"))
        #expect(!notified)
        #expect(calls.notified.withLock { $0 }.isEmpty)
        let skip = CreateLocalDeploymentRequest(componentUpdatePolicy: ComponentUpdatePolicy(action: .skipNotifyComponents, timeoutInSeconds: 30))
        #expect(await !Self.notifier(calls).beforeUpdate(deploymentID: "d-2", request: skip, logger: Logger(label: "test")))
    }

    @Test func notifyPolicyWaitsWithItsTimeout() async {
        let calls = Calls()
        let notifier = Self.notifier(calls)
        let request = CreateLocalDeploymentRequest(componentUpdatePolicy: ComponentUpdatePolicy(action: .notifyComponents, timeoutInSeconds: 45))
        #expect(await notifier.beforeUpdate(deploymentID: "d-3", request: request, logger: Logger(label: "test")))
        await notifier.afterUpdate("d-3")
        #expect(await notifier.beforeUpdate(deploymentID: "d-4", request: request, isGgcRestarting: true, logger: Logger(label: "test")))
        #expect(calls.notified.withLock { $0 } == ["d-3 false 45.0 seconds", "d-4 true 45.0 seconds"])
        #expect(calls.finished.withLock { $0 } == ["d-3"])
    }

    @Test func policySurvivesTheStoredRequestEncoding() throws {
        let request = CreateLocalDeploymentRequest(componentUpdatePolicy: ComponentUpdatePolicy(action: .notifyComponents, timeoutInSeconds: 7))
        let decoded = try JSONDecoder().decode(CreateLocalDeploymentRequest.self, from: try JSONEncoder().encode(request))
        #expect(decoded == request)
        // What the AWS SDKs send has no such member: Greengrass's local default applies.
        let sdk = try JSONDecoder().decode(CreateLocalDeploymentRequest.self, from: Data(#"{"rootComponentVersionsToAdd":{"A":"1.0.0"}}"#.utf8))
        #expect(sdk.componentUpdatePolicy == nil)
    }
}

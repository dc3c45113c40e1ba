import GreengrassIPCModel
import Logging

/// The `componentUpdatePolicy` step of a deployment, between "everything is ready" and "running components
/// change". With `NOTIFY_COMPONENTS`, `notify` tells the components subscribed with `SubscribeToComponentUpdates`
/// and waits (bounded by the policy's timeout) for their deferrals; `finished` sends `PostComponentUpdateEvent`.
/// With `SKIP_NOTIFY_COMPONENTS` — every deployment an AWS SDK or `greengrass-cli` creates without
/// `--notify-components`, as Greengrass treats local deployments — nothing is sent.
public struct ComponentUpdateNotifier: Sendable {
    public let notify: @Sendable (_ deploymentID: String, _ isGgcRestarting: Bool, _ timeout: Duration) async -> String
    public let finished: @Sendable (_ deploymentID: String) async -> Void

    /// - Parameters:
    ///   - notify: sends `PreComponentUpdateEvent` (`isGgcRestarting` when a Bootstrap asked for a nucleus restart,
    ///     which stops every component) and waits; returns a summary for the log.
    ///   - finished: sends `PostComponentUpdateEvent`.
    public init(
        notify: @escaping @Sendable (_ deploymentID: String, _ isGgcRestarting: Bool, _ timeout: Duration) async -> String = { _, _, _ in "" },
        finished: @escaping @Sendable (_ deploymentID: String) async -> Void = { _ in }
    ) {
        self.notify = notify
        self.finished = finished
    }

    /// Runs the notify step the deployment's policy asks for; true when components were notified.
    func beforeUpdate(
        deploymentID: String, request: CreateLocalDeploymentRequest, isGgcRestarting: Bool = false, logger: Logger
    ) async -> Bool {
        let policy = request.componentUpdatePolicy ?? .localDefault
        guard policy.action == .notifyComponents else { return false }
        let summary = await notify(deploymentID, isGgcRestarting, .seconds(max(0, policy.timeoutInSeconds)))
        logger.info(
            "Component update policy NOTIFY_COMPONENTS: \(summary)",
            metadata: ["eventType": "service-update-scheduled", "deploymentId": "\(deploymentID)"])
        return true
    }

    func afterUpdate(_ deploymentID: String) async {
        await finished(deploymentID)
    }
}

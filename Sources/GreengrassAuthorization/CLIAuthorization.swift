/// What a `greengrass-cli` identity may do over IPC, decided here and nowhere else.
///
/// As the AWS Greengrass CLI component grants its own CLI identities (reference §6.5): every operation of its own
/// service (`aws.greengrass.Cli`: deployments, components) and every pub/sub and MQTT proxy operation, on every
/// resource, so `greengrass-cli deployment`, `component`, `pubsub` and `iotcore` work. These are built-in policies
/// of the ``AuthorizationEngine``: no operation grants the CLI anything by looking at its principal's name, and a
/// component needs an `accessControl` policy for every one of them.
public enum CLIAuthorization {
    /// The services a CLI identity may use, each with every operation on every resource.
    public static let services = [IPCAuthorizationService.pubsub, IPCAuthorizationService.mqttProxy, IPCAuthorizationService.cli]

    /// The built-in policies for the CLI identity `principal` (`greengrass-cli#user-<uid>`).
    public static func policies(principal: String) -> [AuthorizationPolicy] {
        services.enumerated().map { index, service in
            AuthorizationPolicy(
                policyID: "aws.greengrass.Cli:\(service):\(index)", principal: principal, service: service,
                operations: [AuthorizationPolicies.any], resources: [try! ResourcePattern("*")])
        }
    }
}

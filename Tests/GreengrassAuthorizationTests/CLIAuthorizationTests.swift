import GreengrassAuthorization
import GreengrassIPCModel
import GreengrassJSON
import Testing

/// The one rule for `greengrass-cli` identities: built-in policies of the engine, no name-based bypass anywhere.
@Suite("CLI authorization: built-in policies for the CLI identity")
struct CLIAuthorizationTests {
    static let cli = CLIAuthenticationInfo.principal(uid: 0)
    static let engine = AuthorizationEngine(builtInPolicies: CLIAuthorization.policies(principal: cli))

    @Test(arguments: GreengrassOperation.allCases)
    func theCLIIdentityMayCallEveryCLIOperationOnAnyResource(operation: GreengrassOperation) {
        for resource in ["*", "com.example.A"] {
            #expect(Self.engine.isAuthorized(principal: Self.cli, service: IPCAuthorizationService.cli, operation: operation.operationName, resource: resource))
        }
    }

    @Test func theCLIIdentityMayPublishAndSubscribeLocallyAndThroughIoTCore() {
        for operation in [IPCOperationName.publishToTopic, IPCOperationName.subscribeToTopic] {
            #expect(Self.engine.isAuthorized(principal: Self.cli, service: IPCAuthorizationService.pubsub, operation: operation, resource: "any/topic"))
        }
        for operation in [IPCOperationName.publishToIoTCore, IPCOperationName.subscribeToIoTCore] {
            #expect(Self.engine.isAuthorized(principal: Self.cli, service: IPCAuthorizationService.mqttProxy, operation: operation, resource: "a/+/#"))
        }
    }

    @Test func theCLIIdentityGetsNothingElse() {
        #expect(!Self.engine.isAuthorized(principal: Self.cli, service: IPCAuthorizationService.lifecycle, operation: IPCOperationName.pauseComponent, resource: "com.example.A"))
        #expect(!Self.engine.isAuthorized(principal: Self.cli, service: IPCAuthorizationService.config, operation: IPCOperationName.updateConfiguration, resource: "*"))
    }

    /// The grant is for the nucleus user's own CLI identity, not for anything whose name starts like one.
    @Test func otherPrincipalsGetNoCLIRights() {
        for principal in ["com.example.A", CLIAuthenticationInfo.principal(uid: 1000), "greengrass-cli#"] {
            #expect(!Self.engine.isAuthorized(principal: principal, service: IPCAuthorizationService.cli, operation: GreengrassOperation.listComponents.operationName, resource: "*"))
        }
    }

    @Test func theGrantSurvivesPolicyReloads() {
        let engine = AuthorizationEngine(builtInPolicies: CLIAuthorization.policies(principal: Self.cli))
        let issues = engine.update(configurations: ["com.example.A": .object(["accessControl": .object([
            IPCAuthorizationService.pubsub: .object(["p": .object(["operations": ["*"], "resources": ["t"]])]),
        ])])])
        #expect(issues.isEmpty)
        #expect(engine.isAuthorized(principal: Self.cli, service: IPCAuthorizationService.cli, operation: GreengrassOperation.createLocalDeployment.operationName, resource: "*"))
        #expect(engine.isAuthorized(principal: "com.example.A", service: IPCAuthorizationService.pubsub, operation: IPCOperationName.publishToTopic, resource: "t"))
    }
}

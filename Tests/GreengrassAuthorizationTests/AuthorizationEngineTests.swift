import GreengrassAuthorization
import GreengrassJSON
import Testing

@Suite struct AuthorizationEngineTests {
    private static let publish = "aws.greengrass#PublishToTopic"

    private static func configurations(allowing topic: String) -> [String: JSONValue] {
        ["com.example.A": .object(["accessControl": .object([
            IPCAuthorizationService.pubsub: .object(["p": .object(["operations": [.string(publish)], "resources": [.string(topic)]])]),
        ])])]
    }

    @Test func updateTakesEffectForTheNextDecision() {
        let engine = AuthorizationEngine(configurations: Self.configurations(allowing: "old/topic"))
        #expect(engine.isAuthorized(principal: "com.example.A", service: IPCAuthorizationService.pubsub, operation: Self.publish, resource: "old/topic"))
        let issues = engine.update(configurations: Self.configurations(allowing: "new/topic"))
        #expect(issues.isEmpty)
        #expect(!engine.isAuthorized(principal: "com.example.A", service: IPCAuthorizationService.pubsub, operation: Self.publish, resource: "old/topic"))
        #expect(engine.isAuthorized(principal: "com.example.A", service: IPCAuthorizationService.pubsub, operation: Self.publish, resource: "new/topic"))
        // Removing the component's accessControl removes its grants.
        engine.update(configurations: ["com.example.A": .object([:])])
        #expect(!engine.isAuthorized(principal: "com.example.A", service: IPCAuthorizationService.pubsub, operation: Self.publish, resource: "new/topic"))
        #expect(engine.policies.policies.isEmpty)
    }

    @Test func updateReturnsIssues() {
        let engine = AuthorizationEngine()
        let issues = engine.update(configurations: Self.configurations(allowing: "bad?"))
        #expect(issues.map(\.effect) == [.resourceSkipped])
        #expect(issues.first?.field == "resources[0]")
    }

    @Test func builtInPoliciesSurviveUpdatesAndThingNameApplies() throws {
        let cli = AuthorizationPolicy(
            policyID: "cli", principal: "greengrass-cli#user-0", service: IPCAuthorizationService.pubsub,
            operations: ["*"], resources: [try ResourcePattern("*")])
        let engine = AuthorizationEngine(thingName: "T1", builtInPolicies: [cli])
        engine.update(configurations: Self.configurations(allowing: "things/{iot:thingName}/x"))
        #expect(engine.isAuthorized(principal: "greengrass-cli#user-0", service: IPCAuthorizationService.pubsub, operation: Self.publish, resource: "a"))
        #expect(engine.isAuthorized(principal: "com.example.A", service: IPCAuthorizationService.pubsub, operation: Self.publish, resource: "things/T1/x"))
        #expect(engine.authorizingPolicy(principal: "com.example.A", service: IPCAuthorizationService.pubsub, operation: Self.publish, resource: "things/T1/x")?.policyID == "p")
        #expect(engine.denialMessage(principal: "X", service: "s", operation: "o", resource: "r") == "Principal X is not authorized to perform s:o on resource r")
    }

    /// Readers racing a writer always see either the whole old or the whole new policy set.
    @Test func concurrentReadersSeeWholePolicySets() async {
        let engine = AuthorizationEngine(configurations: Self.configurations(allowing: "t/0"))
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for round in 1...200 { engine.update(configurations: Self.configurations(allowing: "t/\(round)")) }
                return true
            }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<500 {
                        let snapshot = engine.policies
                        guard snapshot.policies.count == 1, let resource = snapshot.policies[0].resources?.first?.text,
                            snapshot.isAuthorized(principal: "com.example.A", service: IPCAuthorizationService.pubsub, operation: Self.publish, resource: resource)
                        else { return false }
                    }
                    return true
                }
            }
            for await consistent in group { #expect(consistent) }
        }
        #expect(engine.isAuthorized(principal: "com.example.A", service: IPCAuthorizationService.pubsub, operation: Self.publish, resource: "t/200"))
    }
}

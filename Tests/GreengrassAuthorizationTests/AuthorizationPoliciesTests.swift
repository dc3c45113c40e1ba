import GreengrassAuthorization
import GreengrassJSON
import Testing

private let pubsub = IPCAuthorizationService.pubsub
private let mqttProxy = IPCAuthorizationService.mqttProxy
private let publish = "aws.greengrass#PublishToTopic"
private let subscribe = "aws.greengrass#SubscribeToTopic"
private let publishIoT = "aws.greengrass#PublishToIoTCore"
private let subscribeIoT = "aws.greengrass#SubscribeToIoTCore"

/// A component configuration holding `accessControl` written as JSON text (the way recipes are read).
private func configuration(_ accessControl: String) throws -> JSONValue {
    .object(["accessControl": try JSONValue(parsing: accessControl)])
}

/// One authorization question and its expected answer.
struct Decision: CustomTestStringConvertible, Sendable {
    let principal: String
    let service: String
    let operation: String
    let resource: String?
    let allowed: Bool
    init(_ principal: String, _ service: String, _ operation: String, _ resource: String?, _ allowed: Bool) {
        self.principal = principal
        self.service = service
        self.operation = operation
        self.resource = resource
        self.allowed = allowed
    }
    var testDescription: String {
        "\(principal) \(service) \(operation.split(separator: "#").last ?? "") \(resource ?? "nil") → \(allowed)"
    }
}

@Suite struct AuthorizationPoliciesTests {
    static let configurations: [String: JSONValue] = {
        func config(_ text: String) -> JSONValue { (try? configuration(text)) ?? .null }
        return [
            "com.example.Publisher": config(#"""
                {"aws.greengrass.ipc.pubsub": {
                    "pub1": {"policyDescription": "publish sensors", "operations": ["aws.greengrass#PublishToTopic"],
                             "resources": ["sensors/temperature", "sensors/*/raw"]},
                    "sub1": {"operations": ["aws.greengrass#SubscribeToTopic"], "resources": ["commands/#", "allowed/*"]}},
                 "aws.greengrass.ipc.mqttproxy": {
                    "iot1": {"operations": ["aws.greengrass#PublishToIoTCore", "aws.greengrass#SubscribeToIoTCore"],
                             "resources": ["a/+", "b/#", "allowed/#", "dev/{iot:thingName}/+"]}}}
                """#),
            "com.example.Everything": config(#"""
                {"aws.greengrass.ipc.pubsub": {"all": {"operations": ["*"], "resources": ["*"]}}}
                """#),
            "com.example.NoResources": config(#"""
                {"aws.greengrass.ipc.pubsub": {"nores": {"operations": ["aws.greengrass#PublishToTopic"]}}}
                """#),
            "com.example.AsString": .object(["accessControl": .string(#"""
                {"aws.greengrass.ipc.pubsub": {"str": {"operations": ["aws.greengrass#SubscribeToTopic"], "resources": ["x/y"]}}}
                """#)]),
            "com.example.CaseInsensitive": .object(["AccessControl": (try? JSONValue(parsing: #"""
                {"aws.greengrass.ipc.pubsub": {"ci": {"Operations": ["aws.greengrass#PublishToTopic"], "RESOURCES": ["ci/topic"]}}}
                """#)) ?? .null]),
            "com.example.Plain": .object(["message": "hello"]),
        ]
    }()

    static let decisions: [Decision] = [
        // Exact and `*` in pub/sub (STANDARD: MQTT wildcards are literal there).
        Decision("com.example.Publisher", pubsub, publish, "sensors/temperature", true),
        Decision("com.example.Publisher", pubsub, publish, "sensors/humidity", false),
        Decision("com.example.Publisher", pubsub, publish, "sensors/a/b/raw", true),
        Decision("com.example.Publisher", pubsub, subscribe, "sensors/temperature", false),
        Decision("com.example.Publisher", pubsub, subscribe, "commands/#", true),
        Decision("com.example.Publisher", pubsub, subscribe, "commands/start", false),
        Decision("com.example.Publisher", pubsub, subscribe, "allowed/x/y", true),
        Decision("com.example.Publisher", pubsub, subscribe, "allowedX/a", false),
        // MQTT style for the proxy.
        Decision("com.example.Publisher", mqttProxy, publishIoT, "a/b", true),
        Decision("com.example.Publisher", mqttProxy, publishIoT, "a/b/c", false),
        Decision("com.example.Publisher", mqttProxy, subscribeIoT, "a/+", true),
        Decision("com.example.Publisher", mqttProxy, subscribeIoT, "a/#", false),
        Decision("com.example.Publisher", mqttProxy, subscribeIoT, "b", true),
        Decision("com.example.Publisher", mqttProxy, subscribeIoT, "b/+/c", true),
        Decision("com.example.Publisher", mqttProxy, subscribeIoT, "#", false),
        Decision("com.example.Publisher", mqttProxy, publishIoT, "allowedX/a", false),
        Decision("com.example.Publisher", mqttProxy, publishIoT, "allowed", true),
        Decision("com.example.Publisher", mqttProxy, publishIoT, "dev/thing-1/x", true),
        Decision("com.example.Publisher", mqttProxy, publishIoT, "dev/other/x", false),
        // `*` operations and resources; other principals get nothing from someone else's policy.
        Decision("com.example.Everything", pubsub, publish, "any/topic", true),
        Decision("com.example.Everything", pubsub, subscribe, "#", true),
        Decision("com.example.Everything", mqttProxy, publishIoT, "any/topic", false),
        Decision("com.example.Plain", pubsub, publish, "sensors/temperature", false),
        Decision("com.example.Unknown", pubsub, publish, "sensors/temperature", false),
        // Policy without resources: only calls without a resource.
        Decision("com.example.NoResources", pubsub, publish, "x", false),
        Decision("com.example.NoResources", pubsub, publish, nil, true),
        Decision("com.example.Publisher", pubsub, publish, nil, true),
        Decision("com.example.Plain", pubsub, publish, nil, false),
        // String-valued accessControl and case-insensitive keys.
        Decision("com.example.AsString", pubsub, subscribe, "x/y", true),
        Decision("com.example.AsString", pubsub, subscribe, "x/z", false),
        Decision("com.example.CaseInsensitive", pubsub, publish, "ci/topic", true),
        // Bad requests are denied, never crash.
        Decision("com.example.Everything", pubsub, publish, "", false),
        Decision("com.example.Everything", pubsub, "*", "x", false),
        Decision("com.example.Everything", pubsub, "aws.greengrass#PublishToIoTCore", "x", false),
        Decision("com.example.Everything", "aws.greengrass.ipc.unknown", publish, "x", false),
        Decision("", pubsub, publish, "x", false),
    ]

    @Test(arguments: decisions)
    func decision(_ row: Decision) {
        let policies = AuthorizationPolicies(configurations: Self.configurations, thingName: "thing-1")
        #expect(policies.isAuthorized(principal: row.principal, service: row.service, operation: row.operation, resource: row.resource)
            == row.allowed)
    }

    @Test func validConfigurationsHaveNoIssues() {
        let policies = AuthorizationPolicies(configurations: Self.configurations, thingName: "thing-1")
        #expect(policies.issues.isEmpty, "\(policies.issues)")
        #expect(policies.policies.count == 7)
        let description = policies.policies.first { $0.policyID == "pub1" }?.policyDescription
        #expect(description == "publish sensors")
    }

    @Test func lookupOrderPrefersTheMostSpecificPolicy() throws {
        let builtIn = [
            AuthorizationPolicy(policyID: "any-any", principal: "*", service: pubsub, operations: ["*"], resources: [try ResourcePattern("*")]),
            AuthorizationPolicy(policyID: "any-op", principal: "*", service: pubsub, operations: [publish], resources: [try ResourcePattern("*")]),
            AuthorizationPolicy(policyID: "me-any", principal: "me", service: pubsub, operations: ["*"], resources: [try ResourcePattern("t/*")]),
            AuthorizationPolicy(policyID: "me-op", principal: "me", service: pubsub, operations: [publish], resources: [try ResourcePattern("t/1")]),
        ]
        let policies = AuthorizationPolicies(policies: builtIn)
        func hit(_ principal: String, _ operation: String, _ resource: String) -> String? {
            policies.authorizingPolicy(principal: principal, service: pubsub, operation: operation, resource: resource)?.policyID
        }
        #expect(hit("me", publish, "t/1") == "me-op")
        #expect(hit("me", publish, "t/2") == "me-any")
        #expect(hit("me", publish, "u") == "any-op")
        #expect(hit("me", subscribe, "u") == "any-any")
        #expect(hit("other", subscribe, "t/1") == "any-any")
    }

    @Test func denialMessageMatchesGreengrass() {
        #expect(AuthorizationPolicies.denialMessage(principal: "com.example.A", service: pubsub, operation: publish, resource: "t/1")
            == "Principal com.example.A is not authorized to perform aws.greengrass.ipc.pubsub:aws.greengrass#PublishToTopic on resource t/1")
        #expect(AuthorizationPolicies.denialMessage(principal: "c", service: "s", operation: "o", resource: nil)
            == "Principal c is not authorized to perform s:o on resource null")
    }

    /// Each malformed piece of configuration is reported with its location and the right consequence.
    struct IssueCase: CustomTestStringConvertible, Sendable {
        let name: String
        let accessControl: JSONValue
        let expected: AuthorizationPolicyIssue
        var testDescription: String { name }
    }

    static let issueCases: [IssueCase] = {
        func issue(_ service: String?, _ policy: String?, _ field: String?, _ problem: String, _ effect: AuthorizationPolicyIssue.Effect)
            -> AuthorizationPolicyIssue
        {
            AuthorizationPolicyIssue(component: "C", service: service, policyID: policy, field: field, problem: problem, effect: effect)
        }
        func json(_ text: String) -> JSONValue { (try? JSONValue(parsing: text)) ?? .null }
        return [
            IssueCase(
                name: "bare ? resource", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":["*"],"resources":["?","ok"]}}}"#),
                expected: issue(pubsub, "p", "resources[0]", "'?': \(ResourcePatternError.unescapedQuestionMark(offset: 0))", .resourceSkipped)),
            IssueCase(
                name: "empty resource", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":["*"],"resources":["ok",""]}}}"#),
                expected: issue(pubsub, "p", "resources[1]", "'': resource is empty", .resourceSkipped)),
            IssueCase(
                name: "resource not a string", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":["*"],"resources":[3]}}}"#),
                expected: issue(pubsub, "p", "resources[0]", "resource must be a string, found integer", .resourceSkipped)),
            IssueCase(
                name: "resources not a list", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":["*"],"resources":"a/b"}}}"#),
                expected: issue(pubsub, "p", "resources", "resources must be a list of strings, found string", .policySkipped)),
            IssueCase(
                name: "operations not a list",
                accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":"aws.greengrass#PublishToTopic","resources":["*"]}}}"#),
                expected: issue(pubsub, "p", "operations", "operations must be a list of operation names, found string", .policySkipped)),
            IssueCase(
                name: "operations missing", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"resources":["*"]}}}"#),
                expected: issue(pubsub, "p", "operations", "operations is missing", .policySkipped)),
            IssueCase(
                name: "operations empty", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":[],"resources":["*"]}}}"#),
                expected: issue(pubsub, "p", "operations", "operations is empty", .policySkipped)),
            IssueCase(
                name: "operation not a string", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":[true],"resources":["*"]}}}"#),
                expected: issue(pubsub, "p", "operations[0]", "operation must be a non-empty string, found boolean", .policySkipped)),
            IssueCase(
                name: "unknown operation for the service",
                accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":["aws.greengrass#PublishToIoTCore"],"resources":["*"]}}}"#),
                expected: issue(
                    pubsub, "p", "operations",
                    "operation aws.greengrass#PublishToIoTCore is not registered with service aws.greengrass.ipc.pubsub "
                        + "(valid: aws.greengrass#PublishToTopic, aws.greengrass#SubscribeToTopic, *)", .policySkipped)),
            IssueCase(
                name: "policy not an object", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":["*"]}}"#),
                expected: issue(pubsub, "p", nil, "policy must be an object with operations and resources, found array", .policySkipped)),
            IssueCase(
                name: "empty policy id", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"":{"operations":["*"],"resources":["*"]}}}"#),
                expected: issue(pubsub, "", nil, "policy id is empty", .policySkipped)),
            IssueCase(
                name: "service not an object", accessControl: json(#"{"aws.greengrass.ipc.pubsub":"all"}"#),
                expected: issue(pubsub, nil, nil, "must be an object of policy id → policy, found string", .serviceIgnored)),
            IssueCase(
                name: "accessControl not an object", accessControl: .array([]),
                expected: issue(nil, nil, nil, "accessControl must be an object (or a JSON string), found array", .accessControlIgnored)),
            IssueCase(
                name: "accessControl string not an object", accessControl: .string("[1]"),
                expected: issue(nil, nil, nil, "accessControl string is JSON but not an object", .accessControlIgnored)),
            IssueCase(
                name: "unknown field", accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":["*"],"resources":["*"],"effect":"deny"}}}"#),
                expected: issue(pubsub, "p", "effect", "unknown field", .reportedOnly)),
            IssueCase(
                name: "description not a string",
                accessControl: json(#"{"aws.greengrass.ipc.pubsub":{"p":{"operations":["*"],"resources":["*"],"policyDescription":1}}}"#),
                expected: issue(pubsub, "p", "policyDescription", "policyDescription must be a string, found integer", .reportedOnly)),
        ]
    }()

    @Test(arguments: issueCases)
    func malformedPoliciesAreReportedAndSkipped(_ row: IssueCase) {
        let policies = AuthorizationPolicies(configurations: ["C": .object(["accessControl": row.accessControl])])
        #expect(policies.issues == [row.expected])
        #expect(row.expected.description.contains("component C"))
        let expectedPolicies = [.policySkipped, .serviceIgnored, .accessControlIgnored].contains(row.expected.effect) ? 0 : 1
        #expect(policies.policies.count == expectedPolicies)
    }

    @Test func skippedResourceLeavesTheRestOfThePolicyInForce() {
        let policies = AuthorizationPolicies(configurations: [
            "C": .object(["accessControl": .object([pubsub: .object(["p": .object(["operations": ["*"], "resources": ["?", "ok"]])])])]),
        ])
        #expect(policies.isAuthorized(principal: "C", service: pubsub, operation: publish, resource: "ok"))
        #expect(!policies.isAuthorized(principal: "C", service: pubsub, operation: publish, resource: "?"))
    }

    @Test func unparsableAccessControlStringIsReported() {
        let policies = AuthorizationPolicies(configurations: ["C": .object(["accessControl": .string("{not json")])])
        #expect(policies.issues.count == 1)
        #expect(policies.issues.first?.effect == .accessControlIgnored)
        #expect(policies.issues.first?.problem.hasPrefix("accessControl string is not valid JSON: line 1") == true)
    }

    @Test func unknownServiceIsReported() {
        let policies = AuthorizationPolicies(configurations: [
            "C": .object(["accessControl": .object(["com.example.Custom": .object(["p": .object(["operations": ["*"]])])])]),
        ])
        #expect(policies.issues.map(\.effect) == [.serviceIgnored])
        #expect(policies.issues.first?.service == "com.example.Custom")
        #expect(policies.issues.first?.problem.hasPrefix("unknown IPC service") == true)
    }

    @Test func reusedPolicyIDIsReportedButBothPoliciesApply() {
        let policy: JSONValue = .object(["operations": ["*"], "resources": ["*"]])
        let policies = AuthorizationPolicies(configurations: [
            "A": .object(["accessControl": .object([pubsub: .object(["same": policy])])]),
            "B": .object(["accessControl": .object([pubsub: .object(["same": policy])])]),
        ])
        #expect(policies.issues == [AuthorizationPolicyIssue(
            component: "B", service: pubsub, policyID: "same",
            problem: "policy id is also used by component A; policy ids should be unique", effect: .reportedOnly)])
        #expect(policies.isAuthorized(principal: "A", service: pubsub, operation: publish, resource: "x"))
        #expect(policies.isAuthorized(principal: "B", service: pubsub, operation: publish, resource: "x"))
    }

    @Test func invalidBuiltInPoliciesAreSkipped() {
        let policies = AuthorizationPolicies(policies: [
            AuthorizationPolicy(policyID: "a", principal: "P", service: "nope", operations: ["*"], resources: nil),
            AuthorizationPolicy(policyID: "b", principal: "P", service: pubsub, operations: [], resources: nil),
            AuthorizationPolicy(policyID: "c", principal: "", service: pubsub, operations: ["*"], resources: nil),
        ])
        #expect(policies.policies.isEmpty)
        #expect(policies.issues.map(\.policyID) == ["a", "b", "c"])
        #expect(policies.issues.allSatisfy { $0.effect == .policySkipped })
    }

    @Test func issueDescriptionNamesEveryLocation() {
        let issue = AuthorizationPolicyIssue(
            component: "C", service: pubsub, policyID: "p", field: "resources[0]", problem: "bad", effect: .resourceSkipped)
        #expect(issue.description == "component C accessControl, service aws.greengrass.ipc.pubsub, policy p, field resources[0]: bad (resource skipped)")
    }
}

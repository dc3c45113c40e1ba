import Foundation
import GreengrassIPCModel
import GreengrassJSON
import Testing

@testable import GreengrassCLICommands

/// Every IPC and CLI shape through GreengrassJSON's coders: a round trip, and the same wire form as Foundation's
/// coders, which wrote the stored records and IPC bodies of earlier releases (so old roots and peers still read).
@Suite("IPC and CLI shapes through JSONValueEncoder/JSONValueDecoder")
struct IPCShapeCodingTests {
    static let details = ComponentDetails(
        componentName: "com.example.Hello", version: "1.0.0", state: .running,
        configuration: ["message": "hi/there", "count": 3, "ratio": 0.5, "nested": ["list": [1, nil, "x"]]])
    static let deployment = LocalDeployment(
        deploymentId: "d-1", status: .failed, createdOn: "1704164645678",
        deploymentStatusDetails: DeploymentStatusDetails(
            detailedDeploymentStatus: .failedRollbackNotRequested, deploymentErrorStack: ["A", "B"], deploymentErrorTypes: ["C"],
            deploymentFailureCause: "broken \"quoted\"\n"))
    static let request = CreateLocalDeploymentRequest(
        groupName: "g", rootComponentVersionsToAdd: ["A": "1.0.0"], rootComponentsToRemove: ["Old"],
        componentToConfiguration: ["A": ConfigurationUpdate(merge: ["k": ["n": 1]], reset: ["/x", ""])],
        componentToRunWithInfo: ["A": RunWithInfo(posixUser: "u:g", systemResourceLimits: SystemResourceLimits(memory: 1024, cpus: 1.5))],
        recipeDirectoryPath: "/r", artifactsDirectoryPath: "/a", failureHandlingPolicy: .doNothing,
        componentUpdatePolicy: ComponentUpdatePolicy(action: .notifyComponents, timeoutInSeconds: 7))

    static func check<Shape: Codable & Equatable>(_ value: Shape, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = try JSONValueEncoder().encode(value)
        #expect(try JSONValueDecoder().decode(Shape.self, from: ours) == value, sourceLocation: sourceLocation)
        // Foundation reads what we write, and we read what it wrote, to the same value.
        #expect(try JSONDecoder().decode(Shape.self, from: Data(ours)) == value, sourceLocation: sourceLocation)
        let foundation = try JSONEncoder().encode(value)
        #expect(try JSONValueDecoder().decode(Shape.self, from: foundation) == value, sourceLocation: sourceLocation)
        // The same members and values (key order aside: ours is sorted).
        #expect(try JSONValue(parsing: ours) == JSONValue(parsing: foundation), sourceLocation: sourceLocation)
    }

    @Test func componentShapes() throws {
        try Self.check(Self.details)
        try Self.check(ComponentDetails(componentName: "main", version: nil, state: .finished, configuration: nil))
        try Self.check(ListComponentsResponse(components: [Self.details]))
        try Self.check(ComponentNameRequest(componentName: "A"))
        try Self.check(GetComponentDetailsResponse(componentDetails: Self.details))
        try Self.check(RestartComponentResponse(restartStatus: .succeeded, message: nil))
        try Self.check(StopComponentResponse(stopStatus: .failed, message: "no"))
        for state in LifecycleStateName.allCases { try Self.check([state]) }
    }

    @Test func deploymentShapes() throws {
        try Self.check(Self.request)
        try Self.check(CreateLocalDeploymentRequest())
        try Self.check(CreateLocalDeploymentResponse(deploymentId: "d-1"))
        try Self.check(Self.deployment)
        try Self.check(ListLocalDeploymentsResponse(localDeployments: [Self.deployment]))
        try Self.check(GetLocalDeploymentStatusRequest(deploymentId: "d-1"))
        try Self.check(GetLocalDeploymentStatusResponse(deployment: Self.deployment))
        try Self.check(CancelLocalDeploymentRequest(deploymentId: "d-1"))
        try Self.check(CancelLocalDeploymentResponse(message: "Cancel request submitted."))
        for status in DeploymentStatus.allCases { try Self.check([status]) }
        for status in DetailedDeploymentStatus.allCases { try Self.check([status]) }
        for policy in FailureHandlingPolicy.allCases { try Self.check([policy]) }
    }

    @Test func componentUpdateAndMetricShapes() throws {
        try Self.check(ComponentUpdatePolicy.localDefault)
        try Self.check(ComponentUpdatePolicyEvents(preUpdateEvent: PreComponentUpdateEvent(deploymentId: "d", isGgcRestarting: true)))
        try Self.check(ComponentUpdatePolicyEvents(postUpdateEvent: PostComponentUpdateEvent(deploymentId: "d")))
        try Self.check(DeferComponentUpdateRequest(deploymentId: "d", message: "later", recheckAfterMs: 5000))
        try Self.check(PutComponentMetricRequest(metrics: [ComponentMetric(name: "n", unit: "Count", value: 2), ComponentMetric()]))
        try Self.check(IoTCoreConnectionStatusEvent(status: .connected))
        try Self.check(CLIAuthenticationInfo(cliAuthToken: "t", domainSocketPath: "/greengrass/v2/ipc.socket"))
        try Self.check(EmptyShape())
    }

    @Test func ioTCoreShapesCarryBlobsAsBase64() throws {
        var publish = PublishToIoTCoreRequest(topicName: "a/b", qos: .atLeastOnce, payload: Data([0, 0xFF, 0x10]))
        publish.retain = true
        publish.userProperties = [IoTCoreUserProperty(key: "k", value: "v")]
        publish.messageExpiryIntervalSeconds = 60
        publish.correlationData = Data("c".utf8)
        publish.payloadFormat = .utf8
        try Self.check(publish)
        #expect(try JSONValue(parsing: JSONValueEncoder().encode(publish))["payload"] == "AP8Q")
        try Self.check(SubscribeToIoTCoreRequest(topicName: "a/#", qos: .atMostOnce))
        try Self.check(IoTCoreMessageEvent(message: IoTCoreMessageBody(topicName: "t", payload: Data("hello".utf8))))
        // QoS: strings on the wire, integers accepted, anything else refused with the shape's own words.
        let lenient = try JSONValueDecoder().decode(PublishToIoTCoreRequest.self, from: #"{"qos":1,"payload":"aGk="}"#)
        #expect(lenient.qos == .atLeastOnce && lenient.payload == Data("hi".utf8))
        let error = try #require(throws: DecodingError.self) {
            try JSONValueDecoder().decode(PublishToIoTCoreRequest.self, from: #"{"qos":"2"}"#)
        }
        #expect(error.jsonSummary == #"qos: Invalid QoS value: expected "0" or "1""#)
    }

    @Test func cliShapes() throws {
        try Self.check(PubSubPublishRequest(topic: "t/1", binary: Data("hi".utf8)))
        try Self.check(PubSubSubscribeRequest(topic: "t/#", receiveMode: "RECEIVE_ALL_MESSAGES"))
        try Self.check(PubSubSubscriptionMessage(jsonMessage: PubSubJSONMessage(message: ["a": [1, true]]), binaryMessage: nil))
        try Self.check(PubSubSubscriptionMessage(jsonMessage: nil, binaryMessage: PubSubBinaryMessage(message: Data([1, 2]))))
    }

    /// The exact bytes the CLI sends and the nucleus stores: compact, sorted keys, `/` unescaped.
    @Test func wireTextIsCompactAndSorted() throws {
        #expect(try JSONValueEncoder().encodeToString(CancelLocalDeploymentRequest(deploymentId: "d-1")) == #"{"deploymentId":"d-1"}"#)
        #expect(try JSONValueEncoder().encodeToString(CLIAuthenticationInfo(cliAuthToken: "t", domainSocketPath: "/gg/ipc.socket"))
            == #"{"cli_auth_token":"t","domain_socket_path":"/gg/ipc.socket"}"#)
        #expect(try JSONValueEncoder().encodeToString(Self.request.componentToRunWithInfo) == #"{"A":{"posixUser":"u:g","systemResourceLimits":{"cpus":1.5,"memory":1024}}}"#)
    }
}

import EventStream
import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassIPCServices
import GreengrassJSON
import GreengrassTestSupport
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// Deployment-time configuration validation (SubscribeToValidateConfigurationUpdates /
/// SendConfigurationValidityReport), with a test clock for the 20 s timeout.
@Suite("Configuration validation by components")
struct ConfigurationValidationTests {
    struct Store: ComponentConfigurationStore {
        func configuration(of component: String) async -> JSONValue? { [:] }
        func setConfiguration(_ configuration: JSONValue, of component: String) async throws {}
    }

    struct States: ComponentStateReporting {
        func report(component: String, state: String) async -> Bool { true }
    }

    /// Every event a validator stream received, as (shape, JSON).
    final class Received: Sendable {
        let events = Mutex<[(String, JSONValue)]>([])
    }

    let operations = ConfigurationOperations(store: Store(), states: States())
    var router = IPCRouter()

    init() {
        operations.register(on: &router)
    }

    func call(_ operation: String, as principal: String, _ json: String, sink: @escaping @Sendable (RPCServerConnectionStateMachine.StreamOutput) -> Void = { _ in }) async -> IPCReply {
        let stream = IPCStream.detached(operation: operation, eventLoop: EmbeddedEventLoop(), sink: sink)
        return await router.handle(IPCCall(principal: principal, operation: operation, payload: Array(json.utf8), stream: stream))
    }

    /// Subscribes `component` as a validator; each event lands in the returned record, and `answer` (if set) replies.
    func subscribeValidator(_ component: String, answer: (@Sendable (String) async -> Void)? = nil) async -> Received {
        let received = Received()
        let reply = await call("aws.greengrass#SubscribeToValidateConfigurationUpdates", as: component, "{}") { output in
            guard case .event(let shape, let json) = output,
                let value = try? JSONValue(parsing: Array(buffer: json))
            else { return }
            received.events.withLock { $0.append((shape, value)) }
            let deploymentID = value["validateConfigurationUpdateEvent"]?["deploymentId"]?.stringValue ?? ""
            if let answer { Task { await answer(deploymentID) } }
        }
        guard case .streamOpened = reply else {
            Issue.record("subscribe failed: \(reply)")
            return received
        }
        return received
    }

    @Test func acceptedByEveryValidatorLetsTheDeploymentGoOn() async throws {
        let operations = self.operations
        let router = self.router
        let received = await subscribeValidator("com.example.A") { deploymentID in
            _ = await Self.send(router, "com.example.A", deploymentID, "ACCEPTED")
        }
        let verdict = await operations.validateConfiguration(
            deploymentID: "d-1", proposals: ["com.example.A": ["limit": 5], "com.example.NoValidator": ["x": 1]],
            timeout: .seconds(20), clock: TestClock())
        #expect(verdict == nil)
        let events = received.events.withLock { $0 }
        try #require(events.count == 1)
        #expect(events[0].0 == "aws.greengrass#ValidateConfigurationUpdateEvents")
        #expect(events[0].1 == ["validateConfigurationUpdateEvent": ["configuration": ["limit": 5], "deploymentId": "d-1"]])
    }

    @Test func rejectionFailsWithGreengrassMessage() async {
        let router = self.router
        _ = await subscribeValidator("com.example.A") { deploymentID in
            _ = await Self.send(router, "com.example.A", deploymentID, "REJECTED", message: "limit must be below 3")
        }
        let verdict = await operations.validateConfiguration(
            deploymentID: "d-2", proposals: ["com.example.A": ["limit": 5]], timeout: .seconds(20), clock: TestClock())
        #expect(verdict == "Components reported that their to-be-deployed configuration is invalid { name = com.example.A, message = limit must be below 3 }")
    }

    @Test func silenceTimesOutOnTheInjectedClock() async throws {
        _ = await subscribeValidator("com.example.Silent")
        let clock = TestClock()
        let operations = self.operations
        let verdict = Task {
            await operations.validateConfiguration(
                deploymentID: "d-3", proposals: ["com.example.Silent": ["a": 1]], timeout: .seconds(20), clock: clock)
        }
        // Wait (bounded) until the timer is armed, then let 20 s pass in no time.
        for _ in 0..<2000 where clock.sleeperCount == 0 { await Task.yield() }
        try #require(clock.sleeperCount == 1)
        clock.advance(by: .seconds(19))
        clock.advance(by: .seconds(1))
        let message = await verdict.value
        #expect(message?.contains("no report from com.example.Silent within 20") == true, "\(message ?? "nil")")
        // A report after the deadline is refused as Greengrass does.
        let late = await Self.send(router, "com.example.Silent", "d-3", "ACCEPTED")
        guard case .error(let error) = late else { Issue.record("late report accepted: \(late)"); return }
        #expect(error.name == "InvalidArgumentsError")
        #expect(error.message.contains("timed out or was never made"))
    }

    @Test func reportsAreBoundToTheAskedComponentAndDeployment() async {
        let unsolicited = await Self.send(router, "com.example.A", "never", "ACCEPTED")
        guard case .error(let error) = unsolicited else { Issue.record("unsolicited report accepted"); return }
        #expect(error.name == "InvalidArgumentsError")
        let malformed = await call(
            "aws.greengrass#SendConfigurationValidityReport", as: "com.example.A",
            #"{"configurationValidityReport":{"status":"MAYBE","deploymentId":"x"}}"#)
        guard case .error(let badStatus) = malformed else { Issue.record("bad status accepted"); return }
        #expect(badStatus.message.contains("ACCEPTED or REJECTED"))
    }

    @Test func noValidatorsMeansNothingIsAskedAndNothingWaits() async {
        let verdict = await operations.validateConfiguration(
            deploymentID: "d-4", proposals: ["com.example.A": [:]], timeout: .seconds(20), clock: TestClock())
        #expect(verdict == nil)
    }

    static func send(_ router: IPCRouter, _ component: String, _ deploymentID: String, _ status: String, message: String = "") async -> IPCReply {
        let stream = IPCStream.detached(operation: "aws.greengrass#SendConfigurationValidityReport", eventLoop: EmbeddedEventLoop()) { _ in }
        let json = #"{"configurationValidityReport":{"status":"\#(status)","deploymentId":"\#(deploymentID)","message":"\#(message)"}}"#
        return await router.handle(
            IPCCall(principal: component, operation: "aws.greengrass#SendConfigurationValidityReport", payload: Array(json.utf8), stream: stream))
    }
}

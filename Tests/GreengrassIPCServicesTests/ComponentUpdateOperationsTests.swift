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

/// SubscribeToComponentUpdates / DeferComponentUpdate and the deployment's wait, with a test clock.
@Suite("Component update notification")
struct ComponentUpdateOperationsTests {
    final class Received: Sendable {
        let events = Mutex<[JSONValue]>([])
        var all: [JSONValue] { events.withLock { $0 } }
    }

    let operations = ComponentUpdateOperations(isDeployed: { $0 != "com.example.Unknown" })
    var router = IPCRouter()

    init() {
        operations.register(on: &router)
    }

    func call(
        _ operation: String, as principal: String, _ json: String,
        sink: @escaping @Sendable (RPCServerConnectionStateMachine.StreamOutput) -> Void = { _ in }
    ) async -> (IPCReply, IPCStream) {
        let stream = IPCStream.detached(operation: operation, eventLoop: EmbeddedEventLoop(), sink: sink)
        let reply = await router.handle(IPCCall(principal: principal, operation: operation, payload: Array(json.utf8), stream: stream))
        return (reply, stream)
    }

    /// Subscribes `component`; `onPre` runs (in a task) for each PreComponentUpdateEvent with its deployment id.
    func subscribe(_ component: String, onPre: (@Sendable (String) async -> Void)? = nil) async throws -> Received {
        let received = Received()
        let (reply, _) = await call("aws.greengrass#SubscribeToComponentUpdates", as: component, "{}") { output in
            guard case .event(let shape, let json) = output, shape == "aws.greengrass#ComponentUpdatePolicyEvents",
                let value = try? JSONValue(parsing: Array(buffer: json))
            else { return }
            received.events.withLock { $0.append(value) }
            if let id = value["preUpdateEvent"]?["deploymentId"]?.stringValue, let onPre { Task { await onPre(id) } }
        }
        guard case .streamOpened(let shape, _) = reply else { throw Failure("subscribe failed: \(reply)") }
        #expect(shape == "aws.greengrass#SubscribeToComponentUpdatesResponse")
        return received
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func deferUpdate(_ router: IPCRouter, _ component: String, _ deploymentID: String?, recheckAfterMs: Int64) async -> IPCReply {
        let request = DeferComponentUpdateRequest(deploymentId: deploymentID, message: "busy", recheckAfterMs: recheckAfterMs)
        let json = (try? IPCJSON.encode(request)) ?? []
        let operation = "aws.greengrass#DeferComponentUpdate"
        let stream = IPCStream.detached(operation: operation, eventLoop: EmbeddedEventLoop(), sink: { _ in })
        return await router.handle(IPCCall(principal: component, operation: operation, payload: json, stream: stream))
    }

    @Test func unknownComponentCannotSubscribe() async {
        let (reply, _) = await call("aws.greengrass#SubscribeToComponentUpdates", as: "com.example.Unknown", "{}")
        #expect(reply == .error(.resourceNotFound(
            "Component with given name not found currently in Greengrass", resourceType: "Component", resourceName: "com.example.Unknown")))
    }

    @Test func deferWithoutSubscriptionOrPendingUpdateIsRefusedAsJava() async throws {
        let notSubscribed = await Self.deferUpdate(router, "com.example.A", "d-1", recheckAfterMs: 1000)
        #expect(notSubscribed == .error(.invalidArguments("Component is not subscribed to component update events")))
        _ = try await subscribe("com.example.A")
        let noID = await Self.deferUpdate(router, "com.example.A", nil, recheckAfterMs: 1000)
        #expect(noID == .error(.invalidArguments("Cannot defer the update, the deployment ID provided was null")))
        let nothingPending = await Self.deferUpdate(router, "com.example.A", "d-1", recheckAfterMs: 1000)
        #expect(nothingPending == .error(.serviceError("Time limit to respond to PreComponentUpdateEvent exceeded")))
    }

    @Test func componentsThatLetItProceedEndTheWaitAtOnce() async throws {
        let router = self.router
        let a = try await subscribe("com.example.A") { id in _ = await Self.deferUpdate(router, "com.example.A", id, recheckAfterMs: 0) }
        let result = await operations.notifyAndWait(deploymentID: "d-1", isGgcRestarting: false, timeout: .seconds(60), clock: TestClock())
        #expect(result.outcome == .agreed)
        #expect(result.notified == ["com.example.A"])
        await operations.updateFinished(deploymentID: "d-1")
        #expect(a.all == [
            ["preUpdateEvent": ["deploymentId": "d-1", "isGgcRestarting": false]],
            ["postUpdateEvent": ["deploymentId": "d-1"]],
        ])
    }

    @Test func deferringTwiceWaitsForTheRechecksThenProceeds() async throws {
        let router = self.router
        let answers = Mutex(0)
        let a = try await subscribe("com.example.A") { id in
            let count = answers.withLock { count in
                count += 1
                return count
            }
            _ = await Self.deferUpdate(router, "com.example.A", id, recheckAfterMs: count <= 2 ? 5000 : 0)
        }
        let clock = TestClock()
        let wait = Task { await operations.notifyAndWait(deploymentID: "d-2", isGgcRestarting: false, timeout: .seconds(60), clock: clock) }
        for round in 1...2 {
            // Wait until the nucleus sleeps on the recheck (not on the 60 s answer deadline), then let the 5 s pass.
            let recheck = Duration.seconds(5 * round)
            for _ in 0..<20000 where clock.sleeperDeadlines != [recheck] { await Task.yield() }
            try #require(clock.sleeperDeadlines == [recheck])
            clock.advance(by: .seconds(5))
        }
        let result = await wait.value
        #expect(result.outcome == .agreed)
        #expect(result.deferrals == 2)
        #expect(a.all.count == 3)
        #expect(clock.now.offset == .seconds(10))
    }

    @Test func silentSubscriberIsWaitedForUntilTheTimeoutOnly() async throws {
        _ = try await subscribe("com.example.Silent")
        let clock = TestClock()
        let wait = Task { await operations.notifyAndWait(deploymentID: "d-3", isGgcRestarting: false, timeout: .seconds(30), clock: clock) }
        for _ in 0..<5000 where clock.sleeperCount == 0 { await Task.yield() }
        try #require(clock.sleeperCount == 1)
        clock.advance(by: .seconds(29))
        await Task.yield()
        clock.advance(by: .seconds(1))
        let result = await wait.value
        #expect(result.outcome == .timedOut)
        // Late answers are refused as in Java.
        let late = await Self.deferUpdate(router, "com.example.Silent", "d-3", recheckAfterMs: 0)
        #expect(late == .error(.serviceError("Time limit to respond to PreComponentUpdateEvent exceeded")))
    }

    @Test func noSubscriberMeansNoWait() async {
        let result = await operations.notifyAndWait(deploymentID: "d-4", isGgcRestarting: true, timeout: .seconds(60), clock: TestClock())
        #expect(result.outcome == .agreed && result.notified.isEmpty && result.deferrals == 0)
    }
}

import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassIPCServices
import NIOEmbedded
import Synchronization
import Testing

/// Records the calls and answers as a scripted component table would.
final class FakeComponents: ComponentPauseService {
    let calls = Mutex<[String]>([])
    let states: [String: String]

    init(states: [String: String]) { self.states = states }

    func pause(_ component: String) async throws(PauseResumeFailure) {
        calls.withLock { $0.append("pause \(component)") }
        switch states[component] {
        case nil: throw .componentNotFound
        case "RUNNING": return
        case "NOCGROUP": throw .failed("\(component) has no cgroup")
        default: throw .notRunning
        }
    }

    func resume(_ component: String) async throws(PauseResumeFailure) {
        calls.withLock { $0.append("resume \(component)") }
        switch states[component] {
        case nil: throw .componentNotFound
        case "PAUSED": return
        default: throw .notPaused
        }
    }
}

/// Allows exactly (principal, target) pairs, on the lifecycle service only.
struct PairAuthorizer: IPCAuthorizer {
    let allowed: Set<String>
    func isAuthorized(principal: String, service: String, operation: String, resource: String) async -> Bool {
        service == "aws.greengrass.ipc.lifecycle" && allowed.contains("\(principal)>\(operation)>\(resource)")
    }
}

@Suite("PauseComponent / ResumeComponent")
struct PauseResumeOperationsTests {
    func call(_ router: IPCRouter, _ operation: String, _ principal: String, _ json: String) async -> IPCReply {
        let stream = IPCStream.detached(operation: operation, eventLoop: EmbeddedEventLoop()) { _ in }
        return await router.handle(IPCCall(principal: principal, operation: operation, payload: Array(json.utf8), stream: stream))
    }

    func router(_ components: FakeComponents, allowed: Set<String>) -> IPCRouter {
        var router = IPCRouter()
        PauseResumeOperations(components: components, authorizer: PairAuthorizer(allowed: allowed)).register(on: &router)
        return router
    }

    let pause = "aws.greengrass#PauseComponent"
    let resume = "aws.greengrass#ResumeComponent"

    @Test func authorizedCallsReachTheComponentAndAnswerTheResponseShape() async {
        let components = FakeComponents(states: ["B": "RUNNING", "C": "PAUSED"])
        let r = router(components, allowed: ["A>\(pause)>B", "A>\(resume)>C"])
        #expect(await call(r, pause, "A", #"{"componentName":"B"}"#) == .response(shape: "aws.greengrass#PauseComponentResponse", json: Array("{}".utf8)))
        #expect(await call(r, resume, "A", #"{"componentName":"C"}"#) == .response(shape: "aws.greengrass#ResumeComponentResponse", json: Array("{}".utf8)))
        #expect(components.calls.withLock { $0 } == ["pause B", "resume C"])
    }

    @Test func withoutPolicyTheCallIsUnauthorizedAndNothingIsFrozen() async throws {
        let components = FakeComponents(states: ["B": "RUNNING"])
        let r = router(components, allowed: ["A>\(pause)>Other"])
        guard case .error(let error) = await call(r, pause, "A", #"{"componentName":"B"}"#) else { Issue.record("allowed"); return }
        #expect(error.name == "UnauthorizedError")
        #expect(error.message == "Principal A is not authorized to perform aws.greengrass.ipc.lifecycle:aws.greengrass#PauseComponent on resource B")
        #expect(components.calls.withLock { $0 }.isEmpty)
    }

    @Test(arguments: [
        // (operation is pause, body, expected error name, expected message)
        (true, #"{}"#, "InvalidArgumentsError", "Component name is required."),
        (true, #"{"componentName":""}"#, "InvalidArgumentsError", "Component name is required."),
        (true, #"{"componentName":"Gone"}"#, "ResourceNotFoundError", "Component Gone not found"),
        (true, #"{"componentName":"Stopped"}"#, "InvalidArgumentsError", "Component Stopped is not running"),
        (true, #"{"componentName":"NoGroup"}"#, "ServiceError", "Failed to pause component NoGroup due to : NoGroup has no cgroup"),
        (false, #"{"componentName":"Stopped"}"#, "InvalidArgumentsError", "Component Stopped is not paused"),
        (true, #"[1,2"#, "InvalidArgumentsError", nil),
    ] as [(Bool, String, String, String?)])
    func errorsAreThoseGreengrassAnswers(isPause: Bool, body: String, name: String, message: String?) async {
        let components = FakeComponents(states: ["Stopped": "FINISHED", "NoGroup": "NOCGROUP"])
        let operation = isPause ? pause : resume
        let r = router(components, allowed: ["A>\(operation)>Gone", "A>\(operation)>Stopped", "A>\(operation)>NoGroup"])
        guard case .error(let error) = await call(r, operation, "A", body) else { Issue.record("expected an error"); return }
        #expect(error.name == name)
        if let message { #expect(error.message == message) }
    }
}

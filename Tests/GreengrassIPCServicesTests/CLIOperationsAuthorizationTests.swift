import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassIPCServices
import NIOEmbedded
import Synchronization
import Testing

/// Records every question and answers from a fixed set of allowed (principal, operation, resource) triples.
final class RecordingAuthorizer: IPCAuthorizer {
    let allowed: Set<String>
    let questions = Mutex<[String]>([])

    init(allowed: Set<String>) { self.allowed = allowed }

    func isAuthorized(principal: String, service: String, operation: String, resource: String) async -> Bool {
        let question = "\(principal) \(service) \(operation) \(resource)"
        questions.withLock { $0.append(question) }
        return allowed.contains(question)
    }
}

/// One deployed component, `com.example.A`, and no deployments.
struct OneComponent: ComponentManagementService, LocalDeploymentService {
    static let details = ComponentDetails(componentName: "com.example.A", version: "1.0.0", state: .running, configuration: nil)

    func componentDetails() async -> [ComponentDetails] { [Self.details] }
    func componentDetails(named name: String) async -> ComponentDetails? { name == Self.details.componentName ? Self.details : nil }
    func restartComponent(named name: String) async -> (RequestStatus, String?) { (.succeeded, nil) }
    func stopComponent(named name: String) async -> (RequestStatus, String?) { (.succeeded, nil) }
    func submit(_ request: CreateLocalDeploymentRequest) async throws(IPCModeledError) -> String { "id" }
    func localDeployments() async -> [LocalDeployment] { [] }
    func localDeployment(id: String) async -> LocalDeployment? { nil }
    func cancel(id: String) async throws(IPCModeledError) -> LocalDeploymentCancellation { .notFound }
}

/// The CLI operations ask the authorizer for every caller, the CLI's own identity included: what the CLI may do is
/// decided by the engine's built-in CLI policies, in one place.
@Suite("CLI operations: every call is authorized by the authorizer")
struct CLIOperationsAuthorizationTests {
    static let cli = CLIAuthenticationInfo.principal(uid: 0)

    func reply(_ authorizer: RecordingAuthorizer, _ principal: String, _ operation: GreengrassOperation, _ json: String = "{}") async -> IPCReply {
        var router = IPCRouter()
        CLIOperations(deployments: OneComponent(), components: OneComponent(), authorizer: authorizer).register(on: &router)
        let stream = IPCStream.detached(operation: operation.operationName, eventLoop: EmbeddedEventLoop()) { _ in }
        return await router.handle(IPCCall(principal: principal, operation: operation.operationName, payload: Array(json.utf8), stream: stream))
    }

    @Test func theCLIIdentityIsRefusedWhenTheAuthorizerRefusesIt() async {
        let authorizer = RecordingAuthorizer(allowed: [])
        let reply = await reply(authorizer, Self.cli, .listComponents)
        guard case .error(let error) = reply else {
            Issue.record("ListComponents answered \(reply) without the authorizer's consent")
            return
        }
        #expect(error.name == "UnauthorizedError")
        #expect(error.message == "Principal \(Self.cli) is not authorized to perform aws.greengrass.Cli:aws.greengrass#ListComponents on resource *")
        #expect(authorizer.questions.withLock { $0 } == ["\(Self.cli) aws.greengrass.Cli aws.greengrass#ListComponents *"])
    }

    @Test func anAllowedCallIsAnsweredAndTheComponentIsTheResource() async {
        let question = "\(Self.cli) aws.greengrass.Cli aws.greengrass#GetComponentDetails com.example.A"
        let authorizer = RecordingAuthorizer(allowed: [question])
        let reply = await reply(authorizer, Self.cli, .getComponentDetails, #"{"componentName":"com.example.A"}"#)
        guard case .response(let shape, _) = reply else {
            Issue.record("GetComponentDetails was not answered: \(reply)")
            return
        }
        #expect(shape == GreengrassOperation.getComponentDetails.responseShape)
        #expect(authorizer.questions.withLock { $0 } == [question])
    }
}

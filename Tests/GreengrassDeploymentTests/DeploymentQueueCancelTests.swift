import Foundation
import GreengrassDeployment
import GreengrassIPCModel
import GreengrassJSON
import GreengrassRecipe
import GreengrassStore
import GreengrassTestSupport
import Logging
import NIOPosix
import Testing

/// A latch a test opens once; everything waiting on it then goes on.
actor Latch {
    private(set) var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}

/// A supervisor stand-in that records what deployments apply; the first `apply` can be held until the test lets
/// it go, so a later deployment stays QUEUED behind it.
actor RecordingRuntime: ComponentRuntime {
    private(set) var applied: [[String]] = []
    let firstApplyStarted = Latch()
    let releaseFirstApply = Latch()

    func remove(_ names: [String]) async {}

    func apply(_ target: [DeployedComponent], recipes: ResolvedRecipes) async throws {
        applied.append(target.map(\.name).sorted())
        if applied.count == 1 {
            await firstApplyStarted.open()
            await releaseFirstApply.wait()
        }
    }

    func awaitHealthy(_ names: [String], timeout: Duration) async -> [String: String] { [:] }

    func bootstrap(_ target: [DeployedComponent], current: [DeployedComponent], recipes: ResolvedRecipes) async throws -> BootstrapRequest {
        .none
    }
}

/// `CancelLocalDeployment` at the queue: a cancel is decided atomically with respect to the point where a
/// deployment starts changing components, and a cancelled deployment is recorded CANCELED and never applied.
@Suite("Deployment queue: cancel")
struct DeploymentQueueCancelTests {
    let files: DeploymentTestFiles
    var directory: TemporaryDirectory { files.directory }
    var recipes: String { files.recipes }
    let store: NucleusStore
    let runtime = RecordingRuntime()

    init() throws {
        files = try DeploymentTestFiles(prefix: "dqc")
        store = try NucleusStore(path: files.paths.storeDatabase)
        for name in ["Alpha", "Beta"] { try files.writeRecipe(name) }
    }

    func makeQueue(validateConfiguration: @escaping @Sendable (String, [String: JSONValue]) async -> String? = { _, _ in nil }) -> DeploymentQueue {
        DeploymentQueue(
            store: store, packages: PackageStore(paths: NucleusPaths(root: directory.file("root"))),
            fileWork: BlockingFileWork(pool: .singleton), planner: DeploymentPlanner(platform: .linux(machine: "x86_64")), runtime: runtime,
            logger: Logger(label: "test"), validateConfiguration: validateConfiguration)
    }

    func request(_ name: String, configuration: [String: ConfigurationUpdate]? = nil) -> CreateLocalDeploymentRequest {
        CreateLocalDeploymentRequest(
            rootComponentVersionsToAdd: [name: "1.0.0"], componentToConfiguration: configuration, recipeDirectoryPath: recipes)
    }

    /// Waits (bounded) until `latch` is open, so a broken queue fails the test instead of hanging it.
    func opened(_ latch: Latch) async throws -> Bool {
        for _ in 0..<500 {
            if await latch.isOpen { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    func waitUntilFinal(_ queue: DeploymentQueue, _ id: String) async throws -> DeploymentStatus {
        for _ in 0..<500 {
            if let status = await queue.localDeployment(id: id)?.status, status.isFinal { return status }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("deployment \(id) did not finish")
        return .inProgress
    }

    @Test func aQueuedDeploymentIsCanceledNeverAppliedAndStaysCanceled() async throws {
        let queue = makeQueue()
        let running = Task { await queue.run() }
        defer { queue.finish(); running.cancel() }
        let first = try await queue.submit(request("Alpha"))
        let applyStarted = try await opened(runtime.firstApplyStarted)
        let firstState = await queue.localDeployment(id: first)
        try #require(applyStarted, "\(String(describing: firstState))")
        let second = try await queue.submit(request("Beta"))

        #expect(try await queue.cancel(id: second) == .canceled)
        #expect(await queue.localDeployment(id: second)?.status == .canceled)
        // The first one is changing components: cancelling it now would leave a half-applied set.
        #expect(try await queue.cancel(id: first) == .alreadyApplying)

        await runtime.releaseFirstApply.open()
        #expect(try await waitUntilFinal(queue, first) == .succeeded)
        let third = try await queue.submit(request("Alpha"))
        #expect(try await waitUntilFinal(queue, third) == .succeeded)

        // Beta was never applied, and the record survives as CANCELED (not forgotten, not resumed).
        #expect(await runtime.applied == [["Alpha"], ["Alpha"]])
        #expect(try store.deployment(id: second)?.status == .canceled)
        #expect(try store.deployments(withStatus: [.queued, .inProgress]).isEmpty)
        #expect(try await queue.cancel(id: second) == .alreadyFinished)
        #expect(try await queue.cancel(id: first) == .alreadyFinished)
        #expect(try await queue.cancel(id: UUID().uuidString.lowercased()) == .notFound)
    }

    @Test func anInProgressDeploymentCanceledWhilePreparingChangesNothing() async throws {
        let validationReached = Latch()
        let releaseValidation = Latch()
        let queue = makeQueue { _, _ in
            await validationReached.open()
            await releaseValidation.wait()
            return nil
        }
        await runtime.releaseFirstApply.open()
        let running = Task { await queue.run() }
        defer { queue.finish(); running.cancel() }
        let first = try await queue.submit(request("Alpha"))
        #expect(try await waitUntilFinal(queue, first) == .succeeded)

        // Same version, new configuration: the deployment asks the component to validate it, and waits there.
        let update = try await queue.submit(request("Alpha", configuration: ["Alpha": ConfigurationUpdate(merge: ["level": 2])]))
        let validating = try await opened(validationReached)
        let updateState = await queue.localDeployment(id: update)
        try #require(validating, "\(String(describing: updateState))")
        #expect(await queue.localDeployment(id: update)?.status == .inProgress)
        #expect(try await queue.cancel(id: update) == .canceled)
        await releaseValidation.open()

        #expect(try await waitUntilFinal(queue, update) == .canceled)
        #expect(await runtime.applied == [["Alpha"]])
        #expect(try store.deployedComponent(named: "Alpha")?.configuration["level"] == nil)
    }
}

import Foundation
import GreengrassDeployment
import GreengrassIPCModel
import GreengrassJSON
import GreengrassRecipe
import GreengrassStore
import GreengrassTestSupport
import Logging
import NIOPosix
import Synchronization
import Testing

@testable import GreengrassDeployment

/// A supervisor stand-in: records what deployments remove and apply (with the recipes they handed it) and reports
/// the components in `unhealthy` as BROKEN.
actor ScriptedRuntime: ComponentRuntime {
    private(set) var applied: [[String]] = []
    private(set) var removed: [[String]] = []
    private(set) var appliedRecipes: [[String]] = []
    var unhealthy: Set<String> = []

    func failing(_ names: Set<String>) { unhealthy = names }

    func remove(_ names: [String]) async { removed.append(names) }

    func apply(_ target: [DeployedComponent], recipes: ResolvedRecipes) async throws {
        applied.append(target.map(\.name))
        appliedRecipes.append(target.compactMap { try? recipes.recipe($0.name, $0.version)?.recipe.identifier })
    }

    func awaitHealthy(_ names: [String], timeout: Duration) async -> [String: String] {
        Dictionary(uniqueKeysWithValues: names.filter(unhealthy.contains).map { ($0, "is BROKEN") })
    }

    func bootstrap(_ target: [DeployedComponent], current: [DeployedComponent], recipes: ResolvedRecipes) async throws -> BootstrapRequest {
        .none
    }
}

/// Counts recipe parses and notes the thread each ran on.
final class RecipeParseCounter: Sendable {
    private let parses = Mutex<[(file: String, thread: String)]>([])

    var count: Int { parses.withLock { $0.count } }
    var files: [String] { parses.withLock { $0.map(\.file) } }
    var threads: Set<String> { parses.withLock { Set($0.map(\.thread)) } }

    func parse(_ bytes: [UInt8], _ fileName: String) throws -> ComponentRecipe {
        // The calling thread's name (Glibc does not export pthread_getname_np).
        let thread = ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        parses.withLock { $0.append((fileName, thread)) }
        return try ComponentRecipe(bytes: bytes, fileName: fileName)
    }
}

/// Counts recipe resolutions (manifest selection and lifecycle checks for this device), by recipe.
final class RecipeResolutionCounter: Sendable {
    private let resolved = Mutex<[String]>([])

    var identifiers: [String] { resolved.withLock { $0 } }

    func resolve(_ recipe: ComponentRecipe, _ platform: Platform) throws(RecipeError) -> ResolvedRecipe {
        resolved.withLock { $0.append(recipe.identifier) }
        return try recipe.resolve(for: platform)
    }
}

/// The deployment queue against an in-memory store and a scripted runtime: order, failure and rollback, cancel,
/// recovery after a restart, and how often a deployment reads the store and parses recipes.
@Suite("Deployment queue")
struct DeploymentQueueTests {
    let files: DeploymentTestFiles
    var paths: NucleusPaths { files.paths }
    var recipes: String { files.recipes }
    var directory: TemporaryDirectory { files.directory }
    let store = InMemoryDeploymentStore()
    let runtime = ScriptedRuntime()
    let parses = RecipeParseCounter()
    let resolutions = RecipeResolutionCounter()

    init() throws {
        files = try DeploymentTestFiles(prefix: "dq")
        for name in ["Alpha", "Beta", "Lib"] { try files.writeRecipe(name) }
        try files.writeRecipe("App", dependsOn: "Lib")
    }

    func makeQueue(fileWork: NIOThreadPool = .singleton) -> DeploymentQueue {
        DeploymentQueue(
            store: store, packages: PackageStore(paths: paths, parseRecipe: parses.parse),
            fileWork: BlockingFileWork(pool: fileWork), planner: DeploymentPlanner(platform: .linux(machine: "x86_64"), resolveRecipe: resolutions.resolve),
            runtime: runtime, logger: Logger(label: "test"))
    }

    func request(
        adding names: [String] = [], removing removed: [String]? = nil, policy: FailureHandlingPolicy? = nil
    ) -> CreateLocalDeploymentRequest {
        CreateLocalDeploymentRequest(
            rootComponentVersionsToAdd: names.isEmpty ? nil : Dictionary(uniqueKeysWithValues: names.map { ($0, "1.0.0") }),
            rootComponentsToRemove: removed, recipeDirectoryPath: recipes, failureHandlingPolicy: policy)
    }

    /// Runs everything queued so far, then returns (no polling: `finish()` ends the queue after what it holds).
    func drain(_ queue: DeploymentQueue) async {
        queue.finish()
        await queue.run()
    }

    func record(_ id: String) throws -> DeploymentRecord { try #require(try store.deployment(id: id)) }

    static func component(_ name: String, root: Bool = true) -> DeployedComponent {
        DeployedComponent(
            name: name, version: "1.0.0", isRoot: root, groupName: root ? DeploymentQueue.localGroupName : nil,
            recipePath: "\(name)-1.0.0.yaml", configuration: [:], runWith: nil)
    }

    @Test func deploymentsRunOneAtATimeInSubmissionOrder() async throws {
        let queue = makeQueue()
        let first = try await queue.submit(request(adding: ["Alpha"]))
        let second = try await queue.submit(request(adding: ["App"]))
        let third = try await queue.submit(request(removing: ["Alpha"]))
        #expect(try record(first).status == .queued)
        await drain(queue)

        for id in [first, second, third] { #expect(try record(id).status == .succeeded) }
        // App brings its dependency, first; the removal leaves App and Lib.
        #expect(await runtime.applied == [["Alpha"], ["Alpha", "Lib", "App"], ["Lib", "App"]])
        #expect(await runtime.removed == [[], [], ["Alpha"]])
        #expect(store.deployed.map(\.name) == ["App", "Lib"])
        #expect(store.deployed.first { $0.name == "Lib" }?.isRoot == false)
    }

    @Test func aBrokenComponentWithRollbackRestoresTheSetBeforeTheDeployment() async throws {
        let queue = makeQueue()
        _ = try await queue.submit(request(adding: ["Alpha"]))
        await runtime.failing(["Beta"])
        let failing = try await queue.submit(request(adding: ["Beta"], policy: .rollback))
        await drain(queue)

        let details = try #require(try record(failing).details)
        #expect(try record(failing).status == .failed)
        #expect(details.detailedDeploymentStatus == .failedRollbackComplete)
        #expect(details.deploymentErrorStack == ["DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN"])
        #expect(details.deploymentFailureCause == "Beta: is BROKEN")
        #expect(store.deployed.map(\.name) == ["Alpha"])
        // Rolling back removes what the deployment added and applies the snapshot again.
        #expect(await runtime.removed.last == ["Beta"])
        #expect(await runtime.applied == [["Alpha"], ["Alpha", "Beta"], ["Alpha"]])
    }

    @Test func aBrokenComponentWithoutRollbackKeepsTheNewSet() async throws {
        let queue = makeQueue()
        await runtime.failing(["Beta"])
        let failing = try await queue.submit(request(adding: ["Alpha", "Beta"]))
        await drain(queue)

        #expect(try record(failing).details?.detailedDeploymentStatus == .failedRollbackNotRequested)
        #expect(store.deployed.map(\.name) == ["Alpha", "Beta"])
        #expect(await runtime.applied == [["Alpha", "Beta"]])
    }

    @Test func aRecipeThatDoesNotParseFailsTheDeploymentWithNothingChanged() async throws {
        try "RecipeFormatVersion: '2020-01-25'\nComponentName: Gamma\n".write(
            toFile: "\(recipes)/Gamma-1.0.0.yaml", atomically: true, encoding: .utf8)
        let queue = makeQueue()
        let id = try await queue.submit(request(adding: ["Alpha"]))
        await drain(queue)

        let details = try #require(try record(id).details)
        #expect(try record(id).status == .failed)
        #expect(details.detailedDeploymentStatus == .failedNoStateChange)
        #expect(details.deploymentErrorStack == ["DEPLOYMENT_FAILURE", "RECIPE_PARSE_ERROR"])
        #expect(details.deploymentFailureCause?.hasPrefix("Unable to parse \(recipes)/Gamma-1.0.0.yaml as a recipe due to: ") == true)
        #expect(await runtime.applied.isEmpty)
        #expect(store.deployed.isEmpty)
    }

    @Test func anUnknownVersionFailsResolutionWithNothingChanged() async throws {
        let queue = makeQueue()
        let id = try await queue.submit(
            CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["Alpha": "2.0.0"], recipeDirectoryPath: recipes))
        await drain(queue)

        let details = try #require(try record(id).details)
        #expect(details.detailedDeploymentStatus == .failedNoStateChange)
        #expect(details.deploymentErrorStack == ["DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION"])
        #expect(await runtime.applied.isEmpty)
    }

    /// `--recipeDir` may be a symbolic link to the folder (Greengrass follows links); a path that is not a folder is
    /// refused at submission, naming it.
    @Test func aRecipeDirectoryGivenAsASymbolicLinkIsFollowed() async throws {
        let link = directory.file("recipes-link")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: recipes)
        let queue = makeQueue()
        let id = try await queue.submit(
            CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["Alpha": "1.0.0"], recipeDirectoryPath: link))
        let file = "\(recipes)/Alpha-1.0.0.yaml"
        await #expect(throws: DeploymentSubmissionError.invalidRecipeDirectory("Recipe directory \(file) does not exist or is not a directory")) {
            try await queue.submit(CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["Beta": "1.0.0"], recipeDirectoryPath: file))
        }
        await drain(queue)
        #expect(try record(id).status == .succeeded)
        #expect(await runtime.applied == [["Alpha"]])
    }

    @Test func aCanceledQueuedDeploymentIsNeverApplied() async throws {
        let queue = makeQueue()
        let first = try await queue.submit(request(adding: ["Alpha"]))
        let second = try await queue.submit(request(adding: ["Beta"]))
        #expect(try await queue.cancel(id: second) == .canceled)
        #expect(try await queue.cancel(id: "no-such-deployment") == .notFound)
        await drain(queue)

        #expect(try record(first).status == .succeeded)
        #expect(try record(second).status == .canceled)
        #expect(try await queue.cancel(id: first) == .alreadyFinished)
        #expect(await runtime.applied == [["Alpha"]])
    }

    /// A nucleus killed after committing a deployment's set restarts into that set and runs the deployment again:
    /// it resumes (not cancellable: it may already have changed components), keeps the rollback snapshot of its
    /// first start, and a deployment queued behind it runs after it.
    @Test func deploymentsLeftQueuedOrInProgressResumeInOrderAfterARestart() async throws {
        let before = [Self.component("Alpha")]
        let interrupted = DeploymentRecord(
            id: "interrupted", sequence: 1, createdOn: 1, status: .inProgress, groupName: DeploymentQueue.localGroupName,
            request: request(adding: ["Beta"], policy: .rollback), rollbackSnapshot: before)
        let waiting = DeploymentRecord(
            id: "waiting", sequence: 2, createdOn: 2, status: .queued, groupName: DeploymentQueue.localGroupName,
            request: request(adding: ["Lib"]))
        store.restore(deployed: before + [Self.component("Beta")], records: [interrupted, waiting])
        await runtime.failing(["Beta"])

        let queue = makeQueue()
        await queue.resumeUnfinished()
        #expect(try await queue.cancel(id: "interrupted") == .alreadyApplying)
        await drain(queue)

        // The resumed deployment fails again and rolls back to the set before its first start, not to its own
        // committed target.
        #expect(try record("interrupted").details?.detailedDeploymentStatus == .failedRollbackComplete)
        #expect(try record("interrupted").rollbackSnapshot == before)
        #expect(try record("waiting").status == .succeeded)
        #expect(await runtime.applied == [["Alpha", "Beta"], ["Alpha"], ["Alpha", "Lib"]])
        #expect(store.deployed.map(\.name) == ["Alpha", "Lib"])
    }

    /// Load once: a deployment reads its record and the deployed set from the store once, parses every recipe
    /// once (the imported ones are not parsed again when the store is read), hands the runtime the recipes it
    /// planned with, and does its file work on the file-work pool's threads.
    @Test func aDeploymentReadsTheStoreOnceAndParsesEachRecipeOnce() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let stored = directory.file("stored")
        try FileManager.default.createDirectory(atPath: stored, withIntermediateDirectories: true)
        try files.writeRecipe("Lib", in: stored)
        let queue = makeQueue(fileWork: pool)
        _ = try await queue.submit(CreateLocalDeploymentRequest(recipeDirectoryPath: stored))
        await drain(queue)
        #expect(parses.count == 1)

        let readsBefore = (store.recordReads, store.deployedSetReads)
        let parsesBefore = parses.count
        let second = makeQueue(fileWork: pool)
        let id = try await second.submit(request(adding: ["App"]))
        await drain(second)

        #expect(store.recordReads - readsBefore.0 == 1)
        #expect(store.deployedSetReads - readsBefore.1 == 1)
        #expect(try record(id).status == .succeeded)
        // Four recipes imported (Alpha, Beta, App, Lib) plus none stored besides them: four parses, one each.
        #expect(parses.count - parsesBefore == 4)
        #expect(Set(parses.files.dropFirst(parsesBefore)).count == 4)
        #expect(await runtime.appliedRecipes.last == ["Lib-1.0.0", "App-1.0.0"])
        // Every parse ran on the pool the test handed the queue (its threads are named TP-#n), none on the
        // cooperative pool.
        #expect(parses.threads == ["TP-#0"])
        try await pool.shutdownGracefully()
    }

    /// Resolve once: each recipe a deployment touches is resolved for this device once, though the artifact import
    /// checks its digests, the planner checks it, artifact preparation unpacks it and, after a failure, the rollback
    /// applies the set before it again; the runtime is handed the resolved recipes of both sets.
    @Test func aDeploymentResolvesEachRecipeOnce() async throws {
        let artifacts = directory.file("artifacts")
        try FileManager.default.createDirectory(atPath: "\(artifacts)/App/1.0.0", withIntermediateDirectories: true)
        try "echo hi".write(toFile: "\(artifacts)/App/1.0.0/run.sh", atomically: true, encoding: .utf8)
        let queue = makeQueue()
        _ = try await queue.submit(request(adding: ["Alpha"]))
        await drain(queue)
        let before = resolutions.identifiers.count

        await runtime.failing(["App"])
        let second = makeQueue()
        var failing = request(adding: ["App"], policy: .rollback)
        failing.artifactsDirectoryPath = artifacts
        let id = try await second.submit(failing)
        await drain(second)

        #expect(try record(id).details?.detailedDeploymentStatus == .failedRollbackComplete)
        let resolved = Array(resolutions.identifiers.dropFirst(before))
        #expect(resolved.sorted() == ["Alpha-1.0.0", "App-1.0.0", "Lib-1.0.0"])
        #expect(await runtime.applied.suffix(2) == [["Alpha", "Lib", "App"], ["Alpha"]])
        #expect(await runtime.appliedRecipes.suffix(2) == [["Alpha-1.0.0", "Lib-1.0.0", "App-1.0.0"], ["Alpha-1.0.0"]])
    }
}

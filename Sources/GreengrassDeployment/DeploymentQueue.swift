import GreengrassIPCModel
import GreengrassJSON
import GreengrassRecipe
import GreengrassStore
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What deployments need from the component supervisor.
public protocol ComponentRuntime: Sendable {
    /// Stops the named components (dependents first), runs their Uninstall, and forgets them.
    func remove(_ names: [String]) async
    /// Makes the running components match `target` (dependencies first): new components are installed and
    /// started, changed ones reinstalled or restarted as Greengrass does, unchanged ones left alone. `recipes` are
    /// the deployment's recipes, parsed and resolved for this device once (``DeploymentPlan/recipes``).
    /// Throws when a component cannot even be prepared (no manifest for this platform, bad lifecycle).
    func apply(_ target: [DeployedComponent], recipes: ResolvedRecipes) async throws
    /// Waits until every named component is RUNNING or FINISHED; returns a reason for each one that went BROKEN
    /// or did not get there before `timeout`.
    func awaitHealthy(_ names: [String], timeout: Duration) async -> [String: String]
    /// Runs `Bootstrap`, dependencies first, for each component of `target` that needs it compared with
    /// `current` (``BootstrapStep/isNeeded(current:target:currentBootstrap:targetBootstrap:)``), and returns what
    /// the scripts ask of the nucleus. `recipes` are the deployment's resolved recipes, `current`'s among them.
    /// Throws a ``DeploymentFailure`` when one fails.
    func bootstrap(_ target: [DeployedComponent], current: [DeployedComponent], recipes: ResolvedRecipes) async throws -> BootstrapRequest
}

/// Why `CreateLocalDeployment` refused a request before queueing it.
public enum DeploymentSubmissionError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidRecipeDirectory(String)
    case invalidArtifactsDirectory(String)
    case invalidArguments(String)
    case storeFailure(String)

    public var description: String {
        switch self {
        case .invalidRecipeDirectory(let why), .invalidArtifactsDirectory(let why), .invalidArguments(let why),
            .storeFailure(let why):
            why
        }
    }
}

/// The local deployment queue: deployments run one at a time, in submission order, and every one ends
/// SUCCEEDED or FAILED — each step is bounded, so nothing stays IN_PROGRESS forever.
///
/// Crash safety: the target component set is committed to the store before the supervisor acts on it, and the
/// set it replaced is kept as the deployment's rollback snapshot. A nucleus killed mid-deployment restarts into
/// the committed set and runs the unfinished deployment again (its steps are idempotent), so it resumes.
public actor DeploymentQueue {
    public static let localGroupName = "LOCAL_DEPLOYMENT"
    /// How many finished deployments `deployment list` keeps.
    public static let historyLength = 20

    private let store: any DeploymentStore
    private let packages: PackageStore
    private let fileWork: BlockingFileWork
    private let planner: DeploymentPlanner
    private let runtime: any ComponentRuntime
    private let logger: Logger
    private let healthTimeout: Duration
    private let now: @Sendable () -> Int64
    private let onRestartRequested: @Sendable (BootstrapRequest) async -> Void
    private let artifactOwner: @Sendable (DeployedComponent) -> ArtifactOwner?
    private let validateConfiguration: @Sendable (_ deploymentID: String, _ proposals: [String: JSONValue]) async -> String?
    private let componentUpdates: ComponentUpdateNotifier
    private var restarting = false
    /// The deployment this run has begun but that has not yet started changing components, and whether a cancel
    /// arrived meanwhile. Only actor-isolated code touches it, with no suspension between checking it and
    /// leaving preparation, so a cancel is decided atomically with respect to that point.
    private var preparing: (id: String, canceled: Bool)?
    private let pending: AsyncStream<String>
    private let pendingContinuation: AsyncStream<String>.Continuation

    public init(
        store: any DeploymentStore, packages: PackageStore, fileWork: BlockingFileWork, planner: DeploymentPlanner,
        runtime: any ComponentRuntime, logger: Logger, healthTimeout: Duration = .seconds(300),
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
        onRestartRequested: @escaping @Sendable (BootstrapRequest) async -> Void = { _ in },
        artifactOwner: @escaping @Sendable (DeployedComponent) -> ArtifactOwner? = { _ in nil },
        validateConfiguration: @escaping @Sendable (_ deploymentID: String, _ proposals: [String: JSONValue]) async -> String? = { _, _ in nil },
        componentUpdates: ComponentUpdateNotifier = ComponentUpdateNotifier()
    ) {
        self.componentUpdates = componentUpdates
        self.validateConfiguration = validateConfiguration
        self.onRestartRequested = onRestartRequested
        self.artifactOwner = artifactOwner
        self.store = store
        self.packages = packages
        self.fileWork = fileWork
        self.planner = planner
        self.runtime = runtime
        self.logger = logger
        self.healthTimeout = healthTimeout
        self.now = now
        (pending, pendingContinuation) = AsyncStream.makeStream(of: String.self)
    }

    /// Validates and queues a deployment; returns its id.
    public func submit(_ request: CreateLocalDeploymentRequest) throws(DeploymentSubmissionError) -> String {
        if let group = request.groupName, group.contains(":") {
            throw .invalidArguments("groupName must not contain ':', got \"\(group)\"")
        }
        if let path = request.recipeDirectoryPath, !FileSystem.isDirectory(path) {
            throw .invalidRecipeDirectory("Recipe directory \(path) does not exist or is not a directory")
        }
        if let path = request.artifactsDirectoryPath {
            guard FileSystem.isDirectory(path) else {
                throw .invalidArtifactsDirectory("Artifacts directory \(path) does not exist or is not a directory")
            }
            let store = packages.paths.packagesDirectory
            if (store + "/").hasPrefix(path.hasSuffix("/") ? path : path + "/") {
                throw .invalidArtifactsDirectory("Artifacts directory \(path) contains the component store \(store)")
            }
        }
        let id = UUID().uuidString.lowercased()
        let group = request.groupName.map { "thinggroup/\($0)" } ?? Self.localGroupName
        do {
            try store.insertDeployment(id: id, groupName: group, request: request, createdOn: now())
        } catch {
            throw .storeFailure("Cannot record the deployment: \(error)")
        }
        logger.info("Local deployment queued", metadata: ["eventType": "deployment-queued", "deploymentId": "\(id)"])
        pendingContinuation.yield(id)
        return id
    }

    public func localDeployments() -> [LocalDeployment] {
        ((try? store.deployments(withStatus: nil)) ?? []).map(\.localDeployment)
    }

    public func localDeployment(id: String) -> LocalDeployment? {
        (try? store.deployment(id: id))?.localDeployment
    }

    /// Re-queues deployments a previous run left QUEUED or IN_PROGRESS, oldest first.
    public func resumeUnfinished() {
        for record in (try? store.deployments(withStatus: [.queued, .inProgress])) ?? [] {
            logger.info(
                "Resuming deployment interrupted by a nucleus restart",
                metadata: ["eventType": "deployment-resume", "deploymentId": "\(record.id)", "status": "\(record.status.rawValue)"])
            pendingContinuation.yield(record.id)
        }
    }

    /// Processes deployments until the task is cancelled or `finish()` is called; `afterEach` runs once a
    /// deployment has reached its final state.
    public func run(afterEach: @Sendable () -> Void = {}) async {
        for await id in pending {
            // After a Bootstrap restart request, later deployments stay QUEUED in the store for the next start.
            if Task.isCancelled || restarting { break }
            await process(id)
            afterEach()
        }
    }

    /// Stops accepting deployments; `run()` returns after the current one.
    public nonisolated func finish() {
        pendingContinuation.finish()
    }

    func process(_ id: String) async {
        let metadata: Logger.Metadata = ["deploymentId": "\(id)"]
        // The record (request, rollback snapshot) and the deployed set are read here, once, for the whole deployment.
        let start: DeploymentStart
        do {
            guard let started = try store.beginDeployment(id: id, now: now()) else { return }
            start = started
        } catch {
            logger.error("Cannot start deployment: \(error)", metadata: metadata)
            return
        }
        let record = start.record
        let current = start.deployed
        // One resumed from an earlier run (already IN_PROGRESS) may have committed its set before a restart.
        if record.status == .queued { preparing = (id, false) }
        logger.info("Deployment started", metadata: metadata.merging(["eventType": "deployment-start"]) { $1 })
        let snapshot = record.rollbackSnapshot ?? current

        // Everything up to the commit changes nothing that is running: a bad recipe leaves the device as it was.
        // Each recipe is parsed once (loading) and resolved for this device once (planning); every later step
        // reads `plan.recipes`.
        let plan: DeploymentPlan
        let bootstrap: BootstrapRequest
        do {
            let stored = try await loadRecipes(record.request)
            plan = try planner.plan(
                current: current, request: record.request, groupName: record.groupName, recipes: stored,
                deployedAtStart: snapshot)
            try await importAndPrepareArtifacts(record.request, plan: plan, current: current, stored: stored)
            try await validateConfigurationChanges(deploymentID: id, target: plan.target, current: current)
            guard endPreparation(id, metadata: metadata) else { return }
            // Bootstrap runs before anything running is touched (Greengrass runs it first, too). A resumed
            // deployment whose set was already committed finds nothing new here, so it never bootstraps twice.
            bootstrap = try await runtime.bootstrap(plan.target, current: current, recipes: plan.recipes)
        } catch {
            // A cancel that arrived while preparing already recorded CANCELED; the failure does not overwrite it.
            if preparing?.id == id, !endPreparation(id, metadata: metadata) { return }
            fail(id, error, detailed: .failedNoStateChange, metadata: metadata)
            return
        }

        do {
            try store.commitDeployedSet(plan.target, deploymentID: id, status: .inProgress, details: nil, now: now())
        } catch {
            fail(id, DeploymentFailure.storeError("\(error)"), detailed: .failedNoStateChange, metadata: metadata)
            return
        }
        if bootstrap != .none {
            // The committed set and the IN_PROGRESS record are what the next start resumes from.
            logger.info(
                "Bootstrap asks for a nucleus restart; the deployment resumes after it",
                metadata: metadata.merging(["eventType": "deployment-bootstrap-restart", "request": "\(bootstrap)"]) { $1 })
            restarting = true
            // The restart stops every component: subscribers hear of it first (and may defer it).
            _ = await componentUpdates.beforeUpdate(deploymentID: id, request: record.request, isGgcRestarting: true, logger: logger)
            await onRestartRequested(bootstrap)
            return
        }
        let notified = await componentUpdates.beforeUpdate(deploymentID: id, request: record.request, logger: logger)
        let failures = await converge(to: plan.target, removing: plan.removed, recipes: plan.recipes)
        if notified { await componentUpdates.afterUpdate(id) }
        if failures.isEmpty {
            finish(id, status: .succeeded, details: DeploymentStatusDetails(detailedDeploymentStatus: .successful), metadata: metadata)
            return
        }
        let failure = DeploymentFailure(
            errorStack: ["DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN"],
            errorTypes: ["USER_COMPONENT_ERROR"],
            cause: failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))
        if (record.request.failureHandlingPolicy ?? .doNothing) == .rollback {
            logger.warning("Deployment failed, rolling back: \(failure.cause)", metadata: metadata)
            let snapshotNames = Set(snapshot.map(\.name))
            let added = plan.target.map(\.name).filter { !snapshotNames.contains($0) }
            try? store.commitDeployedSet(snapshot, deploymentID: id, status: .inProgress, details: nil, now: now())
            _ = await converge(to: snapshot, removing: added, recipes: plan.recipes)
            fail(id, failure, detailed: .failedRollbackComplete, metadata: metadata)
        } else {
            fail(id, failure, detailed: .failedRollbackNotRequested, metadata: metadata)
        }
    }

    /// Cancels a deployment that has not started changing components: QUEUED, or IN_PROGRESS in this run and still
    /// preparing. The record is kept as CANCELED (the Java nucleus forgets it), so it is never resumed after a
    /// restart. An IN_PROGRESS deployment resumed from an earlier run may already have committed its set, so it is
    /// not cancelled.
    public func cancel(id: String) throws(DeploymentSubmissionError) -> LocalDeploymentCancellation {
        let record: DeploymentRecord?
        do {
            record = try store.deployment(id: id)
        } catch {
            throw .storeFailure("Cannot read deployment \(id): \(error)")
        }
        guard let record else { return .notFound }
        if record.status.isFinal { return .alreadyFinished }
        let stillPreparing = preparing?.id == id
        guard record.status == .queued || stillPreparing else { return .alreadyApplying }
        do {
            try store.finishDeployment(id: id, status: .canceled, details: nil, now: now())
            try store.pruneDeployments(keep: Self.historyLength)
        } catch {
            throw .storeFailure("Cannot record the cancellation of deployment \(id): \(error)")
        }
        if stillPreparing { preparing?.canceled = true }
        logger.info("Local deployment canceled", metadata: ["eventType": "deployment-canceled", "deploymentId": "\(id)"])
        return .canceled
    }

    /// Leaves preparation: from here the deployment changes components and can no longer be cancelled. Returns
    /// false when a cancel arrived first (its CANCELED record stands and nothing is applied).
    private func endPreparation(_ id: String, metadata: Logger.Metadata) -> Bool {
        let canceled = preparing?.id == id && preparing?.canceled == true
        preparing = nil
        if canceled {
            logger.info("Deployment canceled before it changed any component", metadata: metadata)
        }
        return !canceled
    }

    /// Copies the request's recipes into the package store and reads every stored recipe, each parsed once (the
    /// imported ones are not parsed again), on the file-work pool.
    private func loadRecipes(_ request: CreateLocalDeploymentRequest) async throws(DeploymentFailure) -> StoredRecipes {
        let (packages, logger) = (packages, logger)
        return try await fileWork.run { () throws(DeploymentFailure) in
            let imported = try request.recipeDirectoryPath.map { path throws(DeploymentFailure) in
                try packages.importRecipes(from: path)
            } ?? [:]
            return packages.storedRecipes(reusing: imported) { file, error in
                logger.warning("Skipping unreadable stored recipe \(file): \(error)")
            }
        }
    }

    /// On the file-work pool: copies the request's artifacts into the package store, checking each one with a
    /// `Digest` while it is copied, then checks, sets the permissions of and unpacks the artifacts of each component
    /// version the target set brings or this deployment copied anew, before anything runs: a missing artifact or a
    /// bad archive fails the deployment with nothing changed. A version already deployed keeps the artifacts it was
    /// prepared with: its running processes are not pulled from under. Recipes come resolved from the plan; only a
    /// version copied here that the plan does not run is resolved here (once).
    private func importAndPrepareArtifacts(
        _ request: CreateLocalDeploymentRequest, plan: DeploymentPlan, current: [DeployedComponent], stored: StoredRecipes
    ) async throws(DeploymentFailure) {
        let (packages, planner, artifactOwner) = (packages, planner, artifactOwner)
        try await fileWork.run { () throws(DeploymentFailure) in
            var imported: Set<String> = []
            if let artifacts = request.artifactsDirectoryPath {
                imported = try packages.importArtifacts(from: artifacts) { name, version throws(ArtifactError) in
                    let resolution = plan.recipes.resolution(name, version)
                        ?? stored.recipe(name, version).map { recipe in Result { () throws(RecipeError) in try planner.resolve(recipe) } }
                    guard case .success(let resolved)? = resolution else { return [:] }
                    return try ExpectedArtifactDigest.byFileName(resolved.artifacts, component: name, version: version)
                }
            }
            let preparation = ArtifactPreparation(paths: packages.paths)
            let deployed = Set(current.map { PackageStore.versionKey($0.name, $0.version) })
            for component in plan.target {
                let key = PackageStore.versionKey(component.name, component.version)
                guard imported.contains(key) || !deployed.contains(key),
                    let resolved = try? plan.recipes.recipe(component.name, component.version)
                else { continue }
                do throws(ArtifactError) {
                    try preparation.prepare(
                        component: component.name, version: component.version, artifacts: resolved.artifacts,
                        owner: artifactOwner(component), verifyDigests: !imported.contains(key))
                } catch {
                    throw DeploymentFailure(
                        errorStack: ["DEPLOYMENT_FAILURE", error.isIntegrityFailure ? "ARTIFACT_CHECKSUM_MISMATCH" : "ARTIFACT_ERROR"],
                        errorTypes: ["USER_COMPONENT_ERROR"], cause: error.description)
                }
            }
        }
    }

    /// Components that keep their version but get a new configuration may veto it (SubscribeToValidateConfigurationUpdates);
    /// a component whose version changes is not asked, as in Greengrass: its new version may read new keys.
    private func validateConfigurationChanges(
        deploymentID: String, target: [DeployedComponent], current: [DeployedComponent]
    ) async throws(DeploymentFailure) {
        let currentByName = Dictionary(uniqueKeysWithValues: current.map { ($0.name, $0) })
        var proposals: [String: JSONValue] = [:]
        for component in target {
            guard let running = currentByName[component.name], running.version == component.version,
                running.configuration != component.configuration
            else { continue }
            proposals[component.name] = component.configuration
        }
        guard !proposals.isEmpty, let failure = await validateConfiguration(deploymentID, proposals) else { return }
        throw DeploymentFailure(
            errorStack: ["DEPLOYMENT_FAILURE", "COMPONENT_CONFIGURATION_NOT_VALID"], errorTypes: ["USER_COMPONENT_ERROR"],
            cause: failure)
    }

    /// Removes what goes, applies what stays, and waits for it to be healthy.
    private func converge(to target: [DeployedComponent], removing removed: [String], recipes: ResolvedRecipes) async -> [String: String] {
        await runtime.remove(removed)
        do {
            try await runtime.apply(target, recipes: recipes)
        } catch {
            return ["deployment": "\(error)"]
        }
        return await runtime.awaitHealthy(target.map(\.name), timeout: healthTimeout)
    }

    private func fail(_ id: String, _ error: any Error, detailed: DetailedDeploymentStatus, metadata: Logger.Metadata) {
        let failure = (error as? DeploymentFailure)
            ?? DeploymentFailure(errorStack: ["DEPLOYMENT_FAILURE"], errorTypes: ["UNKNOWN_ERROR"], cause: "\(error)")
        logger.error("Deployment failed: \(failure.cause)", metadata: metadata.merging(["eventType": "deployment-failed"]) { $1 })
        finish(
            id, status: .failed,
            details: DeploymentStatusDetails(
                detailedDeploymentStatus: detailed, deploymentErrorStack: failure.errorStack,
                deploymentErrorTypes: failure.errorTypes, deploymentFailureCause: failure.cause),
            metadata: metadata)
    }

    private func finish(_ id: String, status: DeploymentStatus, details: DeploymentStatusDetails, metadata: Logger.Metadata) {
        do {
            try store.finishDeployment(id: id, status: status, details: details, now: now())
            try store.pruneDeployments(keep: Self.historyLength)
        } catch {
            logger.error("Cannot record the outcome of the deployment: \(error)", metadata: metadata)
        }
        if status == .succeeded {
            logger.info("Deployment succeeded", metadata: metadata.merging(["eventType": "deployment-succeeded"]) { $1 })
        }
    }
}

extension DeploymentFailure {
    static func storeError(_ cause: String) -> DeploymentFailure {
        DeploymentFailure(errorStack: ["DEPLOYMENT_FAILURE", "IO_ERROR"], errorTypes: ["DEVICE_ERROR"], cause: cause)
    }
}

import GreengrassIPCModel
import GreengrassJSON
@testable import GreengrassStore
import SQLite
import GreengrassTestSupport
import Synchronization
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Issue 7 power-cut simulation: while a writer runs deployments through the store exactly as the deployment
/// queue does (queue, begin with rollback snapshot, commit the new set, record process groups, finish or roll
/// back, prune), the store files are copied at random moments, as a power cut would leave them. Every copy must
/// open with `NucleusStore`, pass `PRAGMA integrity_check`, and hold exactly one of the states the writer
/// committed around the time of the copy — never a partial transaction.
@Suite("NucleusStore power cut", .serialized)
struct PowerCutTests {
    /// Everything the store holds that a restart depends on.
    struct StoreState: Equatable, CustomStringConvertible {
        var components: [DeployedComponent]
        var deployments: [DeploymentRecord]
        var processGroups: [String]

        init(_ store: NucleusStore) throws {
            components = try store.deployedComponents()
            deployments = try store.deployments()
            processGroups = try store.processGroups().map { "\($0.pgid):\($0.component)" }.sorted()
        }

        var description: String {
            let set = components.map { "\($0.name)@\($0.version)" }.joined(separator: ",")
            let history = deployments.map { "\($0.id)=\($0.status.rawValue)" }.joined(separator: ",")
            return "components [\(set)], deployments [\(history)], process groups \(processGroups)"
        }
    }

    /// The states the writer committed, in order (index = number of write transactions so far).
    final class CommitHistory: Sendable {
        private let states = Mutex<[StoreState]>([])
        private let stopped = Mutex(false)
        func append(_ state: StoreState) { states.withLock { $0.append(state) } }
        /// Set once the copies are taken: the writer stops.
        var isStopped: Bool {
            get { stopped.withLock { $0 } }
            set { stopped.withLock { $0 = newValue } }
        }
        var count: Int { states.withLock { $0.count } }
        var all: [StoreState] { states.withLock { $0 } }
    }

    /// The component set deployment `index` installs: 1–5 components, each configuration naming the deployment
    /// (so a copy mixing two sets shows) and carrying up to ~6 KB, so commits span several pages and the WAL
    /// grows past the auto-checkpoint size during the test (checkpoints and WAL restarts happen while copying).
    static func target(of index: Int) -> [DeployedComponent] {
        (0..<(1 + index % 5)).map { number in
            DeployedComponent(
                name: "com.example.C\(number)", version: "1.0.\(index)", isRoot: number % 2 == 0, groupName: "LOCAL_DEPLOYMENT",
                recipePath: "/r/C\(number)-1.0.\(index).recipe.yaml",
                configuration: ["deployment": .string("d\(index)"), "padding": .string(String(repeating: "x", count: (index * 977 + number * 131) % 6000))],
                runWith: nil)
        }
    }

    /// Runs deployment `index` through the store like `DeploymentQueue.process`; every fourth one fails and rolls
    /// back. Records the committed state after each write transaction.
    static func runDeployment(_ index: Int, store: NucleusStore, history: CommitHistory) throws {
        func committed() throws { history.append(try StoreState(store)) }
        let id = "d\(index)"
        let target = target(of: index)
        let request = CreateLocalDeploymentRequest(
            rootComponentVersionsToAdd: Dictionary(uniqueKeysWithValues: target.filter(\.isRoot).map { ($0.name, $0.version) }))
        try store.insertDeployment(id: id, groupName: "LOCAL_DEPLOYMENT", request: request, createdOn: Int64(index))
        try committed()
        try store.beginDeployment(id: id, now: Int64(index))
        try committed()
        let snapshot = try store.deployment(id: id)?.rollbackSnapshot ?? []
        try store.commitDeployedSet(target, deploymentID: id, status: .inProgress, details: nil, now: Int64(index))
        try committed()
        let old = try store.processGroups()
        for (number, component) in target.enumerated() {
            try store.recordProcessGroup(Int32(index * 10 + number + 2), component: component.name, now: Int64(index))
            try committed()
        }
        for group in old {
            try store.forgetProcessGroup(group.pgid)
            try committed()
        }
        if index % 4 == 3 {
            try store.commitDeployedSet(snapshot, deploymentID: id, status: .inProgress, details: nil, now: Int64(index))
            try committed()
            try store.finishDeployment(
                id: id, status: .failed, details: DeploymentStatusDetails(detailedDeploymentStatus: .failedRollbackComplete), now: Int64(index))
        } else {
            try store.finishDeployment(id: id, status: .succeeded, details: DeploymentStatusDetails(detailedDeploymentStatus: .successful), now: Int64(index))
        }
        try committed()
        try store.pruneDeployments(keep: 20)
        try committed()
    }

    /// One copy of the store files and the commits known before and after it was taken.
    struct Copy {
        var path: String
        var committedBefore: Int
        var committedAfter: Int
    }

    /// Commits the writer must have made while copies were taken (a deployment makes several).
    static let minimumCommits = 120

    @Test func storeFilesCopiedAtRandomMomentsOpenAtACommittedState() async throws {
        let seed = ProcessInfo.processInfo.environment["GG_DURABILITY_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        let snapshots = 60
        let directory = try TemporaryDirectory(prefix: "ggpc")
        let path = directory.file("nucleus.db")
        let store = try NucleusStore(path: path)
        let history = CommitHistory()
        history.append(try StoreState(store))

        let writer = Task.detached { () throws -> Int in
            let deadline = ContinuousClock.now + .seconds(60)
            var index = 0
            while !history.isStopped, index < 5000, ContinuousClock.now < deadline {
                try Self.runDeployment(index, store: store, history: history)
                index += 1
            }
            return index
        }
        let copier = Task.detached { () throws -> [Copy] in
            defer { history.isStopped = true }
            var random = SplitMix64(state: seed)
            let pin = try SQLiteConnection(path: path, create: false)
            var copies: [Copy] = []
            // At least `snapshots` copies, and on until the writer has committed enough to make them interesting:
            // on a slow disk (fsync per commit) 60 copies can all fall within the first few deployments.
            let deadline = ContinuousClock.now + .seconds(50)
            var number = 0
            while number < snapshots
                || (history.count < Self.minimumCommits && number < 4 * snapshots && ContinuousClock.now < deadline)
            {
                defer { number += 1 }
                // Later copies wait longer, so a slow writer gets through its commits within the bound on copies.
                let spacing = number < snapshots ? 20_000 : 200_000
                try await Task.sleep(for: .microseconds(Int(random.next() % UInt64(spacing))))
                let target = directory.file("copy\(number)")
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                let before = history.count
                // A power cut freezes all files at one instant; a copy takes time. Holding a read transaction
                // keeps the writer from restarting the WAL between the copy of the database file and that of the
                // WAL (the one event that makes a slow copy differ from an instant cut); commits, WAL appends
                // and checkpoints into the database file go on during the copy.
                // A deferred transaction takes its read snapshot (and WAL read lock) at the first SELECT.
                try pin.execute("BEGIN")
                _ = try pin.queryFirst("SELECT 1 FROM sqlite_master") { _ in () }
                for suffix in ["", "-wal", "-shm"] {
                    guard let data = FileManager.default.contents(atPath: path + suffix) else { continue }
                    try data.write(to: URL(fileURLWithPath: target + "/nucleus.db" + suffix))
                }
                try pin.execute("COMMIT")
                copies.append(Copy(path: target + "/nucleus.db", committedBefore: before, committedAfter: history.count))
            }
            return copies
        }
        // The nucleus checkpoints every 1000 WAL pages; this test commits far fewer, so a third connection runs
        // passive checkpoints (what SQLite's auto-checkpoint does) every few milliseconds: WAL frames move into the
        // database file and the WAL restarts from its start while copies are taken.
        let checkpointer = Task.detached { () throws -> Int in
            var random = SplitMix64(state: seed ^ 0x5EED)
            let connection = try SQLiteConnection(path: path, create: false)
            var moved = 0
            while !history.isStopped {
                // Columns: busy, frames in the WAL, frames moved into the database file.
                let checkpointed = try connection.queryFirst("PRAGMA wal_checkpoint(PASSIVE)") { try $0.int64(2) }
                if let checkpointed, checkpointed > 0 { moved += 1 }
                try await Task.sleep(for: .microseconds(Int(random.next() % 30_000)))
            }
            return moved
        }
        let copies = try await copier.value
        let deployments = try await writer.value
        let checkpoints = try await checkpointer.value
        #expect(checkpoints > 5, "only \(checkpoints) checkpoints moved frames into the database file")
        let states = history.all
        #expect(deployments > 10, "the writer ran only \(deployments) deployments")

        var matched: [Int] = []
        for (number, copy) in copies.enumerated() {
            let context = "seed \(seed), copy \(number) (taken after \(copy.committedBefore) commits, before \(copy.committedAfter + 1))"
            let reopened = try NucleusStore(path: copy.path)
            #expect(try reopened.integrityCheck(), "\(context): integrity_check failed")
            let state = try StoreState(reopened)
            // A commit in flight when the copy started or ended may or may not be in it.
            let allowed = max(0, copy.committedBefore - 1)...min(states.count - 1, copy.committedAfter)
            let index = allowed.first { states[$0] == state }
            #expect(index != nil, "\(context): state is no committed state around the copy: \(state)")
            let tags = Set(state.components.map { $0.configuration["deployment"]?.stringValue ?? "none" })
            #expect(tags.count <= 1, "\(context): the deployed set mixes deployments \(tags)")
            if let index { matched.append(index) }
        }
        print("power cut: \(copies.count) copies over \(deployments) deployments (\(states.count) commits, \(checkpoints) checkpoints), seed \(seed); copies at commits \(matched)")
        #expect(Set(matched).count > copies.count / 2, "copies should land on many different commits: \(matched)")
    }
}

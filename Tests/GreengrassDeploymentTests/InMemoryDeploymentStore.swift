import GreengrassDeployment
import GreengrassIPCModel
import GreengrassStore
import Synchronization

/// The deployment queue's store in memory, with the rules of `NucleusStore` (sequence order, the rollback snapshot
/// kept from a deployment's first start, pruning of finished ones), counting every read so a test can tell how
/// often a deployment goes to the store.
final class InMemoryDeploymentStore: DeploymentStore {
    struct Contents {
        var deployed: [DeployedComponent] = []
        var deployments: [DeploymentRecord] = []
        /// Reads of a deployment record (each one decodes its request and snapshot in the SQLite store).
        var recordReads = 0
        /// Reads of the deployed set.
        var deployedSetReads = 0
    }

    let contents = Mutex(Contents())

    var recordReads: Int { contents.withLock { $0.recordReads } }
    var deployedSetReads: Int { contents.withLock { $0.deployedSetReads } }
    var deployed: [DeployedComponent] { contents.withLock { $0.deployed } }

    func insertDeployment(id: String, groupName: String, request: CreateLocalDeploymentRequest, createdOn: Int64) throws {
        contents.withLock { contents in
            let sequence = (contents.deployments.map(\.sequence).max() ?? 0) + 1
            contents.deployments.append(
                DeploymentRecord(id: id, sequence: sequence, createdOn: createdOn, status: .queued, groupName: groupName, request: request))
        }
    }

    func beginDeployment(id: String, now: Int64) throws -> DeploymentStart? {
        contents.withLock { contents in
            contents.recordReads += 1
            contents.deployedSetReads += 1
            guard let index = contents.deployments.firstIndex(where: { $0.id == id }),
                !contents.deployments[index].status.isFinal
            else { return nil }
            var record = contents.deployments[index]
            if record.status == .queued || record.rollbackSnapshot == nil { record.rollbackSnapshot = contents.deployed }
            contents.deployments[index] = record
            contents.deployments[index].status = .inProgress
            return DeploymentStart(record: record, deployed: contents.deployed)
        }
    }

    func commitDeployedSet(
        _ components: [DeployedComponent], deploymentID: String, status: DeploymentStatus, details: DeploymentStatusDetails?, now: Int64
    ) throws {
        contents.withLock { contents in
            contents.deployed = components.sorted { $0.name < $1.name }
            Self.update(&contents, deploymentID, status: status, details: details)
        }
    }

    func finishDeployment(id: String, status: DeploymentStatus, details: DeploymentStatusDetails?, now: Int64) throws {
        contents.withLock { Self.update(&$0, id, status: status, details: details) }
    }

    func deployment(id: String) throws -> DeploymentRecord? {
        contents.withLock { contents in
            contents.recordReads += 1
            return contents.deployments.first { $0.id == id }
        }
    }

    func deployments(withStatus statuses: [DeploymentStatus]?) throws -> [DeploymentRecord] {
        contents.withLock { contents in
            contents.recordReads += 1
            return contents.deployments.filter { statuses?.contains($0.status) ?? true }
        }
    }

    func pruneDeployments(keep: Int) throws {
        contents.withLock { contents in
            let finished = contents.deployments.filter(\.status.isFinal).sorted { $0.sequence > $1.sequence }
            let dropped = Set(finished.dropFirst(keep).map(\.id))
            contents.deployments.removeAll { dropped.contains($0.id) }
        }
    }

    /// Puts the store in the state a crashed nucleus left: `deployed` committed, `records` as they were.
    func restore(deployed: [DeployedComponent], records: [DeploymentRecord]) {
        contents.withLock { contents in
            contents.deployed = deployed
            contents.deployments = records
        }
    }

    private static func update(_ contents: inout Contents, _ id: String, status: DeploymentStatus, details: DeploymentStatusDetails?) {
        guard let index = contents.deployments.firstIndex(where: { $0.id == id }) else { return }
        contents.deployments[index].status = status
        contents.deployments[index].details = details
    }
}

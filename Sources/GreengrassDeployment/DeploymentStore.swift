import GreengrassIPCModel
import GreengrassStore

/// The part of the state store the deployment queue uses. `NucleusStore` (SQLite) is the real one; tests give the
/// queue one in memory, or one that counts reads.
public protocol DeploymentStore: Sendable {
    /// Records a new deployment as QUEUED.
    func insertDeployment(id: String, groupName: String, request: CreateLocalDeploymentRequest, createdOn: Int64) throws
    /// Marks a deployment IN_PROGRESS, records its rollback snapshot (kept from the first start when resumed), and
    /// returns its record and the deployed set, read in the same transaction; nil for an unknown or finished one.
    func beginDeployment(id: String, now: Int64) throws -> DeploymentStart?
    /// Replaces the deployed set and updates the deployment's status in one transaction.
    func commitDeployedSet(
        _ components: [DeployedComponent], deploymentID: String, status: DeploymentStatus, details: DeploymentStatusDetails?, now: Int64
    ) throws
    func finishDeployment(id: String, status: DeploymentStatus, details: DeploymentStatusDetails?, now: Int64) throws
    func deployment(id: String) throws -> DeploymentRecord?
    /// Deployments with one of `statuses` (all when nil), oldest first.
    func deployments(withStatus statuses: [DeploymentStatus]?) throws -> [DeploymentRecord]
    /// Keeps the newest `keep` finished deployments.
    func pruneDeployments(keep: Int) throws
}

extension NucleusStore: DeploymentStore {}

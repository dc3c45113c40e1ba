import GRDB
import GreengrassIPCModel
import GreengrassJSON

/// One component of the deployed set, as committed by the last successful (or rolled-back) deployment.
public struct DeployedComponent: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    /// Root components were named by a deployment; the others are there as dependencies.
    public var isRoot: Bool
    public var groupName: String?
    /// The recipe file in the package store this version was deployed from.
    public var recipePath: String
    public var configuration: JSONValue
    public var runWith: RunWithInfo?

    public init(
        name: String, version: String, isRoot: Bool, groupName: String?, recipePath: String,
        configuration: JSONValue, runWith: RunWithInfo?
    ) {
        self.name = name
        self.version = version
        self.isRoot = isRoot
        self.groupName = groupName
        self.recipePath = recipePath
        self.configuration = configuration
        self.runWith = runWith
    }

    init(row: Row) throws {
        let name: String = row["name"]
        do {
            self.init(
                name: name, version: row["version"], isRoot: row["isRoot"], groupName: row["groupName"],
                recipePath: row["recipePath"],
                configuration: try StoredJSON.decode(JSONValue.self, from: row["configuration"]),
                runWith: try (row["runWith"] as String?).map { try StoredJSON.decode(RunWithInfo.self, from: $0) }
            )
        } catch {
            throw StoreError.corruptRecord(table: "component", key: name, reason: "\(error)")
        }
    }

    func insert(_ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO component(name, version, isRoot, groupName, recipePath, configuration, runWith)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                name, version, isRoot, groupName, recipePath, try StoredJSON.encode(configuration),
                try runWith.map(StoredJSON.encode),
            ])
    }
}

/// A local deployment and its outcome.
public struct DeploymentRecord: Sendable, Equatable {
    public var id: String
    public var sequence: Int64
    public var createdOn: Int64
    public var status: DeploymentStatus
    public var groupName: String
    public var request: CreateLocalDeploymentRequest
    public var details: DeploymentStatusDetails?
    /// The component set that was deployed before this deployment started (nil until it starts).
    public var rollbackSnapshot: [DeployedComponent]?

    init(row: Row) throws {
        let id: String = row["id"]
        do {
            self.id = id
            sequence = row["sequence"]
            createdOn = row["createdOn"]
            guard let status = DeploymentStatus(rawValue: row["status"]) else {
                throw StoreError.corruptRecord(table: "deployment", key: id, reason: "unknown status")
            }
            self.status = status
            groupName = row["groupName"]
            request = try StoredJSON.decode(CreateLocalDeploymentRequest.self, from: row["request"])
            details = try (row["details"] as String?).map { try StoredJSON.decode(DeploymentStatusDetails.self, from: $0) }
            rollbackSnapshot = try (row["rollbackSnapshot"] as String?).map {
                try StoredJSON.decode([DeployedComponent].self, from: $0)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.corruptRecord(table: "deployment", key: id, reason: "\(error)")
        }
    }

    /// The IPC shape `ListLocalDeployments` and `GetLocalDeploymentStatus` return.
    public var localDeployment: LocalDeployment {
        LocalDeployment(deploymentId: id, status: status, createdOn: String(createdOn), deploymentStatusDetails: details)
    }
}

import GreengrassIPCModel
import GreengrassJSON
import SQLite

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

    /// The `component` columns, in the order `init(row:)` and `arguments()` use.
    static let columns = "name, version, isRoot, groupName, recipePath, configuration, runWith"

    init(row: SQLiteRow) throws {
        let name = try row.text(0)
        do {
            self.init(
                name: name, version: try row.text(1), isRoot: try row.int64(2) != 0, groupName: try row.optionalText(3),
                recipePath: try row.text(4),
                configuration: try StoredJSON.decode(JSONValue.self, from: try row.text(5)),
                runWith: try row.optionalText(6).map { try StoredJSON.decode(RunWithInfo.self, from: $0) }
            )
        } catch {
            throw StoreError.corruptRecord(table: "component", key: name, reason: "\(error)")
        }
    }

    /// The values of `columns` for an INSERT.
    func arguments() throws -> [SQLiteValue] {
        [
            .text(name), .text(version), .integer(isRoot), .text(groupName), .text(recipePath), .text(try StoredJSON.encode(configuration)),
            .text(try runWith.map(StoredJSON.encode)),
        ]
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

    public init(
        id: String, sequence: Int64, createdOn: Int64, status: DeploymentStatus, groupName: String,
        request: CreateLocalDeploymentRequest, details: DeploymentStatusDetails? = nil, rollbackSnapshot: [DeployedComponent]? = nil
    ) {
        self.id = id
        self.sequence = sequence
        self.createdOn = createdOn
        self.status = status
        self.groupName = groupName
        self.request = request
        self.details = details
        self.rollbackSnapshot = rollbackSnapshot
    }

    /// The `deployment` columns, in the order `init(row:)` reads them.
    static let columns = "id, sequence, createdOn, status, groupName, request, details, rollbackSnapshot"

    init(row: SQLiteRow) throws {
        let id = try row.text(0)
        do {
            self.id = id
            sequence = try row.int64(1)
            createdOn = try row.int64(2)
            let statusText = try row.text(3)
            guard let status = DeploymentStatus(rawValue: statusText) else {
                throw StoreError.corruptRecord(table: "deployment", key: id, reason: "unknown status \(statusText)")
            }
            self.status = status
            groupName = try row.text(4)
            request = try StoredJSON.decode(CreateLocalDeploymentRequest.self, from: try row.text(5))
            details = try row.optionalText(6).map { try StoredJSON.decode(DeploymentStatusDetails.self, from: $0) }
            rollbackSnapshot = try row.optionalText(7).map { try StoredJSON.decode([DeployedComponent].self, from: $0) }
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

/// What ``NucleusStore/beginDeployment(id:now:)`` hands a deployment: everything it reads from the store, read once.
public struct DeploymentStart: Sendable, Equatable {
    /// The record as it stood when the deployment began (status QUEUED, or IN_PROGRESS for one resumed after a
    /// restart), with its rollback snapshot as now recorded.
    public var record: DeploymentRecord
    /// The component set deployed when it began.
    public var deployed: [DeployedComponent]

    public init(record: DeploymentRecord, deployed: [DeployedComponent]) {
        self.record = record
        self.deployed = deployed
    }
}

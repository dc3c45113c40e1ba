import GRDB
import GreengrassIPCModel
import GreengrassJSON

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The nucleus's durable state in one SQLite database (`<root>/config/nucleus.db`), in WAL mode with
/// `synchronous=FULL`: the configuration tree, the deployed component set, deployment history and the process
/// groups of running components.
///
/// Why SQLite: every change that must be all-or-nothing — a deployment replacing the component set together with
/// its status — is one transaction, so `kill -9` or a power cut at any moment leaves either the old or the new
/// state, never a mix (the Java nucleus's append-only tlog needed repair code for exactly that, PR #933).
public final class NucleusStore: Sendable {
    private let database: DatabaseQueue

    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(5)
        configuration.label = "nucleus-store"
        configuration.prepareDatabase { db in
            // WAL's default NORMAL may lose the last commits on power loss; a deployment reported SUCCEEDED must
            // still be the one running after the power comes back.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE configuration_document (
                    name TEXT PRIMARY KEY NOT NULL,
                    document TEXT NOT NULL
                );
                CREATE TABLE component (
                    name TEXT PRIMARY KEY NOT NULL,
                    version TEXT NOT NULL,
                    isRoot INTEGER NOT NULL,
                    groupName TEXT,
                    recipePath TEXT NOT NULL,
                    configuration TEXT NOT NULL,
                    runWith TEXT
                );
                CREATE TABLE deployment (
                    id TEXT PRIMARY KEY NOT NULL,
                    sequence INTEGER NOT NULL,
                    createdOn INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    groupName TEXT NOT NULL,
                    request TEXT NOT NULL,
                    details TEXT,
                    rollbackSnapshot TEXT,
                    updatedOn INTEGER NOT NULL
                );
                CREATE INDEX deployment_by_sequence ON deployment(sequence);
                CREATE TABLE installed (
                    name TEXT PRIMARY KEY NOT NULL,
                    version TEXT NOT NULL,
                    installedOn INTEGER NOT NULL
                );
                CREATE TABLE processGroup (
                    pgid INTEGER PRIMARY KEY NOT NULL,
                    component TEXT NOT NULL,
                    startedOn INTEGER NOT NULL
                );
                """)
        }
        return migrator
    }

    // MARK: Configuration documents

    /// A named JSON document: `nucleus` holds the config.yaml-shaped tree (system, Nucleus configuration, setenv).
    public func document(named name: String) throws -> JSONValue? {
        try database.read { db in
            guard let text = try String.fetchOne(db, sql: "SELECT document FROM configuration_document WHERE name = ?", arguments: [name])
            else { return nil }
            return try StoredJSON.decode(JSONValue.self, from: text)
        }
    }

    public func setDocument(_ value: JSONValue, named name: String) throws {
        let text = try StoredJSON.encode(value)
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO configuration_document(name, document) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET document = excluded.document",
                arguments: [name, text])
        }
    }

    // MARK: Deployed components

    public func deployedComponents() throws -> [DeployedComponent] {
        try database.read { db in try Self.fetchComponents(db) }
    }

    public func deployedComponent(named name: String) throws -> DeployedComponent? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM component WHERE name = ?", arguments: [name]).map(DeployedComponent.init(row:))
        }
    }

    /// Replaces the configuration of one deployed component (IPC `UpdateConfiguration`, a deployment's MERGE).
    public func setConfiguration(_ configuration: JSONValue, ofComponent name: String) throws {
        let text = try StoredJSON.encode(configuration)
        try database.write { db in
            try db.execute(sql: "UPDATE component SET configuration = ? WHERE name = ?", arguments: [text, name])
            guard db.changesCount == 1 else { throw StoreError.unknownComponent(name) }
        }
    }

    /// Commits a deployment's outcome atomically: the new component set replaces the old one and the deployment
    /// record changes in the same transaction, so no reader ever sees one without the other.
    public func commitDeployedSet(_ components: [DeployedComponent], deploymentID: String, status: DeploymentStatus, details: DeploymentStatusDetails?, now: Int64) throws {
        let detailsText = try details.map(StoredJSON.encode)
        try database.write { db in
            try db.execute(sql: "DELETE FROM component")
            for component in components { try component.insert(db) }
            try db.execute(
                sql: "UPDATE deployment SET status = ?, details = ?, updatedOn = ? WHERE id = ?",
                arguments: [status.rawValue, detailsText, now, deploymentID])
        }
    }

    private static func fetchComponents(_ db: Database) throws -> [DeployedComponent] {
        try Row.fetchAll(db, sql: "SELECT * FROM component ORDER BY name").map(DeployedComponent.init(row:))
    }

    // MARK: Deployments

    /// Records a new deployment as QUEUED, remembering the component set it replaces so that a failure (or a crash
    /// in the middle of it) can roll back.
    public func insertDeployment(id: String, groupName: String, request: CreateLocalDeploymentRequest, createdOn: Int64) throws {
        let requestText = try StoredJSON.encode(request)
        try database.write { db in
            let sequence = (try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM deployment") ?? 0) + 1
            try db.execute(
                sql: """
                    INSERT INTO deployment(id, sequence, createdOn, status, groupName, request, updatedOn)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, sequence, createdOn, DeploymentStatus.queued.rawValue, groupName, requestText, createdOn])
        }
    }

    /// Marks a deployment IN_PROGRESS and stores the current component set as its rollback snapshot, atomically.
    public func beginDeployment(id: String, now: Int64) throws {
        try database.write { db in
            let snapshot = try StoredJSON.encode(try Self.fetchComponents(db))
            // A deployment resumed after a crash keeps the snapshot taken when it first began: by now the deployed
            // set may already be its own target, which is no state to roll back to.
            try db.execute(
                sql: """
                    UPDATE deployment SET status = ?, updatedOn = ?,
                        rollbackSnapshot = CASE WHEN status = ? OR rollbackSnapshot IS NULL THEN ? ELSE rollbackSnapshot END
                    WHERE id = ?
                    """,
                arguments: [DeploymentStatus.inProgress.rawValue, now, DeploymentStatus.queued.rawValue, snapshot, id])
        }
    }

    public func finishDeployment(id: String, status: DeploymentStatus, details: DeploymentStatusDetails?, now: Int64) throws {
        let detailsText = try details.map(StoredJSON.encode)
        try database.write { db in
            try db.execute(
                sql: "UPDATE deployment SET status = ?, details = ?, updatedOn = ? WHERE id = ?",
                arguments: [status.rawValue, detailsText, now, id])
        }
    }

    public func deployment(id: String) throws -> DeploymentRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM deployment WHERE id = ?", arguments: [id]).map(DeploymentRecord.init(row:))
        }
    }

    /// Deployments, oldest first.
    public func deployments(withStatus statuses: [DeploymentStatus]? = nil) throws -> [DeploymentRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM deployment ORDER BY sequence").map(DeploymentRecord.init(row:))
                .filter { statuses == nil || statuses!.contains($0.status) }
        }
    }

    /// Keeps the newest `keep` finished deployments (the history `deployment list` shows) and deletes older ones.
    public func pruneDeployments(keep: Int) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    DELETE FROM deployment WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELED') AND id NOT IN (
                        SELECT id FROM deployment WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELED')
                        ORDER BY sequence DESC LIMIT ?)
                    """,
                arguments: [keep])
        }
    }

    // MARK: Install results

    public func installedVersion(of name: String) throws -> String? {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT version FROM installed WHERE name = ?", arguments: [name])
        }
    }

    public func recordInstalled(name: String, version: String, now: Int64) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO installed(name, version, installedOn) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version, installedOn = excluded.installedOn",
                arguments: [name, version, now])
        }
    }

    public func forgetInstalled(name: String) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM installed WHERE name = ?", arguments: [name]) }
    }

    // MARK: Process groups (leftovers after a crash)

    public func recordProcessGroup(_ pgid: Int32, component: String, now: Int64) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO processGroup(pgid, component, startedOn) VALUES (?, ?, ?)",
                arguments: [pgid, component, now])
        }
    }

    public func forgetProcessGroup(_ pgid: Int32) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM processGroup WHERE pgid = ?", arguments: [pgid]) }
    }

    public func processGroups() throws -> [(pgid: Int32, component: String)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT pgid, component FROM processGroup").map { ($0["pgid"], $0["component"]) }
        }
    }

    /// Checks the database file's integrity (used after an unclean stop and by the power-cut tests).
    public func integrityCheck() throws -> Bool {
        try database.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok" }
    }
}

public enum StoreError: Error, CustomStringConvertible {
    case unknownComponent(String)
    case corruptRecord(table: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .unknownComponent(let name): "No deployed component named \(name)"
        case .corruptRecord(let table, let key, let reason): "Corrupt \(table) record \(key): \(reason)"
        }
    }
}

/// JSON text as stored in the database: sorted keys, so identical values give identical text.
enum StoredJSON {
    static func encode<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

import GreengrassIPCModel
import GreengrassJSON
import SQLite
import Synchronization

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
///
/// One connection to the system SQLite, used under a lock: calls are serialized as they were on GRDB's
/// `DatabaseQueue`, whose schema and migration table this store keeps, so roots written by earlier releases open.
public final class NucleusStore: Sendable {
    private let connection: Mutex<SQLiteConnection>

    /// Opens (creating if needed) the store at `path` and migrates it to the current schema. A file that is no
    /// SQLite database, or a damaged one, fails here with an `SQLiteError` naming the file.
    public init(path: String) throws {
        let connection = try SQLiteConnection(path: path)
        // Another connection to the file (an operator's sqlite3 shell, a checkpoint) holding a lock makes a
        // statement wait up to this long rather than fail at once with SQLITE_BUSY.
        connection.setBusyTimeout(milliseconds: 5000)
        let journalMode = try connection.queryFirst("PRAGMA journal_mode = WAL") { try $0.text(0) }
        guard journalMode == "wal" else {
            throw SQLiteError(
                path: path, code: 1, message: "could not switch to WAL journal mode (still \(journalMode ?? "unknown"))",
                sql: "PRAGMA journal_mode = WAL")
        }
        // WAL's default NORMAL may lose the last commits on power loss; a deployment reported SUCCEEDED must
        // still be the one running after the power comes back.
        try connection.execute("PRAGMA synchronous = FULL")
        // No foreign keys today; on, as GRDB had it, so that one a later migration adds is enforced.
        try connection.execute("PRAGMA foreign_keys = ON")
        try StoreSchema.migrate(connection)
        self.connection = Mutex(connection)
    }

    /// An integer setting of the store's connection (`synchronous`, `foreign_keys`, `busy_timeout`), as SQLite
    /// reports it: these are per connection, so only the store's own connection can tell.
    func integerPragma(_ name: String) throws -> Int64? {
        try read { connection in try connection.queryFirst("PRAGMA \(name)") { try $0.int64(0) } }
    }

    /// Runs `body` on the connection outside any explicit transaction (one statement is its own transaction).
    private func read<Result: Sendable>(_ body: @Sendable (SQLiteConnection) throws -> Result) throws -> Result {
        try connection.withLock { connection in try body(connection) }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE … COMMIT` transaction: all of its changes or none survive a crash.
    private func write<Result: Sendable>(_ body: @Sendable (SQLiteConnection) throws -> Result) throws -> Result {
        try connection.withLock { connection in try connection.transaction { try body(connection) } }
    }

    // MARK: Configuration documents

    /// A named JSON document: `nucleus` holds the config.yaml-shaped tree (system, Nucleus configuration, setenv).
    public func document(named name: String) throws -> JSONValue? {
        let text = try read { connection in
            try connection.queryFirst("SELECT document FROM configuration_document WHERE name = ?", [.text(name)]) { try $0.text(0) }
        }
        return try text.map { try StoredJSON.decode(JSONValue.self, from: $0) }
    }

    public func setDocument(_ value: JSONValue, named name: String) throws {
        let text = try StoredJSON.encode(value)
        try write { connection in
            try connection.execute(
                "INSERT INTO configuration_document(name, document) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET document = excluded.document",
                [.text(name), .text(text)])
        }
    }

    // MARK: Deployed components

    public func deployedComponents() throws -> [DeployedComponent] {
        try read { connection in try Self.fetchComponents(connection) }
    }

    public func deployedComponent(named name: String) throws -> DeployedComponent? {
        try read { connection in
            try connection.queryFirst(
                "SELECT \(DeployedComponent.columns) FROM component WHERE name = ?", [.text(name)], DeployedComponent.init(row:))
        }
    }

    /// Replaces the configuration of one deployed component (IPC `UpdateConfiguration`, a deployment's MERGE).
    public func setConfiguration(_ configuration: JSONValue, ofComponent name: String) throws {
        let text = try StoredJSON.encode(configuration)
        try write { connection in
            try connection.execute("UPDATE component SET configuration = ? WHERE name = ?", [.text(text), .text(name)])
            guard connection.changes == 1 else { throw StoreError.unknownComponent(name) }
        }
    }

    /// Commits a deployment's outcome atomically: the new component set replaces the old one and the deployment
    /// record changes in the same transaction, so no reader ever sees one without the other.
    public func commitDeployedSet(_ components: [DeployedComponent], deploymentID: String, status: DeploymentStatus, details: DeploymentStatusDetails?, now: Int64) throws {
        let detailsText = try details.map(StoredJSON.encode)
        let rows = try components.map { try $0.arguments() }
        try write { connection in
            try connection.execute("DELETE FROM component")
            for row in rows {
                try connection.execute("INSERT INTO component(\(DeployedComponent.columns)) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            }
            try connection.execute(
                "UPDATE deployment SET status = ?, details = ?, updatedOn = ? WHERE id = ?",
                [.text(status.rawValue), .text(detailsText), .integer(now), .text(deploymentID)])
        }
    }

    private static func fetchComponents(_ connection: SQLiteConnection) throws -> [DeployedComponent] {
        try connection.query("SELECT \(DeployedComponent.columns) FROM component ORDER BY name", [], DeployedComponent.init(row:))
    }

    // MARK: Deployments

    /// Records a new deployment as QUEUED, remembering the component set it replaces so that a failure (or a crash
    /// in the middle of it) can roll back.
    public func insertDeployment(id: String, groupName: String, request: CreateLocalDeploymentRequest, createdOn: Int64) throws {
        let requestText = try StoredJSON.encode(request)
        try write { connection in
            let sequence = try connection.queryFirst("SELECT COALESCE(MAX(sequence), 0) + 1 FROM deployment") { try $0.int64(0) } ?? 1
            try connection.execute(
                """
                INSERT INTO deployment(id, sequence, createdOn, status, groupName, request, updatedOn)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(id), .integer(sequence), .integer(createdOn), .text(DeploymentStatus.queued.rawValue), .text(groupName),
                    .text(requestText), .integer(createdOn),
                ])
        }
    }

    /// Marks a deployment IN_PROGRESS and stores the current component set as its rollback snapshot, atomically,
    /// and returns what the deployment starts from: its record as it stood (status QUEUED, or IN_PROGRESS when
    /// resumed after a restart) with the snapshot now recorded, and the deployed set. One transaction reads the
    /// record and the set once, so a deployment decodes neither again. Returns nil, changing nothing, for an
    /// unknown or finished deployment.
    @discardableResult
    public func beginDeployment(id: String, now: Int64) throws -> DeploymentStart? {
        try write { connection in
            guard var record = try connection.queryFirst(
                "SELECT \(DeploymentRecord.columns) FROM deployment WHERE id = ?", [.text(id)], DeploymentRecord.init(row:)),
                !record.status.isFinal
            else { return nil }
            let deployed = try Self.fetchComponents(connection)
            // A deployment resumed after a crash keeps the snapshot taken when it first began: by now the deployed
            // set may already be its own target, which is no state to roll back to.
            let snapshot = record.status == .queued ? deployed : record.rollbackSnapshot ?? deployed
            record.rollbackSnapshot = snapshot
            try connection.execute(
                "UPDATE deployment SET status = ?, updatedOn = ?, rollbackSnapshot = ? WHERE id = ?",
                [.text(DeploymentStatus.inProgress.rawValue), .integer(now), .text(try StoredJSON.encode(snapshot)), .text(id)])
            return DeploymentStart(record: record, deployed: deployed)
        }
    }

    public func finishDeployment(id: String, status: DeploymentStatus, details: DeploymentStatusDetails?, now: Int64) throws {
        let detailsText = try details.map(StoredJSON.encode)
        try write { connection in
            try connection.execute(
                "UPDATE deployment SET status = ?, details = ?, updatedOn = ? WHERE id = ?",
                [.text(status.rawValue), .text(detailsText), .integer(now), .text(id)])
        }
    }

    public func deployment(id: String) throws -> DeploymentRecord? {
        try read { connection in
            try connection.queryFirst("SELECT \(DeploymentRecord.columns) FROM deployment WHERE id = ?", [.text(id)], DeploymentRecord.init(row:))
        }
    }

    /// Deployments, oldest first.
    public func deployments(withStatus statuses: [DeploymentStatus]? = nil) throws -> [DeploymentRecord] {
        try read { connection in
            try connection.query("SELECT \(DeploymentRecord.columns) FROM deployment ORDER BY sequence", [], DeploymentRecord.init(row:))
        }
        .filter { statuses == nil || statuses!.contains($0.status) }
    }

    /// Keeps the newest `keep` finished deployments (the history `deployment list` shows) and deletes older ones.
    public func pruneDeployments(keep: Int) throws {
        try write { connection in
            try connection.execute(
                """
                DELETE FROM deployment WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELED') AND id NOT IN (
                    SELECT id FROM deployment WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELED')
                    ORDER BY sequence DESC LIMIT ?)
                """,
                [.integer(keep)])
        }
    }

    // MARK: Install results

    public func installedVersion(of name: String) throws -> String? {
        try read { connection in
            try connection.queryFirst("SELECT version FROM installed WHERE name = ?", [.text(name)]) { try $0.text(0) }
        }
    }

    public func recordInstalled(name: String, version: String, now: Int64) throws {
        try write { connection in
            try connection.execute(
                "INSERT INTO installed(name, version, installedOn) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version, installedOn = excluded.installedOn",
                [.text(name), .text(version), .integer(now)])
        }
    }

    public func forgetInstalled(name: String) throws {
        try write { connection in try connection.execute("DELETE FROM installed WHERE name = ?", [.text(name)]) }
    }

    // MARK: Process groups (leftovers after a crash)

    public func recordProcessGroup(_ pgid: Int32, component: String, now: Int64) throws {
        try write { connection in
            try connection.execute(
                "INSERT OR REPLACE INTO processGroup(pgid, component, startedOn) VALUES (?, ?, ?)",
                [.integer(pgid), .text(component), .integer(now)])
        }
    }

    public func forgetProcessGroup(_ pgid: Int32) throws {
        try write { connection in try connection.execute("DELETE FROM processGroup WHERE pgid = ?", [.integer(pgid)]) }
    }

    public func processGroups() throws -> [(pgid: Int32, component: String)] {
        let rows = try read { connection in
            try connection.query("SELECT pgid, component FROM processGroup") { row in (try row.int64(0), try row.text(1)) }
        }
        return try rows.map { pgid, component in
            // A pgid outside Int32 came from no process of ours: report it rather than signal a truncated number.
            guard let pgid = Int32(exactly: pgid) else {
                throw StoreError.corruptRecord(table: "processGroup", key: String(pgid), reason: "process group id out of range")
            }
            return (pgid, component)
        }
    }

    /// Checks the database file's integrity (used after an unclean stop and by the power-cut tests).
    public func integrityCheck() throws -> Bool {
        try read { connection in try connection.queryFirst("PRAGMA integrity_check") { try $0.text(0) } } == "ok"
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
        try JSONValueEncoder().encodeToString(value)
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        try JSONValueDecoder().decode(type, from: text)
    }
}
